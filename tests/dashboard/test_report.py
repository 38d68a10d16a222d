"""The Report page (AppTest): no audit -> one sentence; run, compose, save; bad input keeps everything."""

from __future__ import annotations

import sqlite3

import pytest

from glasswing import audits
from glasswing._paths import data_dir
from glasswing.audits._history import NEWER_SCHEMA_READ_ONLY, SCHEMA_VERSION
from glasswing.dashboard._report import NO_AUDIT
from glasswing.dashboard._text import md
from glasswing.explainers._rows import ROW_OUT_OF_RANGE
from tests.conftest import new_apptest
from tests.reports.conftest import make_case


@pytest.fixture(scope="module")
def case():
    return make_case()


def _page(case, *, model=True):
    model_, data = case
    return new_apptest("report.py", state={"gw.dataset": data, "gw.model": model_ if model else None})


def _fairlearn_dp(case) -> float:
    from fairlearn.metrics import demographic_parity_difference

    model, data = case
    return demographic_parity_difference(data.y_true, model.predict(data.X),
                                         sensitive_features=data.frame["sex"])


def test_asks_for_data_first():
    at = new_apptest("report.py")
    assert not at.exception
    assert at.info[0].value.startswith("Load a dataset")


def test_export_without_an_audit_is_one_sentence(case):
    at = _page(case)
    assert not at.exception
    assert [w.value for w in at.warning] == [NO_AUDIT]
    buttons = at.get("download_button")
    assert [b.label for b in buttons] == ["Export PDF", "Export HTML", "Export JSON"]
    assert all(b.disabled for b in buttons)
    assert at.button(key="report.save").disabled


def test_run_the_audit_then_save_it(case):
    at = _page(case)
    at.button(key="report.run").click().run()
    assert not at.exception and not at.error
    assert not at.warning or NO_AUDIT not in [w.value for w in at.warning]
    assert not any(b.disabled for b in at.get("download_button"))
    findings = at.dataframe[0].value.set_index("Disparity")
    expected = _fairlearn_dp(case)
    assert findings.loc["Demographic parity difference", "Value"] == pytest.approx(expected, abs=1e-12)
    groups = at.dataframe[1].value
    assert groups["Group"].tolist() == ["female", "male"] and groups["n"].sum() == len(case[1])

    at.text_area(key="report.notes").input("Men are approved more often; ask for a retrained model.")
    at.text_input(key="report.reviewer").input("Ada")
    at.text_input(key="report.version").input("v1").run()
    at.button(key="report.save").click().run()
    assert not at.exception
    assert "Saved as run 1. Open it on the Review page." in [s.value for s in at.success]
    with audits.open_history() as history:
        run = history.get(1)
    assert run.reviewer == "Ada" and run.version_label == "v1" and run.model_sha256 == case[0].sha256
    assert run.notes == "Men are approved more often; ask for a retrained model."
    assert run.audit["summary"]["demographic_parity_difference"] == pytest.approx(expected, abs=1e-12)
    assert run.report["sign_off"]["reviewer"] == "Ada"


def test_explanations_of_rows_outside_the_data_are_one_sentence(case):
    at = _page(case)
    at.button(key="report.run").click().run()
    at.selectbox(key="report.method").set_value("shap").run()
    at.text_input(key="report.rows").input("0, 999").run()
    assert not at.exception
    assert [e.value for e in at.error] == [ROW_OUT_OF_RANGE.format(row=999, n=400, last=399)]
    assert not any(b.disabled for b in at.get("download_button"))  # the report is still there, minus rows
    at.text_input(key="report.rows").input("3").run()
    assert not at.error and not at.exception


def test_a_history_from_a_newer_glasswing_refuses_to_save_and_keeps_the_audit(case):
    with audits.open_history() as history:
        history.save(audits.AuditRun(title="written by a later version", audit={"summary": {}}))
    con = sqlite3.connect(data_dir() / "history.sqlite3")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    at = _page(case)
    at.button(key="report.run").click().run()
    at.button(key="report.save").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [NEWER_SCHEMA_READ_ONLY.format(found=SCHEMA_VERSION + 1)]
    assert at.session_state["report.audit"]["sensitive"] == ["sex"]  # nothing lost
    assert at.dataframe[0].value.shape[0] == 8


