"""AppTest of the Fairness audit page: seeded session state, widgets, numbers checked against fairlearn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate

from glasswing.audits import group_metrics
from glasswing.dashboard._text import md
from glasswing.ingest import ColumnRoles, Dataset
from tests.conftest import new_apptest

PAGE = "fairness.py"


def scored_dataset(n=2000, seed=0, **roles) -> Dataset:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n)
    race = rng.choice(["A", "B", "C"], n, p=[0.6, 0.3, 0.1])
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + 0.2 * (sex == "male") + rng.random(n) * 0.5, 0, 1).round(3)
    frame = pd.DataFrame({"sex": sex, "race": race, "age": rng.integers(18, 80, n), "y": y,
                          "pred": (score >= 0.5).astype(int), "score": score})
    defaults = {"target": "y", "prediction": "pred", "score": "score", "sensitive": ("sex", "race"),
                "features": ("age",)}
    return Dataset(frame, ColumnRoles(**{**defaults, **roles}), name="scored.csv",
                   sha256=f"sha-{n}-{seed}-{roles}")


def open_page(data: Dataset | None):
    at = new_apptest(PAGE, state={"gw.dataset": data})
    assert not at.exception, at.exception
    return at


def selection_cell(at, group: str) -> str:
    table = rate_tables(at)[0].value
    return table.loc[group, "Selection rate"]


def test_without_data_it_says_what_to_load():
    at = open_page(None)
    assert at.info[0].value == "Load a dataset with a target column first."


def test_intersection_table_verdict_and_charts():
    data = scored_dataset()
    at = open_page(data)
    frame = data.frame
    mf = MetricFrame(metrics=selection_rate, y_true=frame["y"], y_pred=frame["pred"],
                     sensitive_features=frame[["sex", "race"]])
    assert at.multiselect(key="fairness.sensitive").value == ["sex", "race"]
    assert selection_cell(at, "female · A").startswith(f"{mf.by_group[('female', 'A')]:.3f} (")
    expected = group_metrics(frame["y"], frame["pred"], frame[["sex", "race"]], y_score=frame["score"])
    verdicts = [e.value for e in (*at.success, *at.error)]
    assert verdicts == [expected.four_fifths().sentence]
    assert len(at.get("plotly_chart")) >= 3
    assert any("Disparities" in h.value for h in at.subheader)


def test_each_feature_alone():
    data = scored_dataset()
    at = open_page(data)
    at.segmented_control(key="fairness.view").set_value("race alone").run()
    assert not at.exception
    mf = MetricFrame(metrics=selection_rate, y_true=data.frame["y"], y_pred=data.frame["pred"],
                     sensitive_features=data.frame["race"])
    assert list(rate_tables(at)[0].value.index) == ["A", "B", "C"]
    assert selection_cell(at, "C").startswith(f"{mf.by_group['C']:.3f} (")


def test_threshold_slider_moves_selection_rates():
    data = scored_dataset()
    at = open_page(data)
    at.selectbox(key="fairness.source").select_index(1).run()
    assert not at.exception
    frame = data.frame
    for t in (0.5, 0.7):
        at.slider(key="fairness.threshold").set_value(t).run()
        assert not at.exception
        mf = MetricFrame(metrics=selection_rate, y_true=frame["y"], y_pred=(frame["score"] >= t).astype(int),
                         sensitive_features=frame[["sex", "race"]])
        assert selection_cell(at, "male · B").startswith(f"{mf.by_group[('male', 'B')]:.3f} (")
    assert any(h.value == "Threshold" for h in at.subheader)
    at.segmented_control(key="fairness.view").set_value("race alone").run()
    mf = MetricFrame(metrics=selection_rate, y_true=frame["y"], y_pred=(frame["score"] >= 0.7).astype(int),
                     sensitive_features=frame["race"])
    assert selection_cell(at, "B").startswith(f"{mf.by_group['B']:.3f} (")


def test_reference_group_changes_the_comparison():
    at = open_page(scored_dataset())
    at.segmented_control(key="fairness.view").set_value("sex alone").run()
    at.selectbox(key="fairness.sex.reference").select("female").run()
    assert not at.exception
    verdict = [e.value for e in (*at.success, *at.error)][0]
    assert "the rate of sex=female (the reference group" in verdict
    diffs = rate_tables(at)[1].value
    assert diffs.loc["female", "Selection rate"].startswith("+0.000")


def test_small_groups_are_flagged():
    at = open_page(scored_dataset(n=300))
    at.number_input(key="fairness.min_n").set_value(60).run()
    assert not at.exception
    assert at.expander and "under 60 rows" in at.expander[0].label
    assert any("fewer than 60" in m.value for m in at.markdown)


def test_probabilities_logged_as_predictions_give_one_sentence_and_keep_state():
    data = scored_dataset(prediction="score", score=None)
    at = open_page(data)
    example = next(v for v in data.frame["score"] if v != round(v))
    assert [e.value for e in at.error] == [
        f"Column 'score' holds scores between 0 and 1 (for example {example}) rather than predicted labels; "
        "give a decision threshold (for example 0.5) to turn them into labels."]
    assert at.session_state["gw.dataset"] is data


@pytest.mark.parametrize("roles", [{"prediction": None, "score": None, "features": ()}])
def test_no_predictions_at_all(roles):
    data = scored_dataset(**roles)
    data = Dataset(data.frame[["sex", "race", "y"]], data.roles, name=data.name, sha256="no-scores")
    at = open_page(data)
    assert at.info[0].value == "Load a dataset with a prediction or score column, or a tabular model first."


def test_model_scores_at_a_threshold():
    from sklearn.linear_model import LogisticRegression

    from glasswing.ingest import Model

    data = scored_dataset()
    frame = data.frame
    estimator = LogisticRegression().fit(frame[["age"]], frame["y"])
    at = new_apptest()
    at.session_state["gw.dataset"] = data
    at.session_state["gw.model"] = Model.from_estimator(estimator, name="lr.skops", sha256="lr-sha")
    at.switch_page(f"app_pages/{PAGE}")
    at.run()
    at.selectbox(key="fairness.source").select_index(2).run()
    at.slider(key="fairness.threshold").set_value(0.55).run()
    assert not at.exception
    predicted = (estimator.predict_proba(frame[["age"]])[:, 1] >= 0.55).astype(int)
    mf = MetricFrame(metrics=selection_rate, y_true=frame["y"], y_pred=predicted,
                     sensitive_features=frame[["sex", "race"]])
    assert selection_cell(at, "female · B").startswith(f"{mf.by_group[('female', 'B')]:.3f} (")


# ---------------------------------------------------------------------------------------- real data
def compas_page():
    from glasswing.ingest import samples

    at = open_page(samples.compas_dataset())
    at.multiselect(key="fairness.sensitive").set_value(["race"]).run()
    at.text_input(key="fairness.selected").input("predicted to reoffend").run()
    at.slider(key="fairness.threshold").set_value(5.0).run()
    assert not at.exception, at.exception
    return at


def rate_tables(at) -> list:
    """The page's rate and disparity tables, in page order (without the left-out and confusion tables)."""
    return [d for d in at.dataframe if not {"TP", "left out of"} & set(d.value.columns)]


