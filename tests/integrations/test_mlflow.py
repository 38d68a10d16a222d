"""``glasswing.integrations.mlflow.log_audit`` against a local file-based MLflow tracking store.

What lands in the store is read back with MLflow's own client and compared with fairlearn (the headline
disparity), hashlib (the fingerprints) and the report's own renderings (JSON equal, HTML and PDF intact).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys

import mlflow  # mlflow-skinny, a test dependency (requirements-dev.txt)
import pytest

import glasswing
from glasswing._paths import sample_dir
from glasswing.integrations import mlflow as gw_mlflow
from glasswing.integrations.mlflow import FILE_STORE, MLFLOW_MISSING, NOT_AN_AUDIT, log_audit

GERMAN = sample_dir() / "german_test_predictions.csv"
GBM = sample_dir() / "models" / "german_gbm.skops"


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh file store for each test, through the environment (no global MLflow state is changed)."""
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    yield uri, tmp_path / "mlruns"
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture(scope="module")
def report():
    return glasswing.report(GERMAN, GBM, y_true="risk", sensitive_features="sex", title="German GBM v3")


def test_metrics_tags_and_artifacts_land_in_the_run(store, report):
    from fairlearn.metrics import demographic_parity_ratio
    from pypdf import PdfReader

    uri, folder = store
    with mlflow.start_run() as run:
        assert log_audit(report) == run.info.run_id
    client = mlflow.MlflowClient(uri)
    logged = client.get_run(run.info.run_id)
    frame = glasswing.load_data(GERMAN, y_true="risk", sensitive_features="sex").frame
    features = list(glasswing.ingest.samples.GERMAN_FEATURES)
    y_pred = glasswing.load_model(GBM).estimator.predict(frame[features])
    expected = demographic_parity_ratio(frame["risk"], y_pred, sensitive_features=frame["sex"])
    metrics = logged.data.metrics
    assert metrics["glasswing.demographic_parity_ratio"] == pytest.approx(expected, abs=1e-12)
    head = {d["name"]: d for d in report.audit["headline"]["disparities"]}["demographic_parity_ratio"]
    assert (metrics["glasswing.demographic_parity_ratio.low"],
            metrics["glasswing.demographic_parity_ratio.high"]) == (head["low"], head["high"])
    assert metrics["glasswing.four_fifths_rule_passed"] == 1.0 and metrics["glasswing.overall.n"] == 300
    tags = logged.data.tags
    assert tags["glasswing.data_sha256"] == hashlib.sha256(GERMAN.read_bytes()).hexdigest()
    assert tags["glasswing.model_sha256"] == hashlib.sha256(GBM.read_bytes()).hexdigest()
    assert tags["glasswing.model"] == "german_gbm.skops" and tags["glasswing.sensitive"] == "sex"
    names = sorted(a.path for a in client.list_artifacts(run.info.run_id, "glasswing"))
    assert names == ["glasswing/audit.html", "glasswing/audit.json", "glasswing/audit.pdf"]
    artifacts = folder / "0" / run.info.run_id / "artifacts" / "glasswing"  # a file store: real files
    assert json.loads((artifacts / "audit.json").read_text()) == json.loads(report.to_json())
    assert tags["glasswing.data_sha256"] in (artifacts / "audit.html").read_text(encoding="utf-8")
    pdf = (artifacts / "audit.pdf").read_bytes()
    assert "German GBM v3" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_without_an_active_run_a_run_is_started_and_ended(store):
    uri, _ = store
    gm = glasswing.audit(GERMAN, y_true="risk", y_pred="gbm_pred", sensitive_features="sex")
    run_id = log_audit(gm, pdf=False)
    assert mlflow.active_run() is None
    logged = mlflow.MlflowClient(uri).get_run(run_id)
    assert logged.info.status == "FINISHED"
    assert logged.data.metrics["glasswing.demographic_parity_ratio"] == pytest.approx(
        gm.headline().summary["demographic_parity_ratio"], abs=0)
    assert "glasswing.data_sha256" not in logged.data.tags  # an audit alone has no fingerprints


def test_an_audit_with_its_data_and_model_records_their_fingerprints(store):
    uri, _ = store
    data = glasswing.load_data(GERMAN, y_true="risk", sensitive_features="sex")
    model = glasswing.load_model(GBM)
    gm = glasswing.audit(data, model)
    with mlflow.start_run() as run:
        pass
    log_audit(gm, run, data=data, model=model, pdf=False)  # a finished run, given as a Run object
    tags = mlflow.MlflowClient(uri).get_run(run.info.run_id).data.tags
    assert tags["glasswing.model_sha256"] == model.sha256 and tags["glasswing.data_sha256"] == data.sha256


def test_undefined_values_are_named_not_logged(store):
    uri, _ = store
    gm = glasswing.audit(y_true=[1, 0, 1, 0] * 20, y_pred=[1, 0, 0, 0] * 20,
                         sensitive_features=["F", "F", "M", "M"] * 20)
    run_id = log_audit(gm, pdf=False)
    logged = mlflow.MlflowClient(uri).get_run(run_id)
    assert "glasswing.predictive_parity_ratio" not in logged.data.metrics  # M has no positive predictions
    assert logged.data.tags["glasswing.undefined"] == "predictive_parity_difference, predictive_parity_ratio"


def test_bad_input_is_one_sentence(store, tmp_path, monkeypatch):
    gm = glasswing.audit(GERMAN, y_true="risk", y_pred="gbm_pred", sensitive_features="sex")
    with pytest.raises(glasswing.GlasswingError) as err:
        log_audit({"summary": {}})
    assert str(err.value) == NOT_AN_AUDIT.format(kind="dict")
    with pytest.raises(glasswing.GlasswingError) as err:
        log_audit(gm, "0123456789abcdef0123456789abcdef", pdf=False)
    assert str(err.value).startswith("MLflow could not log the audit: ") and "\n" not in str(err.value)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    uri = (tmp_path / "other").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(glasswing.GlasswingError) as err:
        log_audit(gm, pdf=False)
    assert str(err.value) == FILE_STORE.format(uri=uri)


def test_the_package_imports_without_mlflow_and_says_what_to_install():
    code = ("import sys; sys.modules['mlflow'] = None\n"
            "import glasswing.integrations, glasswing.integrations.mlflow as m\n"
            "from glasswing.ingest import samples\n"
            "import glasswing\n"
            "try:\n"
            "    m.log_audit(glasswing.audit(samples.german_dataset('test')))\n"
            "except glasswing.GlasswingError as err:\n"
            "    print(err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == MLFLOW_MISSING
    assert gw_mlflow.__all__ == ["IntegrationError", "log_audit", "metrics_of"]
