"""Column roles: defaults, validation sentences, one-vs-rest binarisation, and model/data fit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from glasswing import ingest
from glasswing.ingest import ColumnRoles, check_model_fits, load_dataset, suggest_roles, validate_roles
from tests.ingest.conftest import FEATURES

FRAME = pd.DataFrame({
    "age": [31, 45, 52, 23, 38, 61],
    "sex": ["F", "M", "F", "M", "F", "M"],
    "grade": ["a", "b", "c", "a", "b", "c"],
    "y": [1, 0, 0, 1, 1, 0],
    "y_pred": [1, 0, 1, 1, 0, 0],
    "score": [0.9, 0.2, 0.6, 0.8, 0.4, 0.1],
    "country": ["NL"] * 6,
    "blank": [np.nan] * 6,
})


def _err(fn, *args, **kwargs) -> str:
    with pytest.raises(ingest.IngestError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_defaults_take_every_other_column_as_a_feature():
    data = load_dataset(FRAME, target="y", prediction="y_pred", score="score", sensitive="sex", name="t.csv")
    assert data.roles.features == ("age", "sex", "grade", "country", "blank")
    assert data.roles.sensitive == ("sex",)
    assert data.positive_label == 1
    assert data.y_true.tolist() == [1, 0, 0, 1, 1, 0]


def test_positive_label_given_as_text_matches_the_column_type():
    data = load_dataset(FRAME, target="y", positive_label="0", name="t.csv")
    assert data.roles.positive_label == 0 and isinstance(data.roles.positive_label, int)


def test_multiclass_target_is_binarised_one_vs_rest():
    data = load_dataset(FRAME, target="grade", prediction="sex", positive_label="b", features=["age"])
    assert data.frame["grade"].tolist() == [0, 1, 0, 0, 1, 0]  # hand-computed: grade == "b"
    assert data.roles.positive_label == 1
    assert FRAME["grade"].tolist() == ["a", "b", "c", "a", "b", "c"]  # the input is untouched


@pytest.mark.parametrize("kwargs, message", [
    ({"target": "yy"},
     "Column 'yy' is not in 't.csv'; it has: age, sex, grade, y, y_pred, score, country, blank."),
    ({"sensitive": ["sexx"]},
     "Column 'sexx' is not in 't.csv'; it has: age, sex, grade, y, y_pred, score, country, blank."),
    ({"target": "grade"},
     "The target column 'grade' has 3 distinct values (a, b, c), not two; choose the positive class "
     "(positive_label, --positive-label, or 'Positive class' in the dashboard) to compare it against all "
     "the others."),
    ({"target": "grade", "positive_label": "z"},
     "The positive class 'z' does not occur in the target column 'grade'; it holds: a, b, c."),
    ({"target": "blank"},
     "The target column 'blank' is empty (every value is missing); choose another column."),
    ({"target": "country"},
     "The target column 'country' has a single value (NL); an audit needs both outcomes, so choose another "
     "column or add rows of the other class."),
    ({"target": "y", "sensitive": ["country"]},
     "The sensitive column 'country' has a single value (NL), so there are no groups to compare; choose "
     "another column."),
    ({"sensitive": ["blank"]},
     "The sensitive column 'blank' is empty (every value is missing); choose another column."),
    ({"target": "y", "score": "sex"}, "The score column 'sex' holds text ('F'); scores must be numbers."),
    ({"target": "y", "prediction": "y"},
     "Column 'y' cannot be both the target and the prediction; choose a different column for one of them."),
    ({"target": "y", "features": ["age", "y"]},
     "Column 'y' cannot be both the target and a feature; choose a different column for one of them."),
    ({"target": "sex", "sensitive": ["sex"]},
     "Column 'sex' cannot be both the target and a sensitive column; choose a different column for one of "
     "them."),
])
def test_bad_roles(kwargs, message):
    assert _err(load_dataset, FRAME, name="t.csv", **kwargs) == message


def test_missing_target_values_are_counted():
    frame = FRAME.assign(y=[1, np.nan, 0, np.nan, 1, 0])
    assert _err(load_dataset, frame, target="y", name="t.csv") == (
        "The target column 'y' is missing in 2 of 6 rows; remove those rows or choose another column.")


def test_unknown_column_in_a_file_names_the_file():
    assert _err(load_dataset, b"age,income\n1,2\n", sensitive=["sexx"], name="upload.csv") == (
        "Column 'sexx' is not in 'upload.csv'; it has: age, income.")


def test_validate_roles_without_a_name():
    assert _err(validate_roles, FRAME, ColumnRoles(target="nope")) == (
        "Column 'nope' is not in the data; it has: age, sex, grade, y, y_pred, score, country, blank.")


def test_with_roles_validates_and_keeps_the_original():
    data = load_dataset(FRAME, target="y", sensitive="sex", name="t.csv")
    assert _err(data.with_roles, sensitive=["country"]) == (
        "The sensitive column 'country' has a single value (NL), so there are no groups to compare; choose "
        "another column.")
    changed = data.with_roles(sensitive=["sex", "grade"])
    assert changed.roles.sensitive == ("sex", "grade") and data.roles.sensitive == ("sex",)
    assert changed.sha256 == data.sha256


def test_suggest_roles_picks_usual_names_and_checks_values():
    frame = FRAME.rename(columns={"y": "label"})
    roles = suggest_roles(frame)
    assert (roles.target, roles.prediction, roles.score) == ("label", "y_pred", "score")
    assert roles.sensitive == ("sex",)
    assert roles.features == ("age", "sex", "grade", "country", "blank")
    validate_roles(frame, roles)  # the suggestion is always valid
    # a usual name with more than two values is not suggested as the target
    assert suggest_roles(FRAME.rename(columns={"grade": "target", "y": "other"})).target is None


def test_suggested_features_follow_the_model(pipeline, credit_frame):
    model = ingest.Model.from_estimator(pipeline, name="m")
    roles = suggest_roles(credit_frame, model)
    assert roles.features == tuple(FEATURES) and roles.target is None and roles.sensitive == ("sex",)


# ------------------------------------------------------------------ model <-> data
def test_model_fits_its_data(pipeline, credit_frame):
    model = ingest.Model.from_estimator(pipeline, name="m.skops")
    check_model_fits(model, load_dataset(credit_frame, target="approved", sensitive="sex", name="d.csv"))


def test_model_features_missing_are_named(pipeline, credit_frame):
    model = ingest.Model.from_estimator(pipeline, name="m.skops")
    data = load_dataset(credit_frame.drop(columns=["income", "purpose"]), target="approved", name="d.csv")
    assert _err(check_model_fits, model, data) == (
        "The model expects columns that 'd.csv' does not have: income, purpose (names are matched as given, "
        "then with '-', spaces and dots read as '_'); it has: age, sex, approved.")


def test_classes_must_match_the_target(pipeline, credit_frame):
    model = ingest.Model.from_estimator(pipeline, name="m.skops")
    frame = credit_frame.assign(approved=credit_frame["approved"].map({0: "no", 1: "yes"}))
    assert _err(check_model_fits, model, load_dataset(frame, target="approved", name="d.csv")) == (
        "The model predicts the classes 0, 1, but the target column 'approved' holds no, yes; choose the "
        "right target column or model.")


def test_image_model_cannot_score_a_table(tiny_cnn, credit_frame):
    model = ingest.Model.from_torch(tiny_cnn, preprocess=ingest.ImagePreprocess(size=(16, 16)), name="cnn.pt")
    assert _err(check_model_fits, model, load_dataset(credit_frame, name="d.csv")) == (
        "'cnn.pt' is an image model, so it cannot score the table 'd.csv'; load images instead.")


def test_tabular_model_cannot_score_images(pipeline):
    model = ingest.Model.from_estimator(pipeline, name="m.skops")
    images = ingest.ImageSet(images=[np.zeros((4, 4, 3), np.uint8)], names=["a.png"])
    assert _err(check_model_fits, model, images) == (
        "'m.skops' is a tabular model, so it cannot score images; load a table instead.")


def test_nameless_model_needs_the_right_number_of_features(onnx_matrix_bytes, credit_frame):
    model = ingest.load_model(onnx_matrix_bytes, name="m.onnx")
    good = load_dataset(credit_frame, target="approved", features=["income", "age"], name="d.csv")
    check_model_fits(model, good)
    bad = dataclasses.replace(good, roles=dataclasses.replace(good.roles, features=("income",)))
    assert _err(check_model_fits, model, bad) == (
        "'m.onnx' takes one numeric matrix of 2 columns, but 'd.csv' has 1 numeric columns (income); choose "
        "the model's input columns, in training order (--features on the command line, 'Features (model "
        "inputs)' in the dashboard).")
