"""Hostile ``.skops`` files: stored functions, file-touching parameters and unreviewed types are refused
with one sentence and never run; the pipelines users really save keep loading without trust."""

from __future__ import annotations

import functools
import operator
import shutil

import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.special
import skops.io
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from glasswing import ingest
from glasswing._paths import sample_dir
from glasswing.ingest import _errors as E
from glasswing.ingest._skops import REVIEWED_TYPES
from tests.security.conftest import assert_one_sentence_exit_2, run_cli, snapshot

N = 60
RNG = np.random.default_rng(0)
FRAME = pd.DataFrame({"income": RNG.normal(50, 10, N), "age": RNG.integers(18, 80, N).astype(float),
                      "purpose": RNG.choice(["car", "home", "study"], N), "sex": RNG.choice(["F", "M"], N)})
FRAME["y"] = (FRAME["income"] > 50).astype(int)
NUMERIC = ["income", "age"]


def _fitted_lr():
    return LogisticRegression().fit(FRAME[NUMERIC], FRAME["y"])


def _with_steps(*transformers):
    """A fitted-looking pipeline: each transformer fitted alone (nothing runs), then a fitted classifier."""
    steps = [(f"t{i}", t.fit(FRAME[NUMERIC])) for i, t in enumerate(transformers)]
    return Pipeline([*steps, ("clf", _fitted_lr())])


def _pth_chain(target):
    """The issue's attack: full_like -> take -> savetxt writes a chosen line to a chosen file."""
    line = np.array([["import os; os.system('echo pwned')"]], dtype=object)
    return _with_steps(
        FunctionTransformer(np.full_like, kw_args={"fill_value": str(target), "dtype": object}),
        FunctionTransformer(np.take, kw_args={"indices": 0}),
        FunctionTransformer(np.savetxt, kw_args={"X": line, "fmt": "%s"}))


def _refusal(fn, *args, **kwargs) -> str:
    with pytest.raises(ingest.UntrustedFileError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def _function_sentence(name, function, where):
    return E.SKOPS_FUNCTION.format(name=name, function=function, where=where)


def test_the_pth_chain_is_real_when_trusted_and_refused_otherwise(tmp_path):
    site = tmp_path / "site-packages"
    site.mkdir()
    target = site / "evil.pth"
    data = skops.io.dumps(_pth_chain(target))
    before = snapshot(tmp_path)
    assert _refusal(ingest.load_model, data, name="evil.skops") == _function_sentence(
        "evil.skops", "numpy.full_like", "the func of a FunctionTransformer")
    assert snapshot(tmp_path) == before and not target.exists()
    # the same file, trusted, does write the .pth file when it scores data: the attack is real
    model = ingest.load_model(data, name="evil.skops", trusted=True)
    with pytest.raises(ingest.IngestError):
        model.predict_proba(FRAME)
    assert target.read_text() == "import os; os.system('echo pwned')\n"


def test_audit_with_the_pth_chain_exits_2_with_one_sentence(tmp_path, capsys):
    target = tmp_path / "evil.pth"
    (tmp_path / "evil.skops").write_bytes(skops.io.dumps(_pth_chain(target)))
    FRAME.to_csv(tmp_path / "d.csv", index=False)
    code, out, err = run_cli(["audit", "--model", tmp_path / "evil.skops", "--data", tmp_path / "d.csv",
                              "--target", "y", "--sensitive", "sex"], capsys)
    assert_one_sentence_exit_2(code, err, _function_sentence(
        "evil.skops", "numpy.full_like", "the func of a FunctionTransformer"))
    assert out == "" and not target.exists()


def _savetxt_partial(target):
    return functools.partial(np.savetxt, str(target))


HOSTILE_FUNCTIONS = {
    "numpy.savetxt as inverse_func": (
        lambda t: _with_steps(FunctionTransformer(None, inverse_func=np.savetxt)),
        "numpy.savetxt", "the inverse_func of a FunctionTransformer"),
    "numpy.memmap (a type used as a function)": (
        lambda t: _with_steps(FunctionTransformer(np.memmap, kw_args={"mode": "w+"})),
        "numpy.memmap", "the func of a FunctionTransformer"),
    "a NumPy ufunc skops itself trusts": (
        lambda t: _with_steps(FunctionTransformer(np.abs)), "numpy.absolute",
        "the func of a FunctionTransformer"),
    "a SciPy ufunc skops itself trusts": (
        lambda t: _with_steps(FunctionTransformer(scipy.special.expit)),
        "scipy.special._special_ufuncs.expit", "the func of a FunctionTransformer"),
    "scipy.io.savemat": (
        lambda t: _with_steps(FunctionTransformer(scipy.io.savemat)), "scipy.io.matlab._mio.savemat",
        "the func of a FunctionTransformer"),
    "builtins.open": (
        lambda t: _with_steps(FunctionTransformer(open)), "io.open", "the func of a FunctionTransformer"),
    "operator.methodcaller(tofile)": (
        lambda t: _with_steps(FunctionTransformer(operator.methodcaller("tofile", str(t)))),
        "operator.methodcaller", "the func of a FunctionTransformer"),
    "functools.partial(numpy.savetxt)": (
        lambda t: _with_steps(FunctionTransformer(_savetxt_partial(t))), "functools.partial",
        "the func of a FunctionTransformer"),
    "a callable metric": (
        lambda t: Pipeline([("knn", KNeighborsClassifier(metric=np.dot).fit(FRAME[NUMERIC], FRAME["y"]))]),
        "numpy.dot", "the metric of a KNeighborsClassifier"),
    "nested: Pipeline > ColumnTransformer > Pipeline > FunctionTransformer": (
        lambda t: Pipeline([("pre", ColumnTransformer([("num", make_pipeline(
            FunctionTransformer(np.savetxt, kw_args={"fname": str(t)}), StandardScaler()), NUMERIC)])),
            ("clf", LogisticRegression())]),
        "numpy.savetxt", "the func of a FunctionTransformer"),
}


@pytest.mark.parametrize("case", list(HOSTILE_FUNCTIONS))
def test_stored_functions_are_refused_and_never_run(case, tmp_path):
    build, function, where = HOSTILE_FUNCTIONS[case]
    target = tmp_path / "written.bin"
    data = skops.io.dumps(build(target))
    before = snapshot(tmp_path)
    assert _refusal(ingest.load_model, data, name="m.skops") == _function_sentence("m.skops", function, where)
    assert snapshot(tmp_path) == before and not target.exists()
    assert any(p.endswith(f" {function}") for p in ingest.untrusted_parts(data, name="m.skops"))


def test_a_pipeline_memory_folder_is_refused_because_a_refit_writes_there(tmp_path):
    cache = tmp_path / "cache"
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())], memory=str(cache))
    data = skops.io.dumps(pipe.fit(FRAME[NUMERIC], FRAME["y"]))
    shutil.rmtree(cache)  # fitting it here cached into the folder; the refusal must not recreate it
    assert _refusal(ingest.load_model, data, name="m.skops") == E.SKOPS_PARAMETER.format(
        name="m.skops", param="memory", value=str(cache), estimator="Pipeline",
        effect="cache fitted steps in that folder when the model is refitted")
    assert not cache.exists()
    # trusted, a refit (what the Mitigation page does) writes into the folder: the risk is real
    from sklearn.base import clone

    model = ingest.load_model(data, name="m.skops", trusted=True)
    clone(model.estimator).fit(FRAME[NUMERIC], FRAME["y"])
    assert any(cache.rglob("*"))


