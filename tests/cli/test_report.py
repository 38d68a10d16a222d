"""``glasswing report``: the files written, against independent fingerprints and fairlearn; bad input."""

from __future__ import annotations

import hashlib
import io
import json
import re

import pytest

from glasswing.cli import main
from glasswing.commands import report as report_cmd
from glasswing.explainers._rows import BAD_ROW_SPEC, ROW_OUT_OF_RANGE
from tests.reports.conftest import make_case


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The case written to disk as a CSV (with a logged prediction column) and a skops model."""
    import skops.io

    model, data = make_case()
    folder = tmp_path_factory.mktemp("report_cli")
    frame = data.frame.assign(logged=model.predict(data.X))
    csv, skops_file = folder / "credit.csv", folder / "credit_logreg.skops"
    frame.to_csv(csv, index=False)
    skops.io.dump(model.estimator, skops_file)
    return folder, csv, skops_file, frame


def _pdf_text(path) -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages)


def _args(files, out, *extra):
    _, csv, skops_file, _ = files
    return ["report", "--data", str(csv), "--model", str(skops_file), "--target", "approved",
            "--sensitive", "sex", "--out", str(out), *extra]


def test_pdf_has_the_files_fingerprints_and_fairlearn_numbers(files, capsys):
    from fairlearn.metrics import MetricFrame, selection_rate

    folder, csv, skops_file, frame = files
    out = folder / "audit.pdf"
    assert main(_args(files, out, "--reviewer", "Ada", "--version-label", "v1")) == 0
    assert f"Wrote {out}" in capsys.readouterr().out
    text = _pdf_text(out)
    flat = re.sub(r"\s+", "", text)
    for path in (csv, skops_file):  # the digests of the very bytes on disk, computed here
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest in flat and digest[:12] in text
    mf = MetricFrame(metrics=selection_rate, y_true=frame["approved"], y_pred=frame["logged"],
                     sensitive_features=frame["sex"])
    for group in ("female", "male"):
        assert f"{mf.by_group[group]:.3f}" in text
    assert f"{mf.difference():.3f}" in text and "Ada" in text and "v1" in text


def test_same_content_as_the_dashboard(files):
    from glasswing import audits, ingest, reports

    folder, csv, skops_file, _ = files
    out = folder / "audit.json"
    assert main(_args(files, out)) == 0
    written = json.loads(out.read_text())
    # What the Report page does with the same files (dashboard/_report.py calls these same functions;
    # the Model & data page proposes the model's inputs as the features).
    model = ingest.load_model(skops_file)
    data = ingest.load_dataset(csv, target="approved", sensitive=("sex",), features=model.feature_names)
    expected = reports.build_report(data, model, metrics=audits.audit_dataset(data, model)).to_dict()
    for key in ("audit", "model", "dataset", "roles", "title"):
        assert written[key] == expected[key], key
    # the logged prediction column of the file is not one of the model's inputs
    assert "logged" not in written["roles"]["features"]
    assert written["roles"]["features"] == list(model.estimator.feature_names_in_)


def test_logged_predictions_to_html_and_save(files, capsys):
    from glasswing import audits

    folder, csv, _, _ = files
    out = folder / "audit.html"
    code = main(["report", "--data", str(csv), "--prediction", "logged", "--target", "approved",
                 "--sensitive", "sex", "--out", str(out), "--save", "--notes", "first look"])
    assert code == 0
    assert "Saved as run 1 in the audit history" in capsys.readouterr().out
    html = out.read_text()
    assert "none: the audit used the predictions logged in the data" in html and "first look" in html
    with audits.open_history() as history:
        assert history.get(1).notes == "first look" and history.get(1).model_sha256 == ""


def test_explanations_are_included(files):
    folder, *_ = files
    out = folder / "explained.pdf"
    assert main(_args(files, out, "--explain", "shap", "--rows", "0,2")) == 0
    text = _pdf_text(out)
    assert "SHAP, row 0" in text and "SHAP, row 2" in text


@pytest.mark.parametrize(("extra", "message"), [
    (["--out", "audit.docx"], report_cmd.BAD_OUT.format(out="audit.docx")),
    (["--explain", "shap", "--rows", "a:b"], BAD_ROW_SPEC.format(spec="a:b")),
    (["--explain", "shap", "--rows", "5,4000"], ROW_OUT_OF_RANGE.format(row=4000, n=400, last=399)),
])
def test_bad_input_is_one_line(files, capsys, tmp_path, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    args = _args(files, tmp_path / "audit.pdf")
    if extra[0] == "--out":
        args = args[:-1] + [extra[1]]
    else:
        args += extra
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == f"glasswing: error: {message}\n"
    assert not list(tmp_path.glob("audit.*"))


def test_no_predictions_is_one_line(files, capsys, tmp_path):
    _, csv, _, _ = files
    code = main(["report", "--data", str(csv), "--target", "approved", "--sensitive", "sex",
                 "--out", str(tmp_path / "a.pdf")])
    assert code == 2
    assert capsys.readouterr().err == f"glasswing: error: {report_cmd.NEEDS_PREDICTIONS}\n"


def test_parse_rows_is_the_explain_grammar():
    from glasswing.explainers import ExplainerError, rows_from_spec
    from glasswing.reports import parse_rows

    assert parse_rows("0,3,7", 10) == [0, 3, 7] and parse_rows(" 0, 3 ", 10) == [0, 3]
    assert parse_rows("2:5", 10) == [2, 3, 4] and parse_rows(":2", 10) == [0, 1]
    assert parse_rows("0:3,7", 10) == [0, 1, 2, 7] == rows_from_spec("0:3,7", 10)
    assert parse_rows("5:", 8) == [5, 6, 7]
    for bad in ("", "x", "3:1"):
        with pytest.raises(ExplainerError) as err:
            parse_rows(bad, 10)
        assert str(err.value) == BAD_ROW_SPEC.format(spec=bad)
    with pytest.raises(ExplainerError) as err:
        parse_rows("1,5", 5)
    assert str(err.value) == ROW_OUT_OF_RANGE.format(row=5, n=5, last=4)


def test_report_rows_take_ranges_and_open_ends(files, tmp_path):
    out = tmp_path / "audit.json"
    assert main(_args(files, out, "--explain", "shap", "--rows", "0:2,7")) == 0
    titles = [e["title"] for e in json.loads(out.read_text())["explanations"]]
    assert [t.split(":")[0] for t in titles] == ["SHAP, row 0", "SHAP, row 1", "SHAP, row 7"]
    assert main(_args(files, out, "--explain", "shap", "--rows", "398:")) == 0
    titles = [e["title"] for e in json.loads(out.read_text())["explanations"]]
    assert [t.split(":")[0] for t in titles] == ["SHAP, row 398", "SHAP, row 399"]
