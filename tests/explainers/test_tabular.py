"""Tabular SHAP, LIME and permutation importance, each checked against an independent reference.

References: a hand-written linear SHAP formula, shap's own TreeExplainer on the pipeline's final model,
scikit-learn's permutation_importance, and the model's own outputs (additivity). The German Credit
pipelines are built here the way ``sample_data/build.py`` builds the shipped ones.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler

from glasswing import explainers
from glasswing._errors import GlasswingError
from glasswing.explainers import ExplainerError, _codec, _shap_choice, explain
from glasswing.ingest import Model
from glasswing.ingest._errors import MODEL_FEATURES_MISSING

GERMAN = Path(__file__).resolve().parents[2] / "sample_data" / "german.csv"
CATEGORICAL = ["sex", "job", "housing", "saving_accounts", "checking_account", "purpose"]
NUMERIC = ["credit_amount", "duration", "age"]
FEATURES = ["sex", "job", "housing", "saving_accounts", "checking_account", "credit_amount", "duration",
            "purpose", "age"]


# --- shared models (imported by the dashboard and CLI tests too) ----------------------------------------
@functools.cache
def german_frame() -> pd.DataFrame:
    return pd.read_csv(GERMAN)


def german_pipeline(classifier) -> Pipeline:
    pre = ColumnTransformer(
        [("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
         ("numeric", StandardScaler(), NUMERIC)], verbose_feature_names_out=False)
    return Pipeline([("preprocess", pre), ("model", classifier)])


@functools.cache
def german_model(which: str = "gbm") -> Model:
    """The sample's pipeline fitted on the first 700 rows of german.csv ("gbm", "logreg" or "forest")."""
    clf = {"gbm": GradientBoostingClassifier(n_estimators=100, random_state=0),
           "logreg": LogisticRegression(max_iter=1000),
           "forest": RandomForestClassifier(n_estimators=30, max_depth=5, random_state=0)}[which]
    frame = german_frame()
    pipe = german_pipeline(clf).fit(frame[FEATURES].iloc[:700], frame["risk"].iloc[:700])
    return Model.from_estimator(pipe, name=f"german_{which}", sha256=f"test-{which}")


@functools.cache
def german_onnx() -> Model:
    """The logistic-regression pipeline converted to ONNX (one input per column, string categoricals)."""
    import onnxruntime as ort
    from skl2onnx import to_onnx

    pipe = german_model("logreg").estimator
    X = german_frame()[FEATURES]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skl2onnx's own deprecation chatter at conversion time
        onx = to_onnx(pipe, X.iloc[:1], options={id(pipe): {"zipmap": False}}, target_opset=17)
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return Model(name="german_logreg.onnx", kind="onnx", modality="tabular", classes_=pipe.classes_,
                 feature_names=tuple(FEATURES), sha256="test-onnx", onnx_session=sess,
                 output="probabilities", source_format="onnx")


def rows(n: int = 5, start: int = 700) -> pd.DataFrame:
    return german_frame()[FEATURES].iloc[start:start + n]


def background(n: int = 100) -> pd.DataFrame:
    return german_frame()[FEATURES].iloc[:n]


def feature_groups(pipe: Pipeline) -> np.ndarray:
    """Written out independently of the code under test: one-hot columns per category, then the numerics."""
    enc = pipe[0].named_transformers_["categorical"]
    return np.array([CATEGORICAL[i] for i, cats in enumerate(enc.categories_) for _ in cats] + NUMERIC)


