"""``glasswing audit --junit`` and ``--format markdown``: CI output with the values ``--fail-if`` reads.

The JUnit file is read with junitparser (what CI test reporters such as publish-unit-test-result use) and
checked against the rules of the Jenkins/Surefire JUnit schema that CI systems accept; the Markdown is
rendered with markdown-it-py as a pull-request comment would be. The gates' values are fairlearn's on the
headline groups, and their intervals are the ones ``--json`` reports for the headline.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_ratio, equalized_odds_difference
from junitparser import Failure, JUnitXml

from glasswing._paths import sample_dir
from glasswing.cli import main
from glasswing.commands import audit as cmd

GERMAN = sample_dir() / "german_test_predictions.csv"

#: The Jenkins/Surefire JUnit schema (junit-10.xsd): the children each element may have and the attributes it
#: must and may carry.
SCHEMA = {
    "testsuites": ({"testsuite"}, set(), {"name", "time", "tests", "failures", "errors"}),
    "testsuite": ({"testsuite", "properties", "testcase", "system-out", "system-err"},
                  {"name", "tests", "failures", "errors"},
                  {"group", "time", "skipped", "timestamp", "hostname", "id", "package", "file", "log", "url",
                   "version"}),
    "properties": ({"property"}, set(), set()),
    "property": (set(), {"name", "value"}, set()),
    "testcase": ({"skipped", "error", "failure", "system-out", "system-err", "rerunFailure", "flakyFailure"},
                 {"name"}, {"time", "classname", "group"}),
    "failure": (set(), set(), {"type", "message"}),
    "system-out": (set(), set(), set()),
}
SUREFIRE_TIME = re.compile(r"^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]{0,3})?$")


def assert_junit_schema(path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    for node in root.iter():
        children, required, optional = SCHEMA[node.tag]
        assert {c.tag for c in node} <= children, node.tag
        assert required <= set(node.attrib) <= required | optional, (node.tag, node.attrib)
        if "time" in node.attrib:
            assert SUREFIRE_TIME.match(node.attrib["time"]), node.attrib["time"]
        if node.tag in ("testsuites", "testsuite"):
            cases = node.findall(".//testcase")
            assert int(node.attrib["tests"]) == len(cases)
            assert int(node.attrib["failures"]) == sum(c.find("failure") is not None for c in cases)
    return root


def audit(tmp_path, *extra, data=GERMAN):
    junit, out = tmp_path / "gates.xml", tmp_path / "audit.json"
    code = main(["audit", "--data", str(data), "--prediction", "gbm_pred", "--target", "risk", "--sensitive",
                 "sex", "--json", str(out), "--junit", str(junit), *map(str, extra)])
    return code, junit, json.loads(out.read_text()) if out.exists() else None


def test_one_case_per_gate_failed_with_the_value_and_interval(tmp_path, capsys):
    frame = pd.read_csv(GERMAN)
    code, junit, result = audit(tmp_path, "--fail-if", "demographic_parity_ratio<0.95", "--fail-if",
                                "equalized_odds_difference>0.1", "--fail-if", "accuracy<0.8")
    err = capsys.readouterr().err
    assert code == 1
    assert_junit_schema(junit)
    (suite,) = JUnitXml.fromfile(str(junit))
    assert (suite.tests, suite.failures, suite.errors) == (3, 2, 0)
    cases = {c.name: c for c in suite}
    dp, eo, acc = ("--fail-if demographic_parity_ratio<0.95", "--fail-if equalized_odds_difference>0.1",
                   "--fail-if accuracy<0.8")
    assert list(cases) == [dp, eo, acc]
    # fairlearn on the same predictions (both groups have more than 30 rows, so the headline is fairlearn's)
    ratio = demographic_parity_ratio(frame["risk"], frame["gbm_pred"], sensitive_features=frame["sex"])
    eod = equalized_odds_difference(frame["risk"], frame["gbm_pred"], sensitive_features=frame["sex"])
    head = {d["name"]: d for d in result["headline"]["disparities"]}["demographic_parity_ratio"]
    (failure,) = cases[dp].result
    assert isinstance(failure, Failure) and failure.type == "FairnessGateViolated"
    assert failure.message == (f"demographic_parity_ratio = {ratio:.4g} (95% Katz interval "
                               f"{head['low']:.3f} to {head['high']:.3f}) violates --fail-if "
                               "\"demographic_parity_ratio<0.95\".")
    assert cases[eo].is_passed and f"equalized_odds_difference = {eod:.4g}" in cases[eo].system_out
    (accuracy,) = cases[acc].result
    assert accuracy.message.startswith(f"accuracy = {(frame['risk'] == frame['gbm_pred']).mean():.4g} (95% "
                                       "Wilson interval ")
    # the same gates fail on stderr, and the suite keeps what was audited
    assert err.count("glasswing audit: failed: ") == 2
    properties = {p.name: p.value for p in suite.properties()}
    assert properties["data_sha256"] == result["source"]["data_sha256"]
    assert properties["decision_rule"].startswith("positive outcome 1; ")


def test_the_wilson_interval_of_an_overall_rate_is_the_published_formula(tmp_path, capsys):
    from scipy.stats import binomtest

    frame = pd.read_csv(GERMAN)
    code, junit, _ = audit(tmp_path, "--fail-if", "selection_rate>0.5")
    capsys.readouterr()
    assert code == 1
    (suite,) = JUnitXml.fromfile(str(junit))
    (case,) = suite
    low, high = binomtest(int(frame["gbm_pred"].sum()), len(frame)).proportion_ci(method="wilson")
    assert f"95% Wilson interval {low:.3f} to {high:.3f}" in case.result[0].message


def test_undefined_values_fail_and_say_so(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"sex": ["F"] * 20 + ["M"] * 200, "y": rng.integers(0, 2, 220)})
    frame["p"] = frame["y"]
    path = tmp_path / "small.csv"
    frame.to_csv(path, index=False)
    junit = tmp_path / "g.xml"
    code = main(["audit", "--data", str(path), "--prediction", "p", "--target", "y", "--sensitive", "sex",
                 "--fail-if", "demographic_parity_ratio<0.8", "--junit", str(junit)])
    assert code == 1 and "= undefined <" in capsys.readouterr().err
    (suite,) = JUnitXml.fromfile(str(junit))
    (case,) = suite
    assert case.result[0].message == ('demographic_parity_ratio is undefined, so the gate --fail-if '
                                      '"demographic_parity_ratio<0.8" fails.')


def test_hostile_names_stay_well_formed_xml_and_inert_markdown(tmp_path, capsys):
    from markdown_it import MarkdownIt

    hostile = ["]]><x>&amp;\x01 ![i](http://evil.test/p.png)", "<img src=http://evil.test/q.png> | b"]
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"sex": rng.choice(hostile, 400), "risk": rng.integers(0, 2, 400)})
    frame["gbm_pred"] = rng.integers(0, 2, 400)
    path = tmp_path / "a&b<c>.csv"
    frame.to_csv(path, index=False)
    code, junit, _ = audit(tmp_path, "--fail-if", "demographic_parity_ratio<0.01", "--format", "markdown",
                           data=path)
    markdown = capsys.readouterr().out
    assert code == 0
    root = assert_junit_schema(junit)
    assert root.find("testsuite").attrib["name"] == "fairness gates: a&b<c>.csv"
    assert "]]><x>&amp;\ufffd" in root.find("testsuite/system-out").text  # a control character is replaced
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<img" not in html and "<a " not in html and "<x>" not in html
    rows = re.findall(r"<tr>\s*<td>([^<]*(?:&lt;|&amp;|\])[^<]*)</td>", html)
    assert any("&lt;img src=http://evil.test/q.png&gt; | b" in r for r in rows)


def test_markdown_tables_carry_the_json_values(tmp_path, capsys):
    from markdown_it import MarkdownIt

    code, _, result = audit(tmp_path, "--fail-if", "demographic_parity_ratio<0.8", "--format", "markdown")
    captured = capsys.readouterr()
    assert code == 0
    assert "Wrote" not in captured.out and "Wrote" in captured.err  # stdout is the comment, nothing else
    html = MarkdownIt("commonmark").enable("table").render(captured.out)
    tables = re.findall(r"<table>(.*?)</table>", html, re.S)
    gate_rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td[^>]*>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>",
                           tables[0], re.S)
    (gate,) = gate_rows
    head = {d["name"]: d for d in result["headline"]["disparities"]}["demographic_parity_ratio"]
    assert gate[0] == "<code>--fail-if demographic_parity_ratio&lt;0.8</code>"
    assert gate[1] == f"{result['headline']['summary']['demographic_parity_ratio']:.3f}"
    assert gate[2] == f"{head['low']:.3f} to {head['high']:.3f} (Katz)" and gate[3] == "✅ passes"
    disparities = re.findall(r"<tr>\s*<td>([A-Z][a-z ]+)</td>\s*<td[^>]*>([-0-9.]+)</td>", tables[1])
    summary = result["headline"]["summary"]
    assert dict(disparities) == {name.replace("_", " ").capitalize(): f"{summary[name]:.3f}"
                                 for name in summary if name != "four_fifths_rule_passed"}
    groups = re.findall(r"<tr>\s*<td>(female|male)</td>\s*<td[^>]*>([0-9,]+)</td>", tables[2])
    assert groups == [(g["label"], f"{g['n']:,}") for g in result["by_group"]]
    assert "All 1 fairness gates passed" in html


@pytest.mark.parametrize("extra, message", [
    (["--junit", "{tmp}/g.xml"], cmd.JUNIT_NEEDS_RULES),
    (["--junit", "{tmp}/missing/g.xml", "--fail-if", "accuracy<0.5"],
     cmd.NO_JUNIT_FOLDER.format(folder="{tmp}/missing")),
])
def test_junit_needs_a_rule_and_a_folder(tmp_path, capsys, extra, message):
    argv = ["audit", "--data", str(GERMAN), "--prediction", "gbm_pred", "--target", "risk", "--sensitive",
            "sex", *(e.format(tmp=tmp_path) for e in extra)]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"glasswing: error: {message.format(tmp=tmp_path)}\n"
    assert not list(tmp_path.iterdir())


def test_text_output_is_unchanged_by_the_new_options(tmp_path, capsys):
    base = ["audit", "--data", str(GERMAN), "--prediction", "gbm_pred", "--target", "risk", "--sensitive",
            "sex", "--fail-if", "accuracy<0.5"]
    assert main(base) == 0
    plain = capsys.readouterr().out
    assert main([*base, "--format", "text", "--junit", str(tmp_path / "g.xml")]) == 0
    with_junit = capsys.readouterr().out
    assert with_junit == plain + f"Wrote {tmp_path / 'g.xml'}\n"
