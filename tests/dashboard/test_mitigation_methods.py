"""Mitigation page: the methods' own settings, the lambda sweep as its own curve, the ONNX/skops export."""

from __future__ import annotations

import json

import pytest

from glasswing import audits
from glasswing.dashboard import _mitigation as dmit
from glasswing.ingest import load_model, samples
from tests.conftest import new_apptest

PAGE = "mitigation.py"
TIMEOUT = 600  # the machine the tests run on is shared; a fit here takes seconds alone


@pytest.fixture(scope="module")
def german():
    return samples.german_model("logreg"), samples.german_dataset("test")


def _page(model, data):
    at = new_apptest(PAGE, timeout=TIMEOUT, state={"gw.model": model, "gw.dataset": data})
    assert not at.exception, at.exception
    return at


def test_fair_loss_settings_reach_the_run_and_the_model_downloads_as_onnx(german):
    model, data = german
    at = _page(model, data)
    at.selectbox(key="mitigation.method").set_value("fair_loss").run()
    at.slider(key="mitigation.param.fair_loss.lam").set_value(2.0)
    at.number_input(key="mitigation.param.fair_loss.epochs").set_value(3)
    at.button(key="mitigation.run").click().run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert at.subheader[0].value == "Fairness-regularised loss (demographic parity, λ = 2)"
    direct = audits.mitigate(model, samples.german_dataset("train"), data, method="fair_loss",
                             params={"lam": 2.0, "epochs": 3})
    shown = at.session_state[dmit.TRIED]["rows"][-1]
    assert shown["accuracy_after"] == pytest.approx(direct.accuracy_after)
    assert shown["demographic_parity_difference_after"] == pytest.approx(direct.disparity()[1])
    export = [b for b in at.get("download_button") if b.proto.id.endswith("mitigation.model_export")
              or b.proto.label.startswith("Mitigated model")]
    assert [b.proto.label for b in export] == ["Mitigated model (ONNX, takes the original columns)"]
    assert "Weights (CSV)" not in [b.proto.label for b in at.get("download_button")]  # no weights here
    assert any("When to use which" in m.value for m in at.markdown)


def test_lambda_sweep_draws_its_own_curve(german):
    model, data = german
    at = _page(model, data)
    at.selectbox(key="mitigation.method").set_value("fair_loss").run()
    at.number_input(key="mitigation.param.fair_loss.epochs").set_value(2)
    at.button(key="mitigation.sweep").click().run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    rows = at.session_state[dmit.TRIED]["rows"]
    # the run at the slider's lambda (1) is the sweep's lambda = 1 point: one row per label
    assert sorted(r["params"]["lam"] for r in rows) == [0.0, 0.5, 1.0, 2.0, 4.0]
    spec = json.loads(at.get("plotly_chart")[1].proto.spec)
    sweep = [t for t in spec["data"] if t.get("name", "").startswith("λ sweep")]
    assert len(sweep) == 1 and len(sweep[0]["x"]) == 5
    assert any(t.get("name") == "Pareto front" for t in spec["data"])


def test_correlation_remover_exports_a_skops_model_that_loads_back(german):
    model, data = german
    at = _page(model, data)
    at.selectbox(key="mitigation.method").set_value("correlation_remover").run()
    at.button(key="mitigation.run").click().run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Retrained model (skops)" in labels
    result = audits.mitigate(model, samples.german_dataset("train"), data, method="correlation_remover")
    loaded = load_model(result.export()[0], name="m.skops")  # CorrelationRemover passes the safe loader
    assert (loaded.predict(data.frame) == result.y_pred_after).all()
    shown = at.session_state[dmit.TRIED]["rows"][-1]
    assert shown["accuracy_after"] == pytest.approx(result.accuracy_after)
