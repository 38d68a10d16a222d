"""AppTest of the counterfactual views: a row on Explain: tabular, the burden on Fairness, the Report box."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from glasswing.dashboard import _counterfactuals as view
from glasswing.dashboard._text import md
from glasswing.explainers._counterfactual import ALL_IMMUTABLE
from glasswing.ingest import samples
from tests.conftest import new_apptest
from tests.dashboard.test_explain_tabular import german_data
from tests.explainers.test_tabular import FEATURES, german_frame, german_model


def refused_row() -> int:
    pipe = german_model("gbm").estimator
    return int(np.flatnonzero(pipe.predict(german_frame()[FEATURES]) == 0)[0])


def explain_page(**state):
    return new_apptest("explain_tabular.py", 180, state={
        "gw.model": german_model("gbm"), "gw.dataset": german_data(), "xt.sample.True": 10,
        "xt.row": refused_row(), **state})


def test_the_row_counterfactuals_flip_the_model_and_never_touch_the_sensitive_feature():
    at = explain_page()
    assert not at.exception and not at.error, (at.exception, at.error)
    table = next(d.value for d in at.dataframe if len(d.value) and d.value.index[0] == "original")
    assert table.index[0] == "original" and len(table) >= 2
    assert "sex" not in table.columns  # immutable by default: the sensitive feature of the roles
    assert list(table.columns[-3:]) == ["distance", "prediction", "probability"]
    row = refused_row()
    original = german_frame()[FEATURES].iloc[[row]]
    pipe = german_model("gbm").estimator
    for name, line in table.iloc[1:].iterrows():
        changed = original.copy()
        for column in table.columns[:-3]:
            if line[column] != "":  # blank: unchanged
                changed[column] = pd.Series([line[column]]).astype(original[column].dtype).to_numpy()
        assert pipe.predict(changed)[0] == 1, name  # scored by scikit-learn: every one shown flips
        assert float(line["distance"]) > 0 and 0.5 <= float(line["probability"]) <= 1
    assert any(m.value.startswith(f"Row **{row}** is predicted **0**") for m in at.markdown)


def test_every_feature_immutable_is_one_sentence_and_the_page_keeps_working():
    at = explain_page()
    at.multiselect(key="xt.cf.immutable").set_value(FEATURES).run()
    assert not at.exception
    assert [e.value for e in at.error] == [ALL_IMMUTABLE]
    assert any(m.value.startswith("Row **") for m in at.markdown)  # the One row tab is intact


def open_fairness():
    state = {"gw.model": samples.german_model("gbm"),
             "gw.dataset": samples.german_dataset("test", predictions="gbm")}
    at = new_apptest("fairness.py", 240, state=state)
    assert not at.exception, at.exception
    return at


def test_the_burden_by_group_counts_the_refused_rows_and_goes_to_the_report():
    at = open_fairness()
    key = next(n.key for n in at.number_input if n.key and n.key.endswith(".burden.rows"))
    at.number_input(key=key).set_value(60).run()
    assert any("Press the button" in c.value for c in at.caption)
    at.button(key=key.replace(".rows", ".run")).click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if json.loads(c.proto.spec)["layout"]["title"]["text"].startswith("Recourse burden"))
    bars = spec["data"][0]
    shown = at.session_state[view.SHOWN]
    data = samples.german_dataset("test", predictions="gbm")
    rows = view.sample_positions(len(data), 60, view.SEED)
    frame = data.frame.iloc[rows]
    pipe = samples.german_model("gbm").estimator
    refused = frame[pipe.predict(frame[list(pipe.feature_names_in_)]) == 0]["sex"].value_counts()
    assert bars["y"] == sorted(refused.index.tolist())
    assert [g["n_unfavourable"] for g in shown["by_group"]] == [int(refused[g]) for g in bars["y"]]
    for g, x in zip(shown["by_group"], bars["x"], strict=True):
        assert x == pytest.approx(g["burden"]) and g["low"] <= g["burden"] <= g["high"]
    assert shown["constraints"].startswith("immutable: sex")
    assert f"**{md(shown['sentence'])}**" in [m.value for m in at.markdown]

    at.switch_page("app_pages/report.py").run()
    assert not at.exception
    box = at.checkbox(key="report.burden")
    assert box.label == "Include the recourse burden shown on the Fairness page"
    assert box.value and not box.disabled


def test_the_report_box_says_where_to_compute_the_burden_first():
    at = new_apptest("report.py", state={"gw.model": samples.german_model("gbm"),
                                         "gw.dataset": samples.german_dataset("test", predictions="gbm")})
    assert not at.exception
    box = at.checkbox(key="report.burden")
    assert box.disabled and not box.value
    assert box.label == "Include the recourse burden (compute it on the Fairness page first)"
