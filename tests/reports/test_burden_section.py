"""The report's recourse-burden section (partial template): HTML, PDF, JSON round trip, and the CLI flag."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from glasswing import _api, audits, reports
from glasswing.cli import main
from tests.reports.conftest import make_case


def burden():
    costs = np.r_[np.full(40, 1.0), np.linspace(2.0, 3.0, 35), [np.nan]]
    return audits.recourse_burden(costs, ["female"] * 40 + ["male"] * 36, favourable=1, seed=0,
                                  distance="Distance: MAD units.", constraints="immutable: sex.")


def test_the_burden_section_shows_every_group_with_its_interval_in_html_and_pdf():
    model, data = make_case()
    b = burden()
    report = reports.build_report(data, model, metrics=audits.audit_dataset(data, model), burden=b)
    html = reports.render_html(report)
    assert "<h2>Recourse burden by group</h2>" in html and b.sentence in html
    male = b.by_group.loc["male"]
    assert male["burden"] == pytest.approx(2.5)  # the plain mean of 2.0 .. 3.0
    cells = f'{male["burden"]:.3f}</td><td class="num interval">{male["low"]:.3f} to {male["high"]:.3f}'
    assert cells in html
    assert 'alt="Recourse burden by group"' in html  # the chart
    assert "Distance: MAD units." in html and "immutable: sex." in html
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(reports.render_pdf(report, html=html)))
    assert "Recourse burden by group" in "\n".join(p.extract_text() for p in pdf.pages)
    again = reports.Report.from_dict(json.loads(report.to_json()))
    assert again.burden == report.burden and again.burden["by_group"][1]["n_not_found"] == 1
    plain = reports.build_report(data, model, metrics=audits.audit_dataset(data, model))
    assert "Recourse burden" not in reports.render_html(plain, charts=False)


def test_glasswing_report_burden_adds_the_section(tmp_path, capsys):
    import skops.io

    model, data = make_case(n=90)
    csv, skops_file, out = tmp_path / "credit.csv", tmp_path / "credit.skops", tmp_path / "audit.json"
    data.frame.to_csv(csv, index=False)
    skops.io.dump(model.estimator, skops_file)
    code = main(["report", "--data", str(csv), "--model", str(skops_file), "--target", "approved",
                 "--sensitive", "sex", "--burden", "--min-group-size", "5", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    section = json.loads(out.read_text())["burden"]
    refused = data.frame[model.estimator.predict(data.X) == 0]["sex"].value_counts()
    groups = sorted(refused.index)
    assert [g["group"] for g in section["by_group"]] == groups
    assert [g["n_unfavourable"] for g in section["by_group"]] == [int(refused[g]) for g in groups]
    assert section["constraints"].startswith("immutable: sex")
    with pytest.raises(_api.GlasswingError) as err:
        _api.report(data.frame.assign(logged=1), y_true="approved", y_pred="logged", sensitive_features="sex",
                    burden=True)
    assert str(err.value) == _api.BURDEN_NEEDS_MODEL
