"""The Explain: tabular page on 1,000,000 rows: a stated stratified sample, intervals, a background run.

The table is built here (synthetic columns and a small gradient-boosting model saved with skops and loaded
by the safe loader); timings are measured by ``bench/scale_explain.py``, not asserted.
"""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.ensemble import GradientBoostingClassifier

from glasswing import ingest
from glasswing.ingest import ColumnRoles, Dataset
from tests.conftest import new_apptest

FEATURES = ["x1", "x2", "x3", "x4"]
N_ROWS = 1_000_000


@pytest.fixture(scope="module")
def million():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=N_ROWS), "x2": rng.normal(size=N_ROWS),
                          "x3": rng.uniform(-2, 2, N_ROWS), "x4": rng.integers(0, 10, N_ROWS),
                          "group": rng.choice(["A", "B", "C"], size=N_ROWS, p=[0.6, 0.3, 0.1])})
    score = frame["x1"] + 0.5 * frame["x2"] - 0.8 * frame["x3"] + rng.logistic(size=N_ROWS)
    frame["y"] = (score > 0).astype(int)
    clf = GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0)
    clf.fit(frame[FEATURES].iloc[:5000], frame["y"].iloc[:5000])
    model = ingest.load_model(skops.io.dumps(clf), name="million.skops")
    data = Dataset(frame, ColumnRoles(target="y", sensitive=("group",), features=tuple(FEATURES)),
                   "synthetic_1m", "test-million")
    return model, data


def page(million):
    model, data = million
    return new_apptest("explain_tabular.py", 240, state={"gw.model": model, "gw.dataset": data})


def array(value) -> np.ndarray:
    """A plotly JSON array: a list, or plotly's typed form {"dtype": ..., "bdata": base64}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def importance(at) -> dict:
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return next(s for s in specs if s["layout"]["title"]["text"].startswith("Mean |SHAP value|"))


def global_caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Global views rest on"))


def test_the_global_view_states_its_stratified_sample_and_draws_intervals(million):
    at = page(million)
    assert not at.exception and not at.error
    caption = global_caption(at)
    assert caption.startswith("Global views rest on **1,000 of 1,000,000 rows**, a sample stratified by "
                              "group (seed 0), and explain class **1** for every row. Bars show mean |SHAP| "
                              "with 95% bootstrap intervals (200 resamples of the rows, within strata).")
    fig = importance(at)
    assert fig["layout"]["title"]["text"] == ("Mean |SHAP value| over 1,000 rows for class 1, 95% bootstrap "
                                              "intervals")
    bar = fig["data"][0]
    plus, minus = array(bar["error_x"]["array"]), array(bar["error_x"]["arrayminus"])
    assert len(plus) == len(minus) == 4 and (plus > 0).all() and (minus > 0).all()
    low, high = array(bar["customdata"]).reshape(-1, 2).T
    assert (low < array(bar["x"])).all() and (array(bar["x"]) < high).all()
    np.testing.assert_allclose(array(bar["x"]) - minus, low)
    np.testing.assert_allclose(array(bar["x"]) + plus, high)
    # x4 never enters the label: its importance is the smallest of the four.
    assert bar["y"][-1] == "x4"


def wait_for(at, text: str, seconds: float = 180):
    deadline = time.monotonic() + seconds
    while text not in global_caption(at):
        assert time.monotonic() < deadline, global_caption(at)
        time.sleep(0.5)
        at.run()
    return at


def test_more_rows_run_in_the_background_and_then_replace_the_sample(million):
    at = page(million)
    at.number_input(key="xt.sample.True").set_value(20_000).run()
    assert not at.exception and not at.error
    assert [i.value for i in at.info][0] == ("20,000 rows take a while, so they are explained in the "
                                             "background; until then the views below rest on the 1,000-row "
                                             "sample.")
    assert global_caption(at).startswith("Global views rest on **1,000 of 1,000,000 rows**")
    at.button(key="xt.bg.start").click().run()
    assert not at.exception and not at.error
    wait_for(at, "**20,000 of 1,000,000 rows**")
    assert not at.exception and not at.error
    assert "The beeswarm and dependence plots draw 2,000 of them, evenly spaced." in global_caption(at)
    assert importance(at)["layout"]["title"]["text"].startswith("Mean |SHAP value| over 20,000 rows")


def test_a_background_run_can_be_stopped_and_the_sample_stays(million):
    at = page(million)
    at.number_input(key="xt.sample.True").set_value(N_ROWS).run()
    at.button(key="xt.bg.start").click().run()
    assert not at.exception
    assert [p.proto.text for p in at.get("progress")][-1].endswith(
        "in the background; the page stays usable meanwhile.")
    at.button(key="xt.bg.stop").click().run()
    assert not at.exception and not at.error
    stopped = [w.value for w in at.warning]
    assert len(stopped) == 1 and stopped[0].startswith("Stopped the background run: explained ")
    assert stopped[0].endswith(" of 1,000,000 sampled rows.")
    assert global_caption(at).startswith("Global views rest on **1,000 of 1,000,000 rows**")
    assert at.button(key="xt.bg.start").label == "Explain 1,000,000 rows in the background"


def test_without_sensitive_features_the_sample_is_stratified_by_predicted_class(million):
    model, data = million
    plain = Dataset(data.frame, ColumnRoles(target="y", features=tuple(FEATURES)), "synthetic_1m",
                    "test-million-no-groups")
    at = new_apptest("explain_tabular.py", 240, state={"gw.model": model, "gw.dataset": plain})
    assert not at.exception and not at.error
    assert global_caption(at).startswith("Global views rest on **1,000 of 1,000,000 rows**, a sample "
                                         "stratified by predicted class (seed 0)")
