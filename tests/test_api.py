"""The Python API (``glasswing.audit``, ...): light to import, the command line's numbers and sentences, and
results checked against fairlearn, AIF360's reweighing formula, SHAP's additivity and hashlib."""

from __future__ import annotations

import doctest
import hashlib
import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

import glasswing
from glasswing import _api
from glasswing._paths import sample_dir
from glasswing.cli import main
from glasswing.ingest import samples

GERMAN_TEST = sample_dir() / "german_test_predictions.csv"
GBM = sample_dir() / "models" / "german_gbm.skops"


def test_import_glasswing_is_light_and_the_api_loads_on_first_use():
    code = ("import sys, glasswing; heavy = [m for m in ('pandas', 'numpy', 'glasswing._api', 'sklearn') "
            "if m in sys.modules]; assert not heavy, heavy; f = glasswing.audit; "
            "assert f.__module__ == 'glasswing._api'; assert 'pandas' not in sys.modules; "
            "assert isinstance(glasswing.GlasswingError('x'), ValueError)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_integrations_import_without_their_tools():
    code = ("import sys, glasswing.integrations, glasswing.integrations.mlflow; "
            "assert 'mlflow' not in sys.modules and 'pandas' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_help_does_not_import_the_api_or_pandas():
    code = ("import sys; from glasswing.cli import build_parser; build_parser().format_help(); "
            "heavy = [m for m in ('pandas', 'glasswing._api') if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names():
    assert set(glasswing.__all__) == {"GlasswingError", "__version__", "audit", "error_analysis", "explain",
                                      "load_data", "load_images", "load_model", "mitigate", "report"}
    assert "audit" in dir(glasswing)
    with pytest.raises(AttributeError):
        glasswing.no_such_function  # noqa: B018


def test_docstring_examples_run():
    """Every example in the API's docstrings runs and prints what it says (numpydoc examples as doctests)."""
    result = doctest.testmod(_api, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 15


@pytest.fixture(scope="module")
def german():
    frame = pd.read_csv(GERMAN_TEST)
    return frame


def test_arrays_as_with_fairlearn(german):
    y, p, sex = german["risk"], german["gbm_pred"], german["sex"]
    gm = glasswing.audit(y_true=y, y_pred=p, sensitive_features=sex)
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
                              "false_positive_rate": false_positive_rate},
                     y_true=y, y_pred=p, sensitive_features=sex)
    for metric in mf.by_group.columns:
        assert gm.by_group[metric].tolist() == pytest.approx(mf.by_group[metric].tolist(), abs=1e-12)
    head = gm.headline().summary  # both groups have more than 30 rows: the headline is fairlearn's value
    assert head["demographic_parity_ratio"] == pytest.approx(demographic_parity_ratio(
        y, p, sensitive_features=sex), abs=1e-12)
    assert head["equalized_odds_difference"] == pytest.approx(equalized_odds_difference(
        y, p, sensitive_features=sex), abs=1e-12)


def test_a_file_a_frame_and_a_dataset_give_the_command_lines_numbers(german, tmp_path, capsys):
    out = tmp_path / "cli.json"
    assert main(["audit", "--data", str(GERMAN_TEST), "--prediction", "gbm_pred", "--target", "risk",
                 "--sensitive", "sex", "age", "--bins", "age=25,45", "--json", str(out)]) == 0
    cli = json.loads(out.read_text())
    kwargs = {"y_true": "risk", "y_pred": "gbm_pred", "sensitive_features": ["sex", "age"],
              "bins": {"age": (25, 45)}}
    from_file = glasswing.audit(GERMAN_TEST, **kwargs).to_dict()
    from_frame = glasswing.audit(german, **kwargs).to_dict()
    from_dataset = glasswing.audit(glasswing.load_data(GERMAN_TEST, y_true="risk", y_pred="gbm_pred",
                                                       sensitive_features=["sex", "age"]),
                                   bins=["age=25,45"]).to_dict()
    for result in (from_file, from_frame, from_dataset):
        assert result["summary"] == cli["summary"] and result["headline"] == cli["headline"]
        assert result["by_group"] == cli["by_group"]
    # fairlearn on the same bands (age < 25, 25-44, 45 and over), over every group
    band = pd.cut(german["age"], [-np.inf, 25, 45, np.inf], right=False).astype(str)
    sf = pd.DataFrame({"sex": german["sex"], "age": band})
    assert cli["summary"]["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(german["risk"], german["gbm_pred"], sensitive_features=sf), abs=1e-12)


def test_a_model_file_predicts_as_scikit_learn_does(german):
    gm = glasswing.audit(GERMAN_TEST, GBM, y_true="risk", sensitive_features="sex")
    model = samples.german_model("gbm")
    y_pred = model.estimator.predict(german[list(samples.GERMAN_FEATURES)])
    mf = MetricFrame(metrics=selection_rate, y_true=german["risk"], y_pred=y_pred,
                     sensitive_features=german["sex"])
    assert gm.by_group["selection_rate"].tolist() == pytest.approx(mf.by_group.tolist(), abs=1e-12)
    assert gm.decision_rule()["source"] == "model german_gbm.skops predictions"


def test_a_positive_label_given_as_text_is_the_models_class(capsys):
    """``--positive-label 1`` (text on a command line) names the integer class 1 of a model."""
    as_text = glasswing.audit(GERMAN_TEST, GBM, y_true="risk", sensitive_features="sex", pos_label="1")
    as_int = glasswing.audit(GERMAN_TEST, GBM, y_true="risk", sensitive_features="sex", pos_label=1)
    assert as_text.to_dict()["summary"] == as_int.to_dict()["summary"] and as_text.pos_label == 1
    assert main(["audit", "--data", str(GERMAN_TEST), "--model", str(GBM), "--target", "risk",
                 "--positive-label", "1", "--sensitive", "sex"]) == 0
    assert "positive label 1)" in capsys.readouterr().out


def test_a_score_at_a_threshold_is_audited_as_propublica_did():
    """ProPublica (2016): FPR 44.85% for African-American, 23.45% for Caucasian defendants."""
    gm = glasswing.audit(samples.compas_dataset(), threshold=5, sensitive_features="race",
                         selected=samples.COMPAS_SELECTED)
    fpr = gm.by_group["false_positive_rate"]
    assert round(fpr["African-American"], 4) == 0.4485 and round(fpr["Caucasian"], 4) == 0.2345
    assert "Native American" in gm.headline().left_out["label"].tolist()  # 18 rows: beside the headline
    assert gm.decision_rule()["rule"] == "decile_score >= 5 is predicted 1"


def test_parquet_goes_through_duckdb_with_the_same_numbers(german, tmp_path):
    german.to_parquet(tmp_path / "german.parquet")
    kwargs = {"y_true": "risk", "y_pred": "gbm_pred", "sensitive_features": "sex"}
    a = glasswing.audit(tmp_path / "german.parquet", **kwargs).to_dict()
    b = glasswing.audit(german, **kwargs).to_dict()
    assert a["summary"] == b["summary"] and a["by_group"] == b["by_group"]


def test_explain_rows_background_and_additivity():
    model, data = samples.german_model("gbm"), samples.german_dataset("test")
    batch = glasswing.explain(model, data, rows="3,7", method="shap")
    assert isinstance(batch, list) and len(batch) == 2
    frame = batch.frame(index=[3, 7])
    assert frame.index.tolist() == [3, 7] and list(frame.columns[1:-2]) == list(samples.GERMAN_FEATURES)
    probability = model.predict_proba(data.frame.iloc[[3, 7]])
    for e, p in zip(batch, probability, strict=True):
        assert e.base_value + e.values.sum() == pytest.approx(e.prediction, abs=1e-9)  # SHAP's additivity
        assert e.output == "log-odds"
        classes = list(model.classes_)
        assert e.prediction == pytest.approx(np.log(p[classes.index(e.target)] / (1 - p[classes.index(
            e.target)])), abs=1e-6)


def test_explain_an_image_from_a_path_and_from_an_image_set():
    model = samples.digits_model()
    path = sample_dir() / "images" / "digit9_watermark.png"
    (from_path,) = glasswing.explain(model, path, method="gradcam", target="9")
    (from_set,) = glasswing.explain(model, glasswing.load_images(sample_dir() / "images"),
                                    rows=[19], method="gradcam", target="9")
    assert from_path.values.shape == (128, 128)
    np.testing.assert_allclose(from_path.values, from_set.values)


def test_mitigate_splits_the_data_and_reweighs_as_kamiran_and_calders(tmp_path):
    model, data = samples.german_model("logreg"), samples.german_dataset("all")
    result = glasswing.mitigate(model, data, method="reweighing", test_size=0.3, seed=1)
    assert result.params["n_train"] == 700 and result.params["n_test"] == 300
    # AIF360's formula by hand on the same training rows (scikit-learn's split): w = n_y n_g / (n n_gy)
    from sklearn.model_selection import train_test_split

    tr, _ = train_test_split(data.frame, test_size=0.3, random_state=1, stratify=data.frame["risk"])
    tr = tr.sort_index()
    n = len(tr)

    def weight(g, y):
        n_y, n_g = (tr["risk"] == y).sum(), (tr["sex"] == g).sum()
        return n_y * n_g / (n * ((tr["risk"] == y) & (tr["sex"] == g)).sum())

    expected = [weight(g, y) for g, y in zip(tr["sex"], tr["risk"], strict=True)]
    assert result.weights.tolist() == pytest.approx(expected, rel=1e-12)


def test_report_renders_three_ways_with_the_files_fingerprints(tmp_path):
    rep = glasswing.report(GERMAN_TEST, GBM, y_true="risk", sensitive_features="sex", explain="shap",
                           rows=[0], title="German credit GBM", notes="Checked <b>twice</b>",
                           sign_off={"reviewer": "Ada"})
    data_sha = hashlib.sha256(GERMAN_TEST.read_bytes()).hexdigest()
    model_sha = hashlib.sha256(GBM.read_bytes()).hexdigest()
    assert rep.to_html(tmp_path / "a.html") == tmp_path / "a.html"
    html = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert data_sha in html and model_sha in html and "Checked &lt;b&gt;twice&lt;/b&gt;" in html
    rep.to_pdf(tmp_path / "a.pdf")
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO((tmp_path / "a.pdf").read_bytes())).pages)
    assert data_sha[:12] in text and "German credit GBM" in text
    again = glasswing.reports.Report.from_dict(json.loads(rep.to_json()))
    assert again.to_json() == rep.to_json()
    assert rep.dataset.sha256 == data_sha and rep.model.sha256 == model_sha
    assert len(rep.explanations) == 1 and rep.sign_off.reviewer == "Ada"
    # the same report as glasswing report's JSON (the date aside)
    out = tmp_path / "cli.json"
    assert main(["report", "--data", str(GERMAN_TEST), "--model", str(GBM), "--target", "risk",
                 "--sensitive", "sex", "--out", str(out), "--explain", "shap", "--title", "German credit GBM",
                 "--notes", "Checked <b>twice</b>", "--reviewer", "Ada"]) == 0
    cli, ours = json.loads(out.read_text()), rep.to_dict()
    for key in ("audit", "dataset", "model", "roles", "explanations", "notes", "sign_off", "title"):
        assert cli[key] == ours[key], key


def test_report_writes_nothing_when_the_folder_is_missing(tmp_path):
    rep = glasswing.report(samples.german_dataset("test"))
    with pytest.raises(glasswing.GlasswingError) as err:
        rep.to_pdf(tmp_path / "missing" / "a.pdf")
    assert str(err.value).startswith(f"Cannot write the report to {tmp_path / 'missing' / 'a.pdf'}: ")
    assert not (tmp_path / "missing").exists()


# ---------------------------------------------------------------------------------------------- bad input
def _cli_error(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("glasswing: error: ") and err.count("\n") == 1
    return err.removeprefix("glasswing: error: ").strip()


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    import pickle

    from sklearn.dummy import DummyClassifier

    folder = tmp_path_factory.mktemp("bad")
    (folder / "binary.csv").write_bytes(b"\x00\x01\x02PK\x03\x04" * 20)
    (folder / "model.pkl").write_bytes(pickle.dumps(DummyClassifier().fit([[0], [1]], [0, 1])))
    return folder


@pytest.mark.parametrize("case", ["missing column", "binary file", "pickle", "bad label map", "no file"])
def test_the_api_says_the_command_lines_sentence(case, bad_files, capsys):
    base = ["audit", "--data", str(GERMAN_TEST), "--target", "risk", "--sensitive", "sex"]
    kwargs = {"y_true": "risk", "sensitive_features": ["sex"]}
    if case == "missing column":
        argv, call = [*base, "--prediction", "nope"], lambda: glasswing.audit(GERMAN_TEST, y_pred="nope",
                                                                             **kwargs)
    elif case == "binary file":
        path = bad_files / "binary.csv"
        argv = ["audit", "--data", str(path), "--target", "risk", "--sensitive", "sex", "--prediction", "p"]
        call = lambda: glasswing.audit(path, y_pred="p", **kwargs)  # noqa: E731
    elif case == "pickle":
        path = bad_files / "model.pkl"
        argv, call = [*base, "--model", str(path)], lambda: glasswing.audit(GERMAN_TEST, path, **kwargs)
    elif case == "bad label map":
        argv = [*base, "--model", str(GBM), "--label-map", "good"]
        call = lambda: glasswing.audit(GERMAN_TEST, GBM, label_map="good", **kwargs)  # noqa: E731
    else:
        missing = bad_files / "absent.csv"
        argv = ["audit", "--data", str(missing), "--target", "risk", "--sensitive", "sex", "--prediction",
                "p"]
        call = lambda: glasswing.audit(missing, y_pred="p", **kwargs)  # noqa: E731
    expected = _cli_error(argv, capsys)
    with pytest.raises(glasswing.GlasswingError) as err:
        call()
    assert str(err.value) == expected


@pytest.mark.parametrize("call, message", [
    (lambda: glasswing.audit(y_true=[1, 0], sensitive_features=["a", "b"]), _api.NEEDS_PREDICTIONS),
    (lambda: glasswing.audit(y_true=[1, 0], y_score=[0.2, 0.7], sensitive_features=["a", "b"]),
     _api.SCORE_NEEDS_THRESHOLD),
    (lambda: glasswing.audit(y_true="risk", y_pred="gbm_pred", sensitive_features="sex"),
     _api.COLUMN_NAMES_NEED_DATA.format(argument="y_true", value="risk")),
    (lambda: glasswing.audit(y_pred=[1, 0], sensitive_features=["a", "b"]), _api.NEEDS_TARGET),
    (lambda: glasswing.audit([1, 2, 3], y_true="risk", y_pred="p"), _api.NOT_A_TABLE.format(kind="list")),
    (lambda: glasswing.audit(GERMAN_TEST, 42, y_true="risk", sensitive_features="sex"),
     _api.NOT_A_MODEL.format(kind="int")),
    (lambda: glasswing.audit(GERMAN_TEST, y_true="risk", y_pred=[1, 0], sensitive_features="sex"),
     _api.COLUMN_NOT_A_NAME.format(argument="y_pred", kind="list")),
    (lambda: glasswing.audit(y_true=[1, 0, 1], y_pred=[1, 0], sensitive_features=["a", "b", "a"]),
     "y_pred has 2 values but y_true has 3; every input needs exactly one value per row."),
    (lambda: glasswing.mitigate(samples.german_model("logreg")), _api.MITIGATE_DATA),
    (lambda: glasswing.mitigate(samples.german_model("logreg"), samples.german_dataset("all"),
                                train=samples.german_dataset("train")), _api.MITIGATE_DATA),
    (lambda: glasswing.explain(samples.german_model("gbm"), [[1, 2]], method="shap"),
     _api.NOT_EXPLAINABLE.format(kind="list")),
    (lambda: glasswing.report(samples.german_dataset("test"), explain="shap"),
     _api.EXPLAIN_NEEDS_MODEL.format(method="shap")),
    (lambda: glasswing.audit(sample_dir(), y_true=[1], y_pred="p", sensitive_features="s"),
     _api.PARQUET_NEEDS_COLUMNS),
])
def test_api_arguments_get_one_sentence(call, message):
    with pytest.raises(glasswing.GlasswingError) as err:
        call()
    assert str(err.value) == message


def test_error_analysis_from_a_frame_finds_the_planted_cohort():
    from tests.audits.test_errors import planted

    frame, cohort = planted(0)
    result = glasswing.error_analysis(frame, y_true="y", y_pred="pred", features=["age", "region", "income"])
    wrong = frame["y"] != frame["pred"]
    assert result.top.rule == "age > 60 and region = north"
    assert (result.top.n, result.top.errors) == (int(cohort.sum()), int(wrong[cohort].sum()))
    with pytest.raises(glasswing.GlasswingError) as err:
        glasswing.error_analysis(frame)
    assert str(err.value) == glasswing._api.ERRORS_NEED_TARGET


def test_rare_categories_merge_into_one_other_group_in_the_api_and_the_cli(tmp_path):
    """--merge-rare N: the categories with fewer than N rows become 'other'; its counts equal pandas'."""
    rng = np.random.default_rng(3)
    region = np.array(["north"] * 400 + ["south"] * 300 + ["east"] * 12 + ["west"] * 9 + ["isle"] * 4)
    y = rng.integers(0, 2, len(region))
    pred = rng.integers(0, 2, len(region))
    frame = pd.DataFrame({"region": region, "y": y, "pred": pred})
    path = tmp_path / "regions.csv"
    frame.to_csv(path, index=False)
    gm = glasswing.audit(frame, y_true="y", y_pred="pred", sensitive_features="region", merge_rare=20)
    table = gm.by_group
    labels = [str(g) for g in table.index]
    assert sorted(labels) == ["north", "other", "south"], labels
    rare = frame["region"].isin(["east", "west", "isle"])
    other = table.loc[table.index[labels.index("other")]]
    assert other["n"] == rare.sum() == 25
    assert other["selection_rate"] == pytest.approx(frame.loc[rare, "pred"].mean(), abs=1e-12)
    # One rare category alone is not merged (nothing to merge it with).
    alone = glasswing.audit(frame[~frame["region"].isin(["west", "isle"])], y_true="y", y_pred="pred",
                            sensitive_features="region", merge_rare=20)
    assert "east" in [str(g) for g in alone.by_group.index]
    out = tmp_path / "audit.json"
    done = subprocess.run([sys.executable, "-m", "glasswing.cli", "audit", "--data", str(path),
                           "--target", "y", "--prediction", "pred", "--sensitive", "region",
                           "--merge-rare", "20", "--json", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["by_group"] == gm.to_dict()["by_group"]
