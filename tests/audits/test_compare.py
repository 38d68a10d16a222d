"""Two models side by side: the paired bootstrap against an independent numpy loop, exact differences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glasswing.audits import AuditError, compare_predictions, group_metrics


@pytest.fixture(scope="module")
def planted():
    """Model B is right far more often than A on group F, and wrong more often on group M."""
    rng = np.random.default_rng(1)
    n = 600
    sex = rng.choice(["F", "M", "X"], n, p=[0.47, 0.5, 0.03])
    y = rng.integers(0, 2, n)
    a = np.where(rng.random(n) < 0.75, y, 1 - y)
    b = a.copy()
    f, m = sex == "F", sex == "M"
    b[f] = np.where(rng.random(f.sum()) < 0.97, y[f], 1 - y[f])  # B fixes most of A's errors on F
    b[m] = np.where(rng.random(m.sum()) < 0.55, y[m], 1 - y[m])  # and makes more on M
    return y, a, b, sex


def _independent(y, a, b, sex, n_boot, seed, q=0.025):
    """Paired bootstrap written directly: resample rows, rates per group by boolean masks, B - A."""
    rng = np.random.default_rng(seed)
    groups = sorted(set(sex))
    defs = {"selection_rate": lambda t, p: p.mean(),
            "true_positive_rate": lambda t, p: p[t == 1].mean() if (t == 1).any() else np.nan,
            "false_positive_rate": lambda t, p: p[t == 0].mean() if (t == 0).any() else np.nan,
            "accuracy": lambda t, p: (t == p).mean()}
    diffs = {(g, m): [] for g in groups for m in defs}
    dp = []
    n = len(y)
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        yt, pa, pb, s = y[idx], a[idx], b[idx], sex[idx]
        sel_a, sel_b = [], []
        for g in groups:
            k = s == g
            for m, fn in defs.items():
                va = fn(yt[k], pa[k]) if k.any() else np.nan
                vb = fn(yt[k], pb[k]) if k.any() else np.nan
                diffs[(g, m)].append(vb - va)
            if g != "X":
                sel_a.append(pa[k].mean())
                sel_b.append(pb[k].mean())
        dp.append((max(sel_b) - min(sel_b)) - (max(sel_a) - min(sel_a)))
    out = {key: (np.nanquantile(v, q), np.nanquantile(v, 1 - q)) for key, v in diffs.items()}
    return out, (np.quantile(dp, q), np.quantile(dp, 1 - q))


def test_paired_bootstrap_equals_an_independent_loop_with_the_same_seed(planted):
    y, a, b, sex = planted
    cmp = compare_predictions(y, a, b, sex, n_boot=200, seed=7)
    expected, dp = _independent(y, a, b, sex, 200, 7)
    rows = cmp.by_group.set_index(["group", "metric"])
    for (g, m), (lo, hi) in expected.items():
        assert rows.loc[(g, m), "low"] == pytest.approx(lo, abs=1e-12)
        assert rows.loc[(g, m), "high"] == pytest.approx(hi, abs=1e-12)
    # The headline disparity uses the adequate groups (X has about 18 rows and is left out).
    assert cmp.disparities.loc["demographic_parity_difference", "groups"] == ["F", "M"]
    assert cmp.disparities.loc["demographic_parity_difference", "low"] == pytest.approx(dp[0], abs=1e-12)
    assert cmp.disparities.loc["demographic_parity_difference", "high"] == pytest.approx(dp[1], abs=1e-12)
    assert cmp.n_boot == 200 and "200 resamples" in cmp.method and "seed 7" in cmp.method


def test_differences_are_exactly_those_of_group_metrics(planted):
    y, a, b, sex = planted
    cmp = compare_predictions(y, a, b, sex, n_boot=20)
    gm_a, gm_b = group_metrics(y, a, sex), group_metrics(y, b, sex)
    rows = cmp.by_group.set_index(["group", "metric"])
    for m in ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy"):
        for g in ("F", "M", "X"):
            assert rows.loc[(g, m), "difference"] == gm_b.by_group.loc[g, m] - gm_a.by_group.loc[g, m]
            assert rows.loc[(g, m), "a"] == gm_a.by_group.loc[g, m]
    for name in ("demographic_parity_difference", "equalized_odds_ratio"):
        assert cmp.disparities.loc[name, "a"] == pytest.approx(gm_a.headline().summary[name], abs=1e-15)
        assert cmp.disparities.loc[name, "b"] == pytest.approx(gm_b.headline().summary[name], abs=1e-15)


def test_which_groups_the_change_helps_or_hurts(planted):
    y, a, b, sex = planted
    cmp = compare_predictions(y, a, b, sex, names=("old", "new"), n_boot=300)
    verdicts = cmp.groups.set_index("group")["verdict"]
    assert verdicts["F"] == "helps" and verdicts["M"] == "hurts"
    assert bool(cmp.groups.set_index("group").loc["X", "small"])
    text = " ".join(cmp.sentences())
    assert "The change helps F (" in text and "Accuracy +0." in text and "The change hurts M" in text
    assert "Left out as too small to conclude from (fewer than 30 rows): X (n = " in text
    head = cmp.to_dict()["headline"]
    assert head["helps"] == ["F"] and head["hurts"] == ["M"]


def test_a_model_against_itself_changes_nothing(planted):
    y, a, _, sex = planted
    cmp = compare_predictions(y, a, a, sex, names=("v1", "v1"), n_boot=100)
    finite = cmp.by_group.dropna(subset=["difference"])
    assert (finite["difference"] == 0).all() and (finite["low"] == 0).all() and (finite["high"] == 0).all()
    assert (cmp.disparities["difference"] == 0).all()
    assert (cmp.disparities["high"] - cmp.disparities["low"] == 0).all()
    assert set(cmp.groups["verdict"]) == {"no clear change"}
    assert cmp.names == ("v1 (A)", "v1 (B)")  # table columns stay distinct


def test_rows_must_be_the_same_for_both():
    y = np.array([1, 0, 1, 0] * 10)
    sex = np.array(list("FFMM") * 10)
    b = pd.Series(y.astype(float))
    b.iloc[0] = np.nan
    with pytest.raises(AuditError) as err:
        compare_predictions(y, y, b.to_numpy(), sex, n_boot=5)
    assert str(err.value) == ("The two models' predictions leave out different rows (40 and 39 rows are "
                              "counted); a paired comparison needs both models scored on the same rows.")
