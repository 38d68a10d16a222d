"""The Model & data page in AppTest: samples, uploads, column roles, and bad input as one sentence."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.metrics import accuracy_score, roc_auc_score

from glasswing._paths import sample_dir
from glasswing.dashboard._text import md
from glasswing.ingest import _errors as E
from tests.conftest import new_apptest

P = "model_data."


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def _index(elements, prefix: str) -> int:
    return next(i for i, e in enumerate(elements) if e.value.startswith(prefix))


def _target(at):
    return next(s for s in at.selectbox if s.label == "Target (true outcome)")


def _load_german(at):
    at.button(key=P + "use_samples").click().run()
    assert not at.exception and not at.error
    return at


def _upload(at, *, model=None, table=None):
    at.radio(key=P + "source").set_value("Upload your own").run()
    if model is not None:
        at.file_uploader(key=P + "model_file").set_value((*model, "application/octet-stream")).run()
    if table is not None:
        at.file_uploader(key=P + "table_file").set_value((table[0], table[1], "text/csv")).run()
    at.button(key=P + "load_uploads").click().run()
    assert not at.exception
    return at


def test_nothing_loaded_says_what_to_do():
    at = new_apptest("model_data.py")
    assert not at.exception
    assert [i.value for i in at.info] == ["Nothing is loaded yet: use the samples or upload your own files."]


def test_german_sample_shows_model_summary_and_metrics():
    at = _load_german(new_apptest("model_data.py"))
    logged = pd.read_csv(sample_dir() / "german_test_predictions.csv")
    expected = accuracy_score(logged["risk"], logged["gbm_pred"])  # the build's own predictions
    model = at.session_state["gw.model"]
    expected_auc = roc_auc_score(logged["risk"], model.predict_proba(logged)[:, 1])
    assert _metrics(at) == {"Accuracy": f"{expected:.3f}", "AUC": f"{expected_auc:.3f}"}
    summary = at.markdown[_index(at.markdown, f"| **File** | {md('german_gbm.skops')} |")].value
    assert "| **Estimator** | ColumnTransformer → GradientBoostingClassifier |" in summary
    assert "| **Kind** | sklearn, from skops |" in summary and f"`{model.sha256}`" in summary
    caption = f"**{md('german_test_predictions.csv')}**: 300 rows, 15 columns"
    assert any(c.value.startswith(caption) for c in at.caption)
    data = at.session_state["gw.dataset"]
    assert (data.roles.target, data.roles.sensitive) == ("risk", ("sex",))
    assert at.session_state["gw.images"] is None


def test_digits_sample_shows_images_and_accuracy():
    at = new_apptest("model_data.py")
    at.radio(key=P + "sample").set_value("Digits images, CNN").run()
    at.button(key=P + "use_samples").click().run()
    assert not at.exception and not at.error
    metrics = _metrics(at)
    assert any(c.value.startswith("**digits**: 20 images") for c in at.caption)
    model, images = at.session_state["gw.model"], at.session_state["gw.images"]
    labels = pd.read_csv(sample_dir() / "images" / "labels.csv", dtype=str).sort_values("file")["label"]
    expected = (model.predict(images.images).astype(str) == labels.to_numpy()).mean()
    assert metrics["Accuracy"] == f"{expected:.3f}"
    # ten classes: the macro one-vs-rest AUC, named, not "n/a" (classes "0".."9" are already sorted)
    ovr = roc_auc_score(labels, model.predict_proba(images.images), multi_class="ovr", labels=model.classes_)
    assert metrics["AUC (macro OvR)"] == f"{ovr:.3f}"  # short enough not to be cut; the caption names it
    assert any("Macro one-vs-rest AUC: each class's probability" in c.value for c in at.caption)
    assert at.session_state["gw.dataset"] is None


def test_bad_upload_is_one_sentence_and_keeps_what_was_loaded():
    at = _load_german(new_apptest("model_data.py"))
    model, data = at.session_state["gw.model"], at.session_state["gw.dataset"]
    _upload(at, table=("broken.csv", b"\x89PNG\r\n\x1a\n\x00\x00binary"))
    assert [e.value for e in at.error] == [E.TABLE_BINARY.format(name="broken.csv")]
    assert at.session_state["gw.model"] is model and at.session_state["gw.dataset"] is data


def test_upload_model_and_table_then_change_roles(tmp_path):
    at = new_apptest("model_data.py")
    skops_bytes = (sample_dir() / "models" / "german_logreg.skops").read_bytes()
    csv_bytes = (sample_dir() / "german_test_predictions.csv").read_bytes()
    _upload(at, model=("logreg.skops", skops_bytes), table=("german.csv", csv_bytes))
    assert not at.error
    data = at.session_state["gw.dataset"]
    # suggested roles: usual names, the model's inputs as features
    assert (data.roles.target, data.roles.prediction, data.roles.score) == ("risk", "gbm_pred", "gbm_score")
    assert data.roles.sensitive == ("sex", "age_group")
    assert data.roles.features == at.session_state["gw.model"].feature_names
    assert "Accuracy" in _metrics(at)
    # a target with many values is refused in one sentence; the loaded dataset is kept
    _target(at).set_value("purpose").run()
    assert len(at.error) == 1
    assert at.error[0].value.startswith("The target column 'purpose' has 8 distinct values")
    assert at.session_state["gw.dataset"] is data
    # a valid change is applied
    at.multiselect(key=next(m.key for m in at.multiselect if m.label.startswith("Sensitive"))).set_value(
        ["age_group"]).run()
    _target(at).set_value("risk").run()
    assert not at.error and at.session_state["gw.dataset"].roles.sensitive == ("age_group",)


@pytest.mark.parametrize("trust", [False, True])
def test_pickled_model_needs_the_trust_checkbox(trust):
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
    data = pickle.dumps(LogisticRegression().fit(frame[["x"]], frame["y"]))
    at = new_apptest("model_data.py")
    at.radio(key=P + "source").set_value("Upload your own").run()
    at.file_uploader(key=P + "model_file").set_value(("m.pkl", data, "application/octet-stream")).run()
    assert at.checkbox(key=P + "trust").label == "I trust this file"
    assert "Trusting it allows: `any code the pickle contains (pickle)`." in [c.value for c in at.caption]
    if trust:
        at.checkbox(key=P + "trust").check().run()
    at.button(key=P + "load_uploads").click().run()
    assert not at.exception
    if trust:
        assert not at.error and at.session_state["gw.model"].source_format == "pickle"
    else:
        assert [e.value for e in at.error] == [E.PICKLE_REFUSED.format(name="m.pkl", fmt="pickle")]
        assert "gw.model" not in at.session_state


def test_a_skops_file_with_a_stored_function_shows_what_trusting_it_allows(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    target = tmp_path / "written.txt"
    evil = Pipeline([("f", FunctionTransformer(np.savetxt, kw_args={"fname": str(target)})),
                     ("clf", LogisticRegression())])
    data = skops.io.dumps(evil)
    at = new_apptest("model_data.py")
    at.radio(key=P + "source").set_value("Upload your own").run()
    at.file_uploader(key=P + "model_file").set_value(("evil.skops", data, "application/zip")).run()
    assert at.checkbox(key=P + "trust").label == "I trust this file"
    assert "Trusting it allows: `the function numpy.savetxt`." in [c.value for c in at.caption]
    at.button(key=P + "load_uploads").click().run()
    assert not at.exception and "gw.model" not in at.session_state
    assert [e.value for e in at.error] == [E.SKOPS_FUNCTION.format(
        name="evil.skops", function="numpy.savetxt", where="the func of a FunctionTransformer")]
    assert not target.exists()


def test_duplicate_columns_are_read_and_noted_on_the_page():
    at = new_apptest("model_data.py")
    at.radio(key=P + "source").set_value("Upload your own").run()
    table = b"score,score,y,sex\n1,1,0,F\n2,2,1,M\n3,3,0,F\n"
    at.file_uploader(key=P + "table_file").set_value(("t.csv", table, "text/csv")).run()
    at.button(key=P + "load_uploads").click().run()
    assert not at.exception and not at.error
    assert at.session_state["gw.dataset"].notes == (E.NOTE_DUPLICATES_IDENTICAL.format(
        name="t.csv", count=2, column="score", copies="'score.1'"),)
    assert E.NOTE_DUPLICATES_IDENTICAL.format(name="t.csv", count=2, column="score", copies="'score.1'") in [
        c.value for c in at.caption]


def test_no_trust_checkbox_for_safe_formats():
    at = new_apptest("model_data.py")
    at.radio(key=P + "source").set_value("Upload your own").run()
    buffer = io.BytesIO(skops.io.dumps({"a": 1}))
    at.file_uploader(key=P + "model_file").set_value(("m.skops", buffer.getvalue(), "application/zip")).run()
    assert not any(c.key == P + "trust" for c in at.checkbox)


def test_upload_images_and_a_torchscript_model_with_preprocessing():
    folder = sample_dir() / "images"
    files = [(p.name, p.read_bytes(), "image/png") for p in sorted(folder.glob("*.png"))]
    files.append(("labels.csv", (folder / "labels.csv").read_bytes(), "text/csv"))
    model = (sample_dir() / "models" / "digits_cnn.pt").read_bytes()
    at = new_apptest("model_data.py")
    at.radio(key=P + "source").set_value("Upload your own").run()
    at.radio(key=P + "data_kind").set_value("Images").run()
    at.file_uploader(key=P + "model_file").set_value(("digits.pt", model, "application/octet-stream")).run()
    at.file_uploader(key=P + "image_files").set_value(files).run()
    at.button(key=P + "load_uploads").click().run()
    assert [e.value for e in at.error] == [md(E.NEEDS_PREPROCESS.format(name="digits.pt"))]
    at.checkbox(key=P + "set_preprocess").check().run()
    at.number_input(key=P + "size").set_value(32)
    at.text_input(key=P + "mean").set_value("0.5, 0.5, 0.5")
    at.text_input(key=P + "std").set_value("0.5, 0.5, 0.5").run()
    at.button(key=P + "load_uploads").click().run()
    assert not at.exception and not at.error
    images = at.session_state["gw.images"]
    assert len(images) == 20 and images.groups.columns.tolist() == ["watermark"]
    assert at.session_state["gw.model"].kind == "torchscript" and "Accuracy" in _metrics(at)


def test_image_class_names_are_a_field():
    from glasswing.ingest._labels import CLASS_NAMES_COUNT

    at = new_apptest("model_data.py")
    at.radio(key=P + "sample").set_value("Digits images, CNN").run()
    at.button(key=P + "use_samples").click().run()
    before = at.session_state["gw.model"]
    at.text_input(key=P + "class_names").input("a, b").run()
    assert [e.value for e in at.error] == [CLASS_NAMES_COUNT.format(n=10, k=2, names="a, b")]
    assert at.session_state["gw.model"] is before  # a bad entry changes nothing
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    at.text_input(key=P + "class_names").input(", ".join(names)).run()
    assert not at.exception  # the names no longer match the images' text labels: said in one sentence
    assert [e.value for e in at.error] == [md(E.IMAGE_LABELS_NOT_CLASSES.format(
        classes=", ".join(names), values="0, 1, 2, 3, 4, 5, 6, 7, 8, 9"))]
    named = at.session_state["gw.model"]
    assert named.classes_.tolist() == names and named.sha256 != before.sha256
    images = at.session_state["gw.images"]
    np.testing.assert_array_equal(named.predict_proba(images.images), before.predict_proba(images.images))


DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _digits_zip(*, named_labels: bool = False, drop_label: bool = False) -> bytes:
    """The sample's digit images in a zip with their labels.csv (labels as words, or a row missing)."""
    import zipfile

    folder = sample_dir() / "images"
    labels = pd.read_csv(folder / "labels.csv")
    if named_labels:
        labels["label"] = [DIGIT_NAMES[int(v)] for v in labels["label"]]
    if drop_label:
        labels = labels.iloc[1:]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.glob("*.png")):
            archive.writestr(path.name, path.read_bytes())
        archive.writestr("labels.csv", labels.to_csv(index=False))
    return buffer.getvalue()


