"""AppTest of the Error analysis page and the cohort filter it saves for the Fairness and Explain pages."""

from __future__ import annotations

import json

import pytest
from fairlearn.metrics import demographic_parity_difference

from glasswing.audits import _errors
from glasswing.dashboard._text import md
from glasswing.ingest import ColumnRoles, Dataset, samples
from tests.audits.test_errors import planted
from tests.conftest import new_apptest

PAGE = "errors.py"
TOP = "age > 60 and region = north"


def planted_dataset(**changes) -> Dataset:
    frame, _ = planted(0)
    frame = frame.assign(**changes)
    roles = ColumnRoles(target="y", prediction="pred", sensitive=("sex",),
                        features=("age", "region", "income"))
    return Dataset(frame, roles, name="planted.csv", sha256=f"planted-{sorted(changes)}")


def open_page(data, model=None):
    at = new_apptest(PAGE, state={"gw.dataset": data, "gw.model": model})
    assert not at.exception, at.exception
    return at


def test_without_data_it_says_what_to_load():
    at = open_page(None)
    assert at.info[0].value == "Load a dataset with a target column first."


def test_the_planted_cohort_leads_the_table_tree_and_chooser():
    data = planted_dataset()
    at = open_page(data)
    frame = data.frame
    wrong = (frame["y"] != frame["pred"]).to_numpy()
    hand = ((frame["age"] > 60) & (frame["region"] == "north")).to_numpy()
    table = at.dataframe[0].value
    assert table["cohort"].iloc[0] == TOP
    assert table["error rate"].iloc[0] == round(wrong[hand].mean(), 3)
    assert table["n"].iloc[0] == hand.sum() and table["errors"].iloc[0] == wrong[hand].sum()
    assert at.selectbox(key="errors.cohort").value == TOP
    assert at.metric[0].value == f"{wrong.sum():,} of {len(frame):,}"
    (spec,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    tree = spec["data"][0]
    assert tree["type"] == "treemap" and tree["values"][0] == len(frame)
    top_index = [row[0] for row in tree["customdata"]].index(TOP)
    assert tree["values"][top_index] == hand.sum()
    assert tree["marker"]["line"]["width"][top_index] == 4  # the chosen cohort is outlined


def test_saving_a_cohort_filters_the_fairness_page_until_cleared():
    data = planted_dataset()
    at = open_page(data)
    at.button(key="errors.save_cohort").click().run()
    assert not at.exception, at.exception
    assert at.session_state["gw.cohort"].rule == TOP
    assert at.success[0].value == f"Cohort filter on: **{md(TOP)}**. Open it on:"
    at.switch_page("app_pages/fairness.py").run()
    assert not at.exception, at.exception
    hand = data.frame[(data.frame["age"] > 60) & (data.frame["region"] == "north")]
    banner = at.warning[0].value
    assert banner.startswith(f"**Cohort filter on:** only the {len(hand):,} of {len(data):,} rows where "
                             f"**{md(TOP)}**")
    # The audit counts only the cohort's rows.
    caption = next(c.value for c in at.caption if "rows in" in c.value)
    assert caption.startswith(f"{len(hand):,} rows in 2 groups")
    at.button(key="fairness.cohort.clear").click().run()
    assert not at.exception, at.exception
    assert "gw.cohort" not in at.session_state
    assert not [w for w in at.warning if "Cohort filter on" in w.value]
    caption = next(c.value for c in at.caption if "rows in" in c.value)
    assert caption.startswith(f"{len(data):,} rows in 2 groups")


def test_the_cohort_filter_reaches_explain_tabular():
    model, data = samples.german_model("gbm"), samples.german_dataset("test")
    at = open_page(data, model)
    at.select_slider(key="errors.alpha").set_value(1.0).run()
    assert not at.exception, at.exception
    at.button(key="errors.save_cohort").click().run()
    saved = at.session_state["gw.cohort"]
    n = int(saved.cohort.mask(data.frame).sum())
    at.switch_page("app_pages/explain_tabular.py").run()
    assert not at.exception, at.exception
    banner = at.warning[0].value
    assert banner.startswith(f"**Cohort filter on:** only the {n:,} of {len(data):,} rows where ")
    assert any(f"on **{n:,} of {n:,} rows**" in c.value for c in at.caption)


def test_fairness_per_cohort_equals_fairlearn():
    data = planted_dataset()
    at = open_page(data)
    table = at.dataframe[-1].value
    frame = data.frame
    assert table["cohort"].iloc[0] == TOP
    for row in table.itertuples():
        cohort = next(c for c in _rows(at) if c == row.cohort)
        rows = frame[_mask(frame, cohort)]
        assert row.demographic_parity_difference == pytest.approx(round(demographic_parity_difference(
            rows["y"], rows["pred"], sensitive_features=rows["sex"]), 3))


def _rows(at):
    return at.dataframe[0].value["cohort"].tolist()


def _mask(frame, rule: str):
    age_old, north = frame["age"] > 60, frame["region"] == "north"
    masks = {TOP: age_old & north, "region != north": ~north,
             "age <= 60 and region = north": ~age_old & north}
    return masks[rule]


def test_no_errors_is_one_sentence():
    data = planted_dataset(pred=planted(0)[0]["y"])
    at = open_page(data)
    assert [e.value for e in at.error] == [md(_errors.NO_ERRORS.format(n=len(data)))]


def test_model_source_counts_the_models_errors():
    model, data = samples.german_model("gbm"), samples.german_dataset("all", predictions=None)
    at = open_page(data, model)
    predicted = model.predict(data.frame)
    errors = int((predicted != data.y_true.to_numpy()).sum())
    assert at.selectbox(key="errors.source").value.text == f"Model '{model.name}' predictions"
    assert at.metric[0].value == f"{errors:,} of {len(data):,}"