def test_a_vectorizer_that_opens_file_names_is_refused(tmp_path):
    files = []
    for i, text in enumerate(["password hunter2", "nothing here"]):
        files.append(tmp_path / f"doc{i}.txt")
        files[-1].write_text(text)
    docs = pd.DataFrame({"text": [str(f) for f in files] * 4})
    pipe = Pipeline([("pre", ColumnTransformer([("t", CountVectorizer(input="filename"), "text")])),
                     ("clf", LogisticRegression())])
    pipe.fit(docs, [0, 1] * 4)
    data = skops.io.dumps(pipe)
    assert _refusal(ingest.load_model, data, name="m.skops") == E.SKOPS_PARAMETER.format(
        name="m.skops", param="input", value="filename", estimator="CountVectorizer",
        effect="open the files that the data's text names")


def test_an_unreviewed_type_is_refused_by_name():
    scaler = StandardScaler().fit(FRAME[NUMERIC])
    scaler.origin_ = pd.Timestamp("2024-01-01")  # a pandas object: outside skops' set and the reviewed list
    data = skops.io.dumps(Pipeline([("s", scaler), ("clf", _fitted_lr())]))
    message = _refusal(ingest.load_model, data, name="m.skops")
    untrusted = [t for t in skops.io.get_untrusted_types(data=data) if t not in REVIEWED_TYPES]
    assert untrusted and message == E.SKOPS_UNTRUSTED.format(name="m.skops", types=", ".join(untrusted))


PRE = ColumnTransformer([("num", make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
                         ("cat", OneHotEncoder(handle_unknown="ignore"), ["purpose", "sex"])])
PRE_SELECTOR = ColumnTransformer([("num", StandardScaler(), make_column_selector(dtype_include=np.number)),
                                  ("cat", OrdinalEncoder(), ["purpose", "sex"])])
ORDINARY = {
    "LogisticRegression": LogisticRegression(),
    "GradientBoosting": GradientBoostingClassifier(n_estimators=10, random_state=0),
    "HistGradientBoosting": HistGradientBoostingClassifier(max_iter=10, random_state=0),
    "RandomForest": RandomForestClassifier(n_estimators=5, random_state=0),
    "ExtraTrees": ExtraTreesClassifier(n_estimators=5, random_state=0),
    "DecisionTree": DecisionTreeClassifier(random_state=0),
    "KNeighbors": KNeighborsClassifier(),
    "MLP": MLPClassifier(hidden_layer_sizes=(4,), max_iter=300, random_state=0),
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # MLP on 60 rows
@pytest.mark.parametrize("pre", [PRE, PRE_SELECTOR], ids=["columns", "selector"])
@pytest.mark.parametrize("name", list(ORDINARY))
def test_ordinary_pipelines_load_without_trust(pre, name):
    from sklearn.base import clone

    X = FRAME.drop(columns="y")
    pipe = Pipeline([("pre", clone(pre)), ("clf", clone(ORDINARY[name]))]).fit(X, FRAME["y"])
    data = skops.io.dumps(pipe)
    assert ingest.untrusted_parts(data, name="m.skops") == ()
    model = ingest.load_model(data, name="m.skops")
    np.testing.assert_array_equal(model.predict_proba(X), pipe.predict_proba(X))


@pytest.mark.parametrize("which", ["gbm", "logreg"])
def test_the_shipped_samples_load_without_trust(which):
    data = (sample_dir() / "models" / f"german_{which}.skops").read_bytes()
    assert ingest.untrusted_parts(data, name="s.skops") == ()
    assert ingest.load_model(data, name="s.skops").kind == "sklearn"
