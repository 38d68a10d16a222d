"""AppTest of the Mitigation page's new parts: sensitive features chosen there, group sizes, small-group
warnings, a stopped run, exponentiated gradient's bound, thresholds by group and the review band."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate

from glasswing.dashboard import _decisions as dec
from glasswing.dashboard import _mitigation as dmit
from glasswing.dashboard._text import md
from glasswing.ingest import group_frame, samples
from tests.conftest import new_apptest

PAGE = "mitigation.py"


@pytest.fixture(scope="module")
def german():
    return samples.german_model("logreg"), samples.german_dataset("test")


def open_page(model, data, state=None):
    at = new_apptest(PAGE, state={"gw.model": model, "gw.dataset": data, **(state or {})})
    assert not at.exception, at.exception
    return at


def test_sensitive_features_chosen_on_the_page_with_group_sizes_and_small_group_warnings(german):
    model, data = german
    at = open_page(model, data)
    assert at.multiselect(key="mitigation.sensitive").value == ["sex"]  # the Model & data roles to start
    at.multiselect(key="mitigation.sensitive").set_value(["sex", "age"]).run()
    at.selectbox(key="mitigation.method").set_value("threshold_optimizer").run()
    at.button(key="mitigation.run").click().run()
    assert not at.exception, at.exception
    assert any("groups: sex, age" in c.value for c in at.caption)
    table = next(d.value for d in at.dataframe if ("n", "training") in getattr(d.value, "columns", []))
    # group sizes counted here: the sample's training split and the test rows, banded by the test quartiles
    train = samples.german_dataset("train").frame
    test_groups, rule = group_frame(data.frame, ["sex", "age"])
    train_groups, _ = group_frame(train, ["sex", "age"], rule=rule)
    held = test_groups.groupby(["sex", "age"], observed=True).size()
    trained = train_groups.groupby(["sex", "age"], observed=True).size()
    labels = [f"{s} · {a}" for s, a in held.index]
    assert list(table.index) == labels
    assert table[("n", "held out")].tolist() == held.tolist()
    assert table[("n", "training")].tolist() == trained.reindex(held.index, fill_value=0).tolist()
    # the Fairness page's warning: groups under 30 held-out rows, named with their size
    small = held[held < 30]
    assert len(small) > 0
    title = next(e.label for e in at.expander if "warning" in e.label)
    assert f"({len(small)} groups under 30 rows)" in title
    text = " ".join(m.value for m in at.markdown)
    for (sex, age), n in small.items():
        assert md(f"sex={sex}, age={age}") in text and f"{n} rows" in text


def test_a_run_that_did_not_finish_says_where_it_stopped(german):
    model, data = german
    running = {"label": "Exponentiated gradient (demographic parity)",
               "message": "Iteration 3 of at most 50 done (7 fits of the model); at most about 2 min left"}
    at = open_page(model, data, {dmit.RUNNING: running})
    assert at.warning[0].value == md(dmit.STOPPED.format(label=running["label"].lower(),
                                                         message=running["message"]))
    assert at.info[0].value.startswith("Choose a method and a constraint")  # no stale result
    at.run()
    assert not [w for w in at.warning if w.value.startswith("Stopped")]  # said once


@pytest.mark.slow
def test_exponentiated_gradient_is_bounded_and_says_so(german):
    model, data = german
    at = open_page(model, data)
    at.selectbox(key="mitigation.method").set_value("exponentiated_gradient").run()
    assert at.checkbox(key="mitigation.eg_full").value is False
    at.button(key="mitigation.run").click().run(timeout=600)  # dozens of refits on a busy machine
    assert not at.exception, at.exception
    assert at.subheader[0].value == "Exponentiated gradient (demographic parity)"
    shown = dmit.run_shown(at.session_state[dmit.SHOWN], model, samples.german_dataset("train"), data)
    assert shown.params["max_iter"] == 10 and 1 <= shown.params["iterations"] <= 10
    assert shown.estimator.lambda_vecs_EG_.shape[1] == shown.params["iterations"]  # fairlearn's own count
    assert any(f"ran {shown.params['iterations']} of at most 10 iterations" in c.value for c in at.caption)
    assert dmit.RUNNING not in at.session_state


def test_thresholds_by_group_rates_equal_metricframe(german):
    model, data = german
    at = open_page(model, data)
    assert [s.key for s in at.slider if s.key.startswith("mitigation.cut.")] == [
        "mitigation.cut.female", "mitigation.cut.male"]
    at.slider(key="mitigation.cut.female").set_value(0.35).run()
    at.slider(key="mitigation.cut.male").set_value(0.7).run()
    assert not at.exception, at.exception
    rates = next(d.value for d in at.dataframe if "Selection rate" in getattr(d.value, "columns", []))
    score = model.predict_proba(data.X)[:, list(model.classes_).index(1)]
    cut = np.where(data.frame["sex"] == "female", 0.35, 0.7)
    y_pred = (score >= cut).astype(int)
    expected = MetricFrame(metrics=selection_rate, y_true=data.y_true, y_pred=y_pred,
                           sensitive_features=data.frame["sex"]).by_group
    for group in ("female", "male"):
        assert float(rates.loc[group, "Selection rate"].split(" ")[0]) == pytest.approx(expected[group],
                                                                                          abs=5e-4)
    assert rates["threshold"].tolist() == [0.35, 0.7]


def test_review_band_shares_queue_and_report_summary(german):
    model, data = german
    at = open_page(model, data)
    at.slider(key="mitigation.band.width").set_value(0.2).run()
    assert not at.exception, at.exception
    score = model.predict_proba(data.X)[:, list(model.classes_).index(1)]
    in_band = (score >= 0.4) & (score <= 0.6)
    shares = next(d.value for d in at.dataframe if "reviewed" in getattr(d.value, "columns", []))
    for group in ("female", "male"):
        rows = (data.frame["sex"] == group).to_numpy()
        assert shares.loc[group, "reviewed"] == (in_band & rows).sum()
        assert float(shares.loc[group, "share"].split(" ")[0]) == pytest.approx(
            (in_band & rows).sum() / rows.sum(), abs=5e-4)
    summary = at.session_state[dec.BAND]
    assert summary["width"] == 0.2 and summary["low"] == pytest.approx(0.4)
    assert summary["rule"].startswith("Scores from 0.4 to 0.6 (threshold 0.5 ± 0.1) go to a person")
    assert any(m.value == md(summary["rule"]) for m in at.markdown)
    button = next(b for b in at.get("download_button") if b.proto.label == "Review queue (CSV)")
    assert button is not None
    from glasswing import audits

    band = audits.review_band(data.y_true, score, data.frame[["sex"]], width=0.2)
    queue = pd.read_csv(io.BytesIO(dec.queue_csv(band, data, score)))
    assert sorted(queue["row"]) == sorted(data.frame.index[in_band])
    assert list(queue.columns[-2:]) == ["score", "decision_without_review"]
