"""``glasswing audit``: table on stdout, ``--json`` in DESIGN.md's shape, ``--fail-if`` exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    selection_rate,
)

from glasswing.cli import main
from glasswing.commands import audit as cmd


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 1200
    sex = rng.choice(["female", "male"], n)
    race = rng.choice(["A", "B", "C"], n, p=[0.6, 0.3, 0.1])
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + 0.15 * (sex == "male") + rng.random(n) * 0.55, 0, 1).round(4)
    frame = pd.DataFrame({"sex": sex, "race": race, "income": rng.normal(50, 10, n).round(1), "y": y,
                          "pred": (score >= 0.5).astype(int), "score": score})
    folder = tmp_path_factory.mktemp("audit")
    frame.to_csv(folder / "scored.csv", index=False)
    frame.to_parquet(folder / "scored.parquet", index=False)
    return frame, folder


def run(*argv):
    return main(["audit", *map(str, argv)])


def test_table_and_json_match_fairlearn(scored, capsys):
    frame, folder = scored
    out = folder / "audit.json"
    code = run("--data", folder / "scored.csv", "--prediction", "pred", "--target", "y", "--sensitive", "sex",
               "race", "--json", out)
    printed = capsys.readouterr().out
    assert code == 0
    assert printed.startswith("Fairness audit of scored.csv (1,200 rows; predictions: column pred;")
    assert "sex · race" in printed and "female · A" in printed and "The four-fifths rule" in printed
    result = json.loads(out.read_text())
    assert {"overall", "by_group", "summary"} <= set(result)
    sf = frame[["sex", "race"]]
    y, p = frame["y"], frame["pred"]
    for name, fn in {"demographic_parity_difference": demographic_parity_difference,
                     "demographic_parity_ratio": demographic_parity_ratio,
                     "equalized_odds_difference": equalized_odds_difference,
                     "equalized_odds_ratio": equalized_odds_ratio}.items():
        assert result["summary"][name] == pytest.approx(fn(y, p, sensitive_features=sf), abs=1e-12)
    mf = MetricFrame(metrics=selection_rate, y_true=y, y_pred=p, sensitive_features=sf)
    first = result["by_group"][0]
    assert first["group"] == {"sex": "female", "race": "A"}
    assert first["selection_rate"] == pytest.approx(mf.by_group[("female", "A")], abs=1e-12)
    assert first["n"] == int(((frame["sex"] == "female") & (frame["race"] == "A")).sum())
    assert result["source"]["data_sha256"]


def test_parquet_is_audited_out_of_core_with_the_same_numbers(scored, tmp_path, capsys):
    _, folder = scored
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run("--data", folder / "scored.csv", "--prediction", "pred", "--target", "y", "--sensitive", "sex",
               "--json", a) == 0
    assert run("--data", folder / "scored.parquet", "--prediction", "pred", "--target", "y", "--sensitive",
               "sex", "--json", b) == 0
    ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
    assert jb["source"]["engine"] == "duckdb"
    assert ja["summary"] == jb["summary"] and ja["by_group"] == jb["by_group"]


def test_fail_if_exits_1_when_violated(scored, capsys):
    _, folder = scored
    base = ["--data", folder / "scored.csv", "--prediction", "pred", "--target", "y", "--sensitive", "sex"]
    assert run(*base, "--fail-if", "demographic_parity_ratio<0.01") == 0
    code = run(*base, "--fail-if", "demographic_parity_ratio<0.99", "--fail-if", "accuracy < 0.1")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("glasswing audit: failed: demographic_parity_ratio = ")
    assert err[0].endswith("< 0.99 (demographic_parity_ratio<0.99)")


@pytest.mark.parametrize("argv, message", [
    (["--fail-if", "demographic_parity_ratio is small"],
     cmd.BAD_EXPRESSION.format(expr="demographic_parity_ratio is small")),
    (["--fail-if", "dp_ratio<0.8"], None),
    (["--sensitive", "gender"], None),
])
def test_bad_input_is_one_line_and_exit_2(scored, capsys, argv, message):
    _, folder = scored
    base = {"--data": folder / "scored.csv", "--prediction": "pred", "--target": "y", "--sensitive": "sex"}
    extra = dict(zip(argv[::2], argv[1::2], strict=True))
    args = [str(x) for k, v in {**base, **extra}.items() for x in (k, v)]
    assert main(["audit", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("glasswing: error: ")
    if message:
        assert err == f"glasswing: error: {message}"
    if argv[0] == "--fail-if" and message is None:
        assert err.startswith("glasswing: error: --fail-if 'dp_ratio<0.8' names 'dp_ratio', which is not a")
    if argv[0] == "--sensitive":
        assert "'gender'" in err


def test_scores_without_threshold_say_so(scored, capsys):
    _, folder = scored
    assert run("--data", folder / "scored.csv", "--prediction", "score", "--target", "y", "--sensitive",
               "sex") == 2
    err = capsys.readouterr().err
    assert "holds scores between 0 and 1" in err and "threshold" in err
    assert run("--data", folder / "scored.csv", "--prediction", "score", "--threshold", "0.5", "--target",
               "y", "--sensitive", "sex") == 0


def test_model_predictions(scored, tmp_path, capsys):
    import skops.io
    from sklearn.linear_model import LogisticRegression

    frame, folder = scored
    X = frame[["income", "score"]]
    model = LogisticRegression().fit(X, frame["y"])
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)
    out = tmp_path / "m.json"
    assert run("--data", folder / "scored.csv", "--model", path, "--target", "y", "--sensitive", "sex",
               "--json", out) == 0
    result = json.loads(out.read_text())
    expected = demographic_parity_difference(frame["y"], model.predict(X), sensitive_features=frame["sex"])
    assert result["summary"]["demographic_parity_difference"] == pytest.approx(expected, abs=1e-12)
    assert result["source"]["predictions"] == "model model.skops"
    assert "auc" in result["overall"]


def test_real_process_exit_codes(scored):
    _, folder = scored
    argv = [sys.executable, "-m", "glasswing.cli", "audit", "--data", str(folder / "scored.csv"),
            "--prediction", "pred", "--target", "y", "--sensitive", "sex",
            "--fail-if", "demographic_parity_difference>=0"]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    done = subprocess.run(argv[:-2] + ["--target", "nope"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