def frame_with(at, column: str):
    """The one table on the page that has ``column``."""
    (frame,) = [d.value for d in at.dataframe if column in d.value.columns]
    return frame


def test_compas_headline_names_adequate_groups_and_lists_the_one_left_out():
    at = compas_page()
    assert at.selectbox(key="fairness.source").value.kind == "scores"
    verdict = at.error[0].value
    assert verdict.startswith("The four-fifths rule is not met: race=Other is selected at 21.0%, 0.36 times "
                              "the rate of race=African-American")
    assert "Left out as too small to conclude from (fewer than 30 rows): Native American (n = 18)." in verdict
    left = frame_with(at, "left out of")
    assert list(left.index) == ["Native American"] and int(left.loc["Native American", "n"]) == 18
    confusion = frame_with(at, "TP")
    cells = [int(confusion.loc["African-American", c]) for c in ("TP", "FP", "FN", "TN")]
    assert cells == [1369, 805, 532, 990]
    rule = " ".join(m.value for m in at.markdown)
    assert md("decile_score >= 5 is predicted 1") in rule  # user text (a column name) is escaped
    assert '"Selected" means:** predicted to reoffend' in rule
    table = rate_tables(at)[0].value
    assert table.loc["African-American", "FPR"].startswith("0.448 (")  # ProPublica: 44.85%
    assert table.loc["Caucasian", "FPR"].startswith("0.235 (")  # 23.45%