def grouped(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    return np.column_stack([values[:, groups == f].sum(axis=1) for f in FEATURES])


def log_odds(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


# --- SHAP against independent references ----------------------------------------------------------------
def test_linear_shap_equals_coef_times_distance_from_background_mean():
    frame = german_frame()
    clf = LogisticRegression(max_iter=1000).fit(frame[NUMERIC].iloc[:700], frame["risk"].iloc[:700])
    model = Model.from_estimator(clf)
    X, bg = frame[NUMERIC].iloc[700:710], frame[NUMERIC].iloc[:50]
    out = explain(model, X, method="shap", target=1, background=bg, background_size=50)
    expected = clf.coef_[0] * (X.to_numpy() - bg.to_numpy().mean(axis=0))
    np.testing.assert_allclose([e.values for e in out], expected, rtol=1e-9, atol=1e-12)
    base = clf.intercept_[0] + clf.coef_[0] @ bg.to_numpy().mean(axis=0)
    np.testing.assert_allclose([e.base_value for e in out], base, rtol=1e-9)
    np.testing.assert_allclose([e.prediction for e in out], clf.decision_function(X), rtol=1e-9)
    assert {e.algorithm for e in out} == {"LinearExplainer"} and out[0].output == "log-odds"
    # The other class's log-odds are the negative.
    other = explain(model, X, method="shap", target=0, background=bg, background_size=50)
    np.testing.assert_allclose([e.values for e in other], -expected, rtol=1e-9, atol=1e-12)


def test_linear_shap_through_one_hot_pipeline_sums_columns_into_features():
    model = german_model("logreg")
    pipe = model.estimator
    X, bg = rows(8), background(60)
    Xt, bgt = pipe[0].transform(X), pipe[0].transform(bg)
    per_column = pipe[-1].coef_[0] * (Xt - bgt.mean(axis=0))
    out = explain(model, X, method="shap", target=1, background=bg, background_size=60)
    np.testing.assert_allclose([e.values for e in out], grouped(per_column, feature_groups(pipe)), atol=1e-10)
    assert out[0].feature_names == tuple(FEATURES)


def test_tree_shap_equals_shap_tree_explainer_on_the_final_model():
    from glasswing.explainers._shap_tabular import shap_module

    shap = shap_module()  # imported with shap's import-time warning silenced
    model = german_model("gbm")
    pipe = model.estimator
    X = rows(20)
    ref = shap.TreeExplainer(pipe[-1])
    raw = ref.shap_values(pipe[0].transform(X))
    out = explain(model, X, method="shap", target=1)
    np.testing.assert_allclose([e.values for e in out], grouped(raw, feature_groups(pipe)), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose([e.base_value for e in out], float(np.ravel(ref.expected_value)[0]))
    assert out[0].algorithm == "TreeExplainer" and out[0].output == "log-odds"
    assert out[0].params["feature_perturbation"] == "tree_path_dependent"


def test_tree_shap_on_a_random_forest_is_in_probability_space():
    model = german_model("forest")
    X = rows(6)
    out = explain(model, X, method="shap")
    proba = model.estimator.predict_proba(X)
    pred = proba.argmax(axis=1)
    assert [e.target for e in out] == model.classes_[pred].tolist()
    np.testing.assert_allclose([e.prediction for e in out], proba[np.arange(6), pred], rtol=1e-12)
    np.testing.assert_allclose([e.base_value + e.values.sum() for e in out], proba[np.arange(6), pred],
                               atol=1e-9)
    assert out[0].output == "probability"


ADDITIVITY = [("gbm", "tree"), ("gbm", "permutation"), ("logreg", "linear"), ("logreg", "kernel"),
              ("forest", "tree")]


@pytest.mark.parametrize(("which", "algorithm"), ADDITIVITY)
def test_additivity_and_prediction_is_the_models_own_output(which, algorithm):
    model = german_model(which)
    X = rows(2)
    out = explain(model, X, method="shap", algorithm=algorithm, background=background(), background_size=20)
    proba = model.estimator.predict_proba(X)
    for e, p in zip(out, proba, strict=True):
        t = list(model.classes_).index(e.target)
        own = p[t] if e.output == "probability" else log_odds(p[t])
        assert e.prediction == pytest.approx(own, rel=1e-7)
        assert e.base_value + e.values.sum() == pytest.approx(e.prediction, rel=1e-7, abs=1e-9)


def test_onnx_model_gets_permutation_shap_equal_to_linear_shap_of_the_same_model():
    """Logistic regression is additive in log-odds, so permutation SHAP on the ONNX copy is exact."""
    onnx_model = german_onnx()
    X, bg = rows(3), background(30)
    algorithm, reason = explainers.shap_algorithm(onnx_model)
    assert algorithm == "permutation" and "only the model's predictions" in reason
    out = explain(onnx_model, X, method="shap", background=bg, background_size=30)
    ref = explain(german_model("logreg"), X, method="shap", background=bg, background_size=30)
    assert [e.target for e in out] == [e.target for e in ref]
    np.testing.assert_allclose([e.values for e in out], [e.values for e in ref], atol=2e-5)
    for e in out:
        assert e.algorithm == "PermutationExplainer"
        assert e.base_value + e.values.sum() == pytest.approx(e.prediction, abs=1e-6)


def test_permutation_shap_is_seeded_per_row():
    model = german_model("gbm")
    X, bg = rows(2), background(20)
    both = explain(model, X, method="shap", algorithm="permutation", background=bg, background_size=20)
    second = explain(model, X.iloc[1:], method="shap", algorithm="permutation", background=bg,
                     background_size=20)
    np.testing.assert_array_equal(both[1].values, second[0].values)


# --- choosing the algorithm ------------------------------------------------------------------------------
def test_auto_walks_tree_then_linear_then_permutation_and_says_why():
    assert explainers.shap_algorithm(german_model("gbm")) == ("tree", _shap_choice._WHY["tree"].format(
        name="GradientBoostingClassifier", output="log-odds"))
    assert explainers.shap_algorithm(german_model("logreg"))[0] == "linear"
    assert explainers.shap_algorithm(german_onnx())[0] == "permutation"


def test_forcing_an_algorithm_that_cannot_apply_is_one_sentence():
    with pytest.raises(ExplainerError) as err:
        explain(german_model("logreg"), rows(1), method="shap", algorithm="tree")
    assert str(err.value) == ("SHAP's TreeExplainer needs a scikit-learn tree ensemble; this is "
                              "LogisticRegression.")
    with pytest.raises(ExplainerError) as err:
        explainers.shap_algorithm(german_onnx(), "linear")
    assert str(err.value) == "SHAP's LinearExplainer needs a logistic regression; this is an ONNX model."
    with pytest.raises(ExplainerError) as err:
        explain(german_model("gbm"), rows(1), method="shap", algorithm="exact")
    assert str(err.value) == ("SHAP's algorithm must be one of auto, tree, linear, permutation, kernel; "
                              "got 'exact'.")


def test_multiclass_gradient_boosting_falls_back_with_the_reason():
    frame = german_frame()
    y = pd.cut(frame["age"], [0, 30, 45, 200], labels=["young", "middle", "older"]).astype(str)
    pipe = german_pipeline(GradientBoostingClassifier(n_estimators=5, random_state=0)).fit(frame[FEATURES], y)
    model = Model.from_estimator(pipe)
    assert explainers.shap_algorithm(model)[0] == "permutation"
    with pytest.raises(ExplainerError) as err:
        explainers.shap_algorithm(model, "tree")
    assert str(err.value) == _shap_choice.TREE_MULTICLASS_GB.format(n=3)


def test_preprocessing_that_mixes_columns_cannot_be_mapped_back():
    frame = german_frame()
    pipe = Pipeline([("poly", PolynomialFeatures(2)), ("model", GradientBoostingClassifier(n_estimators=5))])
    model = Model.from_estimator(pipe.fit(frame[NUMERIC], frame["risk"]))
    with pytest.raises(ExplainerError) as err:
        explainers.shap_algorithm(model, "tree")
    assert str(err.value) == ("TreeExplainer explains the preprocessed columns, and this pipeline's "
                              "PolynomialFeatures step cannot be mapped back to the original features.")
    assert explainers.shap_algorithm(model)[0] == "permutation"


def test_nested_pipeline_with_dropped_category_and_passthrough_maps_back():
    frame = german_frame()
    cat = Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                    ("onehot", OneHotEncoder(drop="first", sparse_output=False))])
    pre = ColumnTransformer([("cat", cat, ["housing", "sex"])], remainder="passthrough")
    X = frame[["age", "housing", "duration", "sex"]]
    pipe = Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=1000))]).fit(X, frame["risk"])
    tm = explainers.tabular_model(Model.from_estimator(pipe))
    # housing: free/own/rent minus the dropped first -> 2 columns; sex: 1 column; then age, duration.
    assert [tm.features[i] for i in tm.source] == ["housing", "housing", "sex", "age", "duration"]
    assert tm.categories == {"housing": ("free", "own", "rent"), "sex": ("female", "male")}