def test_logged_predictions_without_a_model(case):
    model, data = case
    logged = data.with_roles(prediction=None)
    at = new_apptest("report.py")
    at.session_state["gw.dataset"] = logged
    at.run()
    at.button(key="report.run").click().run()
    assert not at.exception
    # Neither a model nor logged predictions: the audit says so in one sentence.
    assert len(at.error) == 1 and "prediction" in at.error[0].value
    assert [w.value for w in at.warning] == [NO_AUDIT]


def test_compas_report_states_the_rule_and_bands_age_like_the_cli(tmp_path):
    import json

    from glasswing.cli import main
    from glasswing.ingest import samples

    data = samples.compas_dataset()
    at = new_apptest("report.py", state={"gw.dataset": data, "gw.model": None})
    at.multiselect(key="report.sensitive").set_value(["age"]).run()
    assert at.number_input(key="report.threshold").value == 5.0  # a decile score: not 0.5
    at.text_input(key="report.selected").input("predicted to reoffend").run()
    at.button(key="report.run").click().run()
    assert not at.exception and not at.error
    groups = at.dataframe[1].value
    csv, out = tmp_path / "c.csv", tmp_path / "a.json"
    data.frame[["age", "decile_score", "two_year_recid"]].to_csv(csv, index=False)
    assert main(["report", "--data", str(csv), "--score", "decile_score", "--threshold", "5", "--target",
                 "two_year_recid", "--sensitive", "age", "--out", str(out)]) == 0
    cli = json.loads(out.read_text())["audit"]["by_group"]
    assert groups["Group"].tolist() == [g["label"] for g in cli] == [
        "age <25", "age 25-30", "age 31-41", "age 42+"]  # quartile bands, the same on both
    assert groups["n"].tolist() == [g["n"] for g in cli]
    rule = next(m.value for m in at.markdown if m.value.startswith("**Decision rule:**"))
    assert md("decile_score >= 5 is predicted 1") in rule  # user text (a column name) is escaped
    assert '"selected" means predicted to reoffend' in rule


def test_the_sign_off_outlives_a_visit_to_another_page_and_the_saved_run_carries_it(case):
    typed = {"report.title": "Credit audit, Q3", "report.version": "v2", "report.notes": "Ask for a retrain.",
             "report.reviewer": "Ada Lovelace", "report.role": "Model risk", "report.date": "2026-12-02"}
    at = _page(case)
    for key, value in typed.items():
        (at.text_area if key == "report.notes" else at.text_input)(key=key).input(value)
    at.selectbox(key="report.decision").set_value("Approved with conditions").run()
    for page in ("review.py", "fairness.py", "report.py"):  # away, further away, and back
        at.switch_page(f"app_pages/{page}")
        at.run()
        assert not at.exception
    for key, value in typed.items():
        assert (at.text_area if key == "report.notes" else at.text_input)(key=key).value == value
    assert at.selectbox(key="report.decision").value == "Approved with conditions"
    at.button(key="report.run").click().run()
    at.button(key="report.save").click().run()
    assert "Saved as run 1. Open it on the Review page." in [s.value for s in at.success]
    with audits.open_history() as history:
        run = history.get(1)
    assert (run.title, run.version_label, run.reviewer, run.notes) == (
        "Credit audit, Q3", "v2", "Ada Lovelace", "Ask for a retrain.")
    assert run.report["sign_off"] == {"reviewer": "Ada Lovelace", "role": "Model risk",
                                      "decision": "Approved with conditions", "date": "2026-12-02"}