def test_small_groups_checkbox_puts_them_back_and_the_line_is_a_setting():
    at = compas_page()
    at.checkbox(key="fairness.include_small").check().run()
    assert not at.exception
    assert "race=Native American (the highest selection rate" in at.error[0].value
    assert not [d for d in at.dataframe if "left out of" in d.value.columns]  # nothing is left out
    at.checkbox(key="fairness.include_small").uncheck().run()
    at.number_input(key="fairness.four_fifths").set_value(0.3).run()
    assert at.success[0].value.startswith("The four-fifths rule is met: every group is selected at 30% or "
                                          "more")


def test_age_bands_are_the_cli_bands(tmp_path):
    import json

    from glasswing.cli import main
    from glasswing.ingest import samples

    at = compas_page()
    at.multiselect(key="fairness.sensitive").set_value(["age"]).run()
    assert at.text_input(key="fairness.bins.age").value == "25, 31, 42"  # the quartiles, editable
    at.text_input(key="fairness.bins.age").input("25, 45").run()
    assert not at.exception
    page = rate_tables(at)[0].value
    data = samples.compas_dataset()
    csv, out = tmp_path / "c.csv", tmp_path / "a.json"
    data.frame[["age", "decile_score", "two_year_recid"]].to_csv(csv, index=False)
    assert main(["audit", "--data", str(csv), "--prediction", "decile_score", "--threshold", "5", "--target",
                 "two_year_recid", "--sensitive", "age", "--bins", "age=25,45", "--json", str(out)]) == 0
    cli = json.loads(out.read_text())["by_group"]
    assert list(page.index) == [g["label"] for g in cli] == ["age <25", "age 25-44", "age 45+"]
    assert page["n"].tolist() == [g["n"] for g in cli]


def test_any_numeric_column_can_be_the_score():
    data = scored_dataset(prediction=None, score=None)
    at = open_page(data)
    texts = [s.text for s in at.selectbox(key="fairness.source").options] if False else None
    source = at.selectbox(key="fairness.source")
    assert "Column 'score' as a score at a threshold" in source.options
    source.select("Column 'score' as a score at a threshold").run()
    at.slider(key="fairness.threshold").set_value(0.6).run()
    assert not at.exception and texts is None
    frame = data.frame
    mf = MetricFrame(metrics=selection_rate, y_true=frame["y"], y_pred=(frame["score"] >= 0.6).astype(int),
                     sensitive_features=frame[["sex", "race"]])
    assert selection_cell(at, "female · A").startswith(f"{mf.by_group[('female', 'A')]:.3f} (")


def test_a_models_classes_are_matched_to_a_string_target():
    from sklearn.linear_model import LogisticRegression

    from glasswing.ingest import Model

    data = scored_dataset()
    frame = data.frame.assign(y=np.where(data.frame["y"] == 1, ">50K", "<=50K"))
    roles = ColumnRoles(target="y", sensitive=("sex",), features=("age",), positive_label=">50K")
    data = Dataset(frame, roles,
                   name="adult.csv", sha256="adult-like")
    estimator = LogisticRegression().fit(frame[["age"]], (frame["y"] == ">50K").astype(int))
    at = new_apptest(PAGE, state={"gw.dataset": data,
                                  "gw.model": Model.from_estimator(estimator, name="lr", sha256="lr-sha2")})
    at.selectbox(key="fairness.source").select_index(0).run()
    assert not at.exception, at.exception
    rule = next(m.value for m in at.markdown if "Target mapped to the model's classes" in m.value)
    assert "<=50K → 0" in rule and ">50K → 1" in rule
    predicted = estimator.predict_proba(frame[["age"]])[:, 1] >= 0.5
    expected = predicted[(frame["sex"] == "female").to_numpy()].mean()
    assert selection_cell(at, "female").startswith(f"{expected:.3f} (")
