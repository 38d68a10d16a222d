"""``ThresholdSweep``: any view at any threshold, from counts, equals a direct audit (and fairlearn)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate

from glasswing.audits import ThresholdSweep, group_metrics, threshold_grid


def test_every_view_at_every_threshold_equals_a_direct_audit():
    rng = np.random.default_rng(3)
    n = 3000
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["A", "B", "C"], n)})
    y = rng.integers(0, 2, n)
    score = rng.integers(1, 11, n)  # a decile score: the grid is its own range, 1..10
    sweep = ThresholdSweep.from_scores(y, score, sf)
    assert sweep.thresholds.tolist() == list(range(1, 11))
    for view in (("sex", "race"), ("sex",), ("race",)):
        for t in (1, 5, 10):
            got = sweep.audit(view, t)
            direct = group_metrics(y, (score >= t).astype(int), sf[list(view)])
            pd.testing.assert_frame_equal(got.counts, direct.counts)
            mf = MetricFrame(metrics={"sr": selection_rate, "fpr": false_positive_rate}, y_true=y,
                             y_pred=(score >= t).astype(int), sensitive_features=sf[list(view)])
            np.testing.assert_allclose(got.by_group["selection_rate"], mf.by_group["sr"])
            np.testing.assert_allclose(got.by_group["false_positive_rate"], mf.by_group["fpr"])
    assert sweep.audit(("race",), 4.6).threshold == 5.0  # the nearest grid point


@pytest.mark.parametrize(("scores", "grid"), [
    ([0.1, 0.9], np.round(np.arange(101) / 100, 2)),
    ([-3.0, 2.5, 7.25], None),
])
def test_threshold_grid_follows_the_scores_range(scores, grid):
    got = threshold_grid(scores)
    if grid is not None:
        np.testing.assert_array_equal(got, grid)
    else:
        assert got[0] == -3.0 and got[-1] == 7.25 and len(got) == 201