# --- LIME -----------------------------------------------------------------------------------------------
def test_lime_is_reproducible_with_a_seed_and_per_row():
    model, X = german_model("gbm"), rows(2)
    kw = {"background": background(300), "num_samples": 500}
    a = explain(model, X, method="lime", seed=3, **kw)
    b = explain(model, X, method="lime", seed=3, **kw)
    c = explain(model, X, method="lime", seed=4, **kw)
    alone = explain(model, X.iloc[1:], method="lime", seed=3, **kw)
    np.testing.assert_array_equal([e.values for e in a], [e.values for e in b])
    assert not np.array_equal(a[0].values, c[0].values)
    np.testing.assert_array_equal(a[1].values, alone[0].values)
    assert a[0].base_value is None and a[0].output == "probability"
    assert a[0].prediction == pytest.approx(model.estimator.predict_proba(X)[0].max())


class _Recorder:
    """A scikit-learn-like classifier that remembers every table it is asked to predict."""

    def __init__(self, pipe):
        self.pipe, self.classes_, self.feature_names_in_ = pipe, pipe.classes_, pipe.feature_names_in_
        self.seen = []

    def predict_proba(self, X):
        self.seen.append(X.copy())
        return self.pipe.predict_proba(X)


def test_lime_samples_categories_as_categories():
    recorder = _Recorder(german_model("gbm").estimator)
    model = Model.from_estimator(recorder)
    out = explain(model, rows(1), method="lime", background=background(300), num_samples=400)
    perturbed = pd.concat(recorder.seen[1:])  # [0] is the explained row itself
    known = background(300)
    for col in ("sex", "housing", "purpose", "checking_account"):
        assert set(perturbed[col]) <= set(known[col]), col
    assert len(set(perturbed["housing"])) > 1  # really perturbed
    assert out[0].extras["rules"]["housing"] == f"housing={rows(1)['housing'].iloc[0]}"