def test_a_second_zip_beside_a_failed_one_is_one_sentence_then_loads_alone():
    at = new_apptest("model_data.py")
    at.radio(key=P + "source").set_value("Upload your own").run()
    at.radio(key=P + "data_kind").set_value("Images").run()
    bad, good = ("bad.zip", _digits_zip(drop_label=True), "application/zip"), \
        ("good.zip", _digits_zip(), "application/zip")
    at.file_uploader(key=P + "image_files").set_value([bad]).run()
    at.button(key=P + "load_uploads").click().run()
    assert [e.value for e in at.error] == [md(E.LABELS_MISSING.format(name="labels.csv", count=1,
                                                                      example="digit0_clean.png"))]
    at.file_uploader(key=P + "image_files").set_value([bad, good]).run()  # the first one stays listed
    at.button(key=P + "load_uploads").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [md(E.IMAGES_ZIP_NOT_ALONE.format(
        what="2 zips ('bad.zip', 'good.zip')"))]
    assert "gw.images" not in at.session_state  # nothing half-loaded
    at.file_uploader(key=P + "image_files").set_value([good]).run()
    at.button(key=P + "load_uploads").click().run()
    assert not at.exception and not at.error
    assert len(at.session_state["gw.images"]) == 20


def test_text_labels_with_a_safetensors_model_ask_for_class_names_at_upload():
    model = (sample_dir() / "models" / "digits_cnn.safetensors").read_bytes()
    at = new_apptest("model_data.py")
    at.radio(key=P + "source").set_value("Upload your own").run()
    at.radio(key=P + "data_kind").set_value("Images").run()
    at.file_uploader(key=P + "model_file").set_value(("digits.safetensors", model,
                                                      "application/octet-stream")).run()
    at.file_uploader(key=P + "image_files").set_value(
        [("words.zip", _digits_zip(named_labels=True), "application/zip")]).run()
    at.button(key=P + "load_uploads").click().run()
    assert [e.value for e in at.error] == [md(E.IMAGE_LABELS_NOT_CLASSES.format(
        classes="0, 1, 2, 3, 4, 5, 6, 7, 8, 9", values=", ".join(sorted(DIGIT_NAMES))))]
    assert "target column" not in at.error[0].value  # images have no target column to choose
    at.text_input(key=P + "upload_class_names").input(", ".join(DIGIT_NAMES)).run()
    at.button(key=P + "load_uploads").click().run()
    assert not at.exception and not at.error
    assert at.session_state["gw.model"].classes_.tolist() == DIGIT_NAMES
    images = at.session_state["gw.images"]
    predicted = at.session_state["gw.model"].predict(images.images)
    assert _metrics(at)["Accuracy"] == f"{accuracy_score(images.labels, predicted):.3f}"


def test_compas_sample_loads_logged_scores():
    at = new_apptest("model_data.py")
    at.radio(key=P + "sample").set_value("COMPAS risk scores (ProPublica)").run()
    at.button(key=P + "use_samples").click().run()
    assert not at.exception and not at.error
    data = at.session_state["gw.dataset"]
    assert (len(data), data.roles.target, data.roles.score) == (7214, "two_year_recid", "decile_score")
    assert at.session_state["gw.model"] is None