def test_a_mitigation_on_an_uploaded_training_file_goes_into_the_report():
    """Reweighing on an uploaded training file, then the Report page: the mitigation can be included."""
    from fairlearn.metrics import demographic_parity_difference
    from sklearn.base import clone

    from glasswing._paths import sample_dir
    from glasswing.dashboard import _mitigation as dmit
    from glasswing.ingest import samples

    model, data = samples.german_model("logreg"), samples.german_dataset("test")
    raw = (sample_dir() / "german_train.csv").read_bytes()
    at = new_apptest("mitigation.py", state={"gw.model": model, "gw.dataset": data})
    at.radio(key="mitigation.source").set_value(dmit.TRAIN_UPLOAD).run()
    at.file_uploader(key="mitigation.upload").set_value(("credit_train.csv", raw, "text/csv")).run()
    at.button(key="mitigation.run").click().run()
    assert not at.exception and at.subheader[0].value == "Reweighing (demographic parity)"
    at.switch_page("app_pages/report.py")
    at.run()
    box = at.checkbox(key="report.mitigation")
    assert not box.disabled and box.value
    assert box.label == "Include the mitigation shown on the Mitigation page"
    at.button(key="report.run").click().run()
    assert not at.exception and not at.error
    at.button(key="report.save").click().run()
    with audits.open_history() as history:
        mitigation = history.get(1).mitigation
    assert mitigation["label"] == "Reweighing (demographic parity)"
    # the reweighed refit by hand (Kamiran & Calders weights n_g * n_y / (n * n_gy)), scored with fairlearn
    frame = samples.german_dataset("train").frame
    n_g = frame.groupby("sex")["risk"].transform("size")
    n_y = frame.groupby("risk")["risk"].transform("size")
    n_gy = frame.groupby(["sex", "risk"])["risk"].transform("size")
    refit = clone(model.estimator).set_params(model__random_state=0)
    refit.fit(frame[list(model.feature_names)], frame["risk"],
              model__sample_weight=(n_g * n_y / (len(frame) * n_gy)).to_numpy())
    after = demographic_parity_difference(data.y_true, refit.predict(data.X),
                                          sensitive_features=data.frame["sex"])
    assert mitigation["after"]["summary"]["demographic_parity_difference"] == pytest.approx(after, abs=1e-12)



def test_report_checkboxes_add_the_fairness_check_confusion_matrices_and_a_second_model():
    from fairlearn.metrics import MetricFrame, demographic_parity_difference, selection_rate
    from sklearn.metrics import confusion_matrix

    from glasswing.ingest import samples

    model, data = samples.german_model("gbm"), samples.german_dataset("test")
    other = samples.german_model("logreg")
    at = new_apptest("report.py", state={"gw.dataset": data, "gw.model": model})
    assert not at.checkbox(key="report.fairness_check").value
    assert not at.checkbox(key="report.confusion").value
    at.button(key="report.run").click().run()
    at.checkbox(key="report.fairness_check").check()
    at.checkbox(key="report.confusion").check()
    at.selectbox(key="report.compare.choice").set_value("German credit, logistic regression (sample)").run()
    assert not at.exception and not at.error
    at.button(key="report.save").click().run()
    with audits.open_history() as history:
        saved = history.get(1).report
    sex, y, pred = data.frame["sex"], data.y_true.to_numpy(), model.predict(data.X)
    rates = MetricFrame(metrics=selection_rate, y_true=y, y_pred=pred, sensitive_features=sex).by_group
    check = saved["fairness_check"]
    assert check["reference"] == "male" and check["band"] == [0.8, 1.25]
    ratio = next(r["ratio"] for r in check["ratios"] if r["metric"] == "selection_rate")
    assert ratio == pytest.approx(rates["female"] / rates["male"], abs=1e-12)
    women = sex.to_numpy() == "female"
    (tn, fp), (fn, tp) = confusion_matrix(y[women], pred[women], labels=[0, 1])
    assert saved["confusion"][0]["group"] == "female"
    assert saved["confusion"][0]["counts"] == {"TP": tp, "FN": fn, "FP": fp, "TN": tn}
    cmp = saved["comparison"]
    assert (cmp["model_a"], cmp["model_b"], cmp["n_boot"]) == (model.name, other.name, 1000)
    dp_b = next(d["b"] for d in cmp["disparities"] if d["name"] == "demographic_parity_difference")
    expected = demographic_parity_difference(y, other.predict(data.X), sensitive_features=sex)
    assert dp_b == pytest.approx(expected, abs=1e-12)