def test_lime_knows_integer_coded_categories_from_the_encoder():
    out = explain(german_model("gbm"), rows(1), method="lime", background=background(300), num_samples=300)
    job = rows(1)["job"].iloc[0]
    assert out[0].extras["rules"]["job"] == f"job={job}"  # a category, not a range such as "job <= 2.00"


# --- permutation importance --------------------------------------------------------------------------------
def test_permutation_importance_equals_scikit_learn():
    model = german_model("gbm")
    X, y = rows(200), german_frame()["risk"].iloc[700:900]
    ref = permutation_importance(model.estimator, X, y, n_repeats=3, random_state=7, scoring="accuracy")
    (out,) = explain(model, X, method="permutation_importance", y_true=y, n_repeats=3, seed=7)
    np.testing.assert_allclose(out.values, ref.importances_mean)
    np.testing.assert_allclose(out.extras["std"], ref.importances_std)
    assert out.target is None and out.extras["n_rows"] == 200
    assert out.extras["baseline_score"] == pytest.approx(model.estimator.score(X, y))


def test_permutation_importance_without_labels_uses_the_models_predictions():
    model = german_model("logreg")
    X = rows(100)
    (out,) = explain(model, X, method="permutation_importance", n_repeats=2, seed=1)
    ref = permutation_importance(model.estimator, X, model.estimator.predict(X), n_repeats=2, random_state=1)
    np.testing.assert_allclose(out.values, ref.importances_mean)
    assert out.extras["baseline_score"] == 1.0


