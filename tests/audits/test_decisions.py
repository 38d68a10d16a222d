"""Per-group thresholds and the review band, checked against fairlearn's MetricFrame and hand counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score

from glasswing import audits
from glasswing.audits import _review_band as rb
from glasswing.audits import _thresholds as th


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(7)
    n = 3000
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.4, 0.1])
    y = rng.integers(0, 2, size=n)
    score = np.clip(0.5 + 0.25 * (2 * y - 1) + rng.normal(0, 0.2, n) - 0.1 * (group == "b"), 0, 1)
    return y, score, pd.Series(group, name="g")


def test_per_group_rates_equal_metricframe_on_the_thresholded_predictions(scored):
    y, score, g = scored
    cuts = {"a": 0.55, "b": 0.4, "c": 0.7}
    result = audits.group_thresholds(y, score, g, cuts)
    y_pred = (score >= g.map(cuts).to_numpy()).astype(int)  # thresholded here, by hand
    np.testing.assert_array_equal(result.y_pred, y_pred)
    frame = MetricFrame(metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
                                 "false_positive_rate": false_positive_rate, "accuracy": accuracy_score},
                        y_true=y, y_pred=y_pred, sensitive_features=g)
    rates = result.rates()
    for metric in frame.by_group.columns:
        np.testing.assert_allclose(rates[metric].to_numpy(), frame.by_group[metric].to_numpy(), atol=1e-12)
        assert (rates[f"{metric} low"] <= rates[metric]).all()
        assert (rates[metric] <= rates[f"{metric} high"]).all()
    assert rates["threshold"].tolist() == [0.55, 0.4, 0.7]
    assert rates["n"].tolist() == g.value_counts().sort_index().tolist()
    dp = result.metrics.disparities().loc["demographic_parity_difference"]
    assert dp["value"] == pytest.approx(demographic_parity_difference(y, y_pred, sensitive_features=g))
    assert dp["low"] <= dp["value"] <= dp["high"]
    # the single-threshold comparison is the model at 0.5 for everyone
    single = (score >= 0.5).astype(int)
    assert result.single.by_group["selection_rate"].tolist() == pytest.approx(
        MetricFrame(metrics=selection_rate, y_true=y, y_pred=single, sensitive_features=g).by_group.tolist())


def test_groups_not_named_keep_the_default_and_unknown_ones_are_named(scored):
    y, score, g = scored
    result = audits.group_thresholds(y, score, g, {"b": 0.3}, default_threshold=0.6)
    assert result.thresholds.to_dict() == {"a": 0.6, "b": 0.3, "c": 0.6}
    with pytest.raises(audits.AuditError) as err:
        audits.group_thresholds(y, score, g, {"z": 0.3})
    assert str(err.value) == "There is no group 'z'; the groups are: a, b, c."
    with pytest.raises(audits.AuditError) as err:
        audits.group_thresholds(y, score, g, {"a": "high"})
    assert str(err.value) == th.BAD_THRESHOLD.format(group="a", value="high")


def test_intersections_are_labelled_as_the_audit_labels_them(scored):
    y, score, g = scored
    sf = pd.DataFrame({"g": g, "h": np.where(np.arange(len(g)) % 2, "odd", "even")})
    result = audits.group_thresholds(y, score, sf, {"a · odd": 0.2})
    picked = (sf["g"] == "a") & (sf["h"] == "odd")
    expected = np.where(picked, score >= 0.2, score >= 0.5).astype(int)
    np.testing.assert_array_equal(result.y_pred, expected)


def test_review_band_shares_per_group_by_hand(scored):
    y, score, g = scored
    band = audits.review_band(y, score, g, threshold=0.5, width=0.2)
    in_band = (score >= 0.4) & (score <= 0.6)
    np.testing.assert_array_equal(band.in_band, in_band)
    for name in ["a", "b", "c"]:
        rows = (g == name).to_numpy()
        assert band.shares.loc[name, "n"] == rows.sum()
        assert band.shares.loc[name, "reviewed"] == (in_band & rows).sum()
        assert band.shares.loc[name, "share"] == pytest.approx((in_band & rows).sum() / rows.sum())
    lo, hi = audits.wilson_interval(band.shares["reviewed"].to_numpy(), band.shares["n"].to_numpy())
    np.testing.assert_allclose(band.shares[["low", "high"]].to_numpy(), np.column_stack([lo, hi]))
    assert band.share_reviewed == pytest.approx(in_band.mean())
    # disparities among the automated decisions only equal fairlearn's on the rows outside the band
    keep = ~in_band
    auto = (score[keep] >= 0.5).astype(int)
    frame = MetricFrame(metrics=selection_rate, y_true=y[keep], y_pred=auto, sensitive_features=g[keep])
    assert band.automated.by_group["selection_rate"].tolist() == pytest.approx(frame.by_group.tolist())
    assert band.automated.by_group["n"].sum() == keep.sum()
    dp = band.automated.disparities().loc["demographic_parity_difference", "value"]
    assert dp == pytest.approx(demographic_parity_difference(y[keep], auto, sensitive_features=g[keep]))
    assert band.automated.notes[0] == rb.REVIEWED_NOTE.format(k=in_band.sum(), n=len(y), low=0.4, high=0.6)
    assert band.all_automated.by_group["n"].sum() == len(y)
    assert band.rule == ("Scores from 0.4 to 0.6 (threshold 0.5 ± 0.1) go to a person; the others are "
                         "decided automatically, a score ≥ 0.5 being 1.")


def test_review_queue_lists_the_band_closest_first(scored):
    y, score, g = scored
    frame = pd.DataFrame({"g": g, "y": y}, index=pd.RangeIndex(100, 100 + len(y)))
    band = audits.review_band(y, score, g, width=0.05)
    queue = band.queue(frame, score)
    assert len(queue) == band.in_band.sum()
    assert set(queue.index) == set(frame.index[band.in_band])
    distance = np.abs(queue["score"].to_numpy() - 0.5)
    assert (np.diff(distance) >= 0).all() and (distance <= 0.025 + 1e-12).all()
    expected = np.where(queue["score"] >= 0.5, "positive", "negative")
    assert queue["decision_without_review"].tolist() == expected.tolist()


def test_zero_width_reviews_only_ties_and_a_band_holding_everything_is_refused(scored):
    y, score, g = scored
    band = audits.review_band(y, score, g, width=0.0)
    assert band.in_band.sum() == (score == 0.5).sum()
    with pytest.raises(audits.AuditError) as err:
        audits.review_band(y, score, g, width=1.0)
    assert str(err.value) == rb.ALL_REVIEWED.format(low=0.0, high=1.0)
    for bad in (-0.1, 1.5, "wide", True):
        with pytest.raises(audits.AuditError) as err:
            audits.review_band(y, score, g, width=bad)
        assert str(err.value) == rb.BAD_WIDTH.format(value=bad)