# --- inputs and sentences ---------------------------------------------------------------------------------
def test_unseen_category_is_refused_in_one_sentence():
    edited = rows(1).assign(housing="castle")
    with pytest.raises(ExplainerError) as err:
        explainers.check_known_values(german_model("gbm"), edited)
    assert str(err.value) == ("'castle' is not a value of housing seen in training; known values: free, own, "
                              "rent.")
    explainers.check_known_values(german_model("gbm"), rows(3))  # known values pass


def test_unseen_category_of_a_black_box_is_judged_by_the_reference_data():
    with pytest.raises(ExplainerError) as err:
        explainers.check_known_values(german_onnx(), rows(1).assign(sex="other"), reference=background())
    assert str(err.value) == "'other' is not a value of sex seen in training; known values: female, male."


def test_row_specs():
    assert explainers.rows_from_spec("0:3,7", 10) == [0, 1, 2, 7]
    assert explainers.rows_from_spec("8:", 10) == [8, 9]
    assert explainers.rows_from_spec(4, 10) == [4]
    with pytest.raises(ExplainerError) as err:
        explainers.rows_from_spec("12", 10)
    assert str(err.value) == "Row 12 is out of range; the data has 10 rows (0 to 9)."
    with pytest.raises(ExplainerError) as err:
        explainers.rows_from_spec("first", 10)
    assert str(err.value) == ("'first' is not a row selection; use an index (7), a range (0:100) or a list "
                              "(3,7,9).")


def test_unknown_target_and_missing_columns_are_sentences():
    with pytest.raises(ExplainerError) as err:
        explain(german_model("gbm"), rows(1), method="shap", target="maybe")
    assert str(err.value) == "Class 'maybe' is not one of the model's classes: 0, 1."
    assert explain(german_model("gbm"), rows(1), method="shap", target="1")[0].target == 1
    with pytest.raises(GlasswingError) as err:
        explain(german_model("gbm"), rows(1).drop(columns=["age"]), method="lime")
    assert str(err.value) == MODEL_FEATURES_MISSING.format(
        data="the table", missing="age", available=", ".join(c for c in FEATURES if c != "age"))


def test_onnx_inputs_renamed_by_skl2onnx_are_read_from_the_columns_as_the_data_spells_them():
    """skl2onnx names the input of a column 'credit-amount' credit_amount; SHAP on the graph equals SHAP on
    the pipeline it came from, reported under the data's names."""
    import onnxruntime as ort
    from skl2onnx import to_onnx

    spelt = {"credit_amount": "credit-amount", "saving_accounts": "saving accounts"}
    german = german_frame()
    data = german[FEATURES].rename(columns=spelt)
    numeric = ["credit-amount", "duration", "age"]
    text = [c for c in data.columns if c not in numeric]
    data[text] = data[text].astype(str)
    pre = ColumnTransformer([("num", StandardScaler(), numeric),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), text)])
    pipe = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=1000))]).fit(data, german["risk"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skl2onnx's own deprecation chatter at conversion time
        onx = to_onnx(pipe, data.iloc[:1], options={id(pipe): {"zipmap": False}}, target_opset=17)
    assert {"credit_amount", "saving_accounts"} <= {i.name for i in onx.graph.input}
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    onnx_model = Model(name="renamed.onnx", kind="onnx", modality="tabular", classes_=pipe.classes_,
                       feature_names=tuple(i.name for i in sess.get_inputs()), sha256="renamed",
                       onnx_session=sess, output="probabilities", source_format="onnx")
    got = explain(onnx_model, data.iloc[700:703], method="shap", algorithm="permutation",
                  background=data.iloc[:50])
    want = explain(Model.from_estimator(pipe), data.iloc[700:703], method="shap", algorithm="permutation",
                   background=data.iloc[:50])
    assert got[0].feature_names == tuple(data.columns)
    np.testing.assert_allclose([e.values for e in got], [e.values for e in want], atol=1e-4)
    assert explainers.known_categories(onnx_model, data)["saving accounts"]  # text inputs keep their values


# --- agreement and the attribution table ------------------------------------------------------------------
NAMES = ("a", "b", "c", "d", "e")


def _exp(method, values):
    return explainers.Explanation(method, "", 1, np.asarray(values, dtype=float), NAMES)


def test_agreement_counts_shared_top_features_and_rank_correlation():
    shap_e = _exp("shap", [5, -4, 3, 0.5, 0.1])
    same = explainers.agreement(shap_e, _exp("lime", [0.5, 0.4, -0.3, 0.0, 0.0]))
    assert same.shared == ("a", "b", "c") and same.same_order and same.rank_correlation == pytest.approx(1.0)
    assert same.sentence == ("SHAP and LIME agree on the top 3 reasons, in the same order "
                             "(rank correlation 1.00).")
    # Top 3 of LIME: d, a, c; union {a, b, c, d}; |shap| ranks (4,3,2,1), |lime| ranks (3,1,2,4):
    # Spearman = 1 - 6 * (1 + 4 + 0 + 9) / (4 * 15) = -0.4.
    partial = explainers.agreement(shap_e, _exp("lime", [0.3, 0.0, 0.2, -0.9, 0.0]))
    assert partial.shared == ("a", "c") and partial.rank_correlation == pytest.approx(-0.4)
    assert partial.sentence == "SHAP and LIME share 2 of their top 3 reasons (a, c); rank correlation -0.40."
    none = explainers.agreement(shap_e, _exp("lime", [0, 0, 0, 0.2, 0.3]), k=2)
    assert none.sentence.startswith("SHAP and LIME disagree: none of their top 2 reasons are the same")


def test_attribution_frame_has_a_row_per_explanation():
    out = explain(german_model("gbm"), rows(3), method="shap")
    frame = explainers.attribution_frame(out, index=[700, 701, 702])
    assert list(frame.columns) == ["target", *FEATURES, "base_value", "model_output"]
    np.testing.assert_allclose(frame[FEATURES].sum(axis=1) + frame["base_value"], frame["model_output"])
    assert frame.index.tolist() == [700, 701, 702] and frame.attrs["output"] == "log-odds"


def test_many_builds_what_the_constructor_builds():
    import dataclasses

    shared = {"method": "shap", "algorithm": "TreeExplainer", "feature_names": ("a", "b"),
              "params": {"seed": 0}, "output": "log-odds"}
    rows_ = [{"target": 1, "values": np.array([0.5, -0.25]), "base_value": 0.1, "prediction": 0.35},
             {"target": 0, "values": np.array([1.0, 0.0]), "base_value": -0.1, "prediction": 0.9}]
    fast = explainers.Explanation.many(rows_, **shared)
    for f, row in zip(fast, rows_, strict=True):
        slow = explainers.Explanation(**shared, **row)
        for field in dataclasses.fields(slow):
            assert np.array_equal(getattr(f, field.name), getattr(slow, field.name)), field.name
    assert fast[0].params is not fast[1].params  # each gets its own copy
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast[0].target = 2
    with pytest.raises(TypeError, match="missing target"):
        explainers.Explanation.many([{"values": np.zeros(2)}], **shared)


def test_codec_round_trips_categories_including_missing_values():
    frame = pd.DataFrame({"housing": ["own", None, "rent", "own"], "job": [2, 1, 2, 3],
                          "age": [30.0, 41.0, 22.0, 35.0]})
    codec = _codec.Codec(frame.columns, [frame], {"job": (0, 1, 2, 3)})
    Z = codec.encode(frame)
    assert Z[:, 0].tolist() == [0, 2, 1, 0]  # own, (missing), rent: the missing value gets the last code
    assert Z[:, 1].tolist() == [2, 1, 2, 3]  # job's codes are its positions among the encoder's categories
    back = codec.decode(Z)
    assert back["housing"].tolist() == ["own", None, "rent", "own"]
    assert back["job"].tolist() == [2, 1, 2, 3] and back["job"].dtype == frame["job"].dtype
    np.testing.assert_array_equal(back["age"], frame["age"])
