"""The Mitigation page's decision-level sections: thresholds set by hand per group, and a review band.

Both act on the model's scores of the held-out rows (no retraining), through ``audits.group_thresholds``
and ``audits.review_band``; this module reads the widgets, makes the cached calls and renders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from glasswing import audits, ingest
from glasswing._csv import neutralise
from glasswing.audits._thresholds import row_groups
from glasswing.dashboard import _fairness as fair
from glasswing.dashboard import _mitigation as mit
from glasswing.dashboard._state import roles_key
from glasswing.dashboard._text import md
from glasswing.ingest import Dataset, Model

BAND = "mitigation.review_band"  # the last band shown, for the report: {"rule": ..., "shares": [...], ...}
MAX_SLIDERS = 24
RATES = ["selection_rate", "true_positive_rate", "false_positive_rate", "accuracy"]
TOO_MANY_GROUPS = ("{k} groups are too many to set by hand (at most {limit}); choose fewer sensitive "
                   "features or wider bands.")
NEED_UPLOAD = "Upload the training rows first: this section uses the held-out rows of the chosen split."


@st.cache_resource(max_entries=8, show_spinner="Scoring the held-out rows...")
def _scores(model_sha: str, test_sha: str, roles: tuple, _model: Model, _test: Dataset):
    """Return the held-out labels, the model's score of the favourable label, and that label."""
    classes = list(_model.classes_)
    positive = _test.positive_label if _test.positive_label in classes else classes[-1]
    frame = _test.frame[list(_model.feature_names)] if _model.feature_names else _test.X
    score = np.asarray(_model.predict_proba(frame)[:, classes.index(positive)], dtype=float)
    score.setflags(write=False)
    return _test.frame[_test.roles.target].to_numpy(), score, positive


@st.cache_resource(max_entries=32, show_spinner=False)
def _thresholded(model_sha: str, test_sha: str, roles: tuple, sensitive: tuple, bins: tuple, cuts: tuple,
                 min_n: int, _y_true, _score, _groups, _positive) -> audits.GroupThresholds:
    """``audits.group_thresholds`` once per model, rows, groups, thresholds and small-group size."""
    return audits.group_thresholds(_y_true, _score, _groups, dict(cuts), pos_label=_positive,
                                   min_group_size=min_n)


@st.cache_resource(max_entries=32, show_spinner=False)
def _band(model_sha: str, test_sha: str, roles: tuple, sensitive: tuple, bins: tuple, threshold: float,
          width: float, min_n: int, _y_true, _score, _groups, _positive) -> audits.ReviewBand:
    """``audits.review_band`` once per model, rows, groups, band and small-group size."""
    return audits.review_band(_y_true, _score, _groups, threshold=threshold, width=width,
                              pos_label=_positive, min_group_size=min_n)


def _inputs(model: Model, data: Dataset, source: str, upload, sensitive: list, bins: dict):
    """Return (held-out Dataset, y_true, score, positive label, groups frame), or None while awaiting rows."""
    split = mit.training_data(source, data, upload)
    if split is None:
        st.info(NEED_UPLOAD, icon=":material/info:")
        return None
    test = split[1]
    y_true, score, positive = _scores(model.sha256, test.sha256, roles_key(test), _model=model, _test=test)
    groups, _ = ingest.group_frame(test.frame, sensitive, bins)
    return test, y_true, score, positive, groups


def _interval_table(frame: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Each rate as "0.620 (0.551 to 0.684)": the value and its 95% Wilson interval."""
    out = frame.drop(columns=[c for c in frame.columns if c.endswith((" low", " high"))]).copy()
    for m in metrics:
        out[m] = [f"{v:.3f} ({lo:.3f} to {hi:.3f})" for v, lo, hi in
                  zip(frame[m], frame[f"{m} low"], frame[f"{m} high"], strict=True)]
    return out.rename(columns={m: audits.METRICS[m].label for m in metrics})


def _disparities(gm: audits.GroupMetrics, small: bool) -> pd.DataFrame:
    return fair.disparity_table(gm, headline=not small)


def thresholds_section(model: Model, data: Dataset, source: str, upload, sensitive: list, bins: dict,
                       min_n: int, small: bool) -> None:
    """One slider per group, the rates per group live, and the disparities that result, with intervals."""
    st.caption("Set one decision threshold per group yourself (a score at or above it is favourable) and "
               "see each group's rates and the disparities that result on the held-out rows. The threshold "
               "optimizer on the Methods tab picks (randomised) thresholds for a constraint instead.")
    inputs = _inputs(model, data, source, upload, sensitive, bins)
    if inputs is None:
        return
    test, y_true, score, positive, groups = inputs
    labels = row_groups(groups, len(groups)).labels
    if len(labels) > MAX_SLIDERS:
        st.info(TOO_MANY_GROUPS.format(k=len(labels), limit=MAX_SLIDERS), icon=":material/info:")
        return
    cols = st.columns(min(len(labels), 4))
    cuts = {g: cols[i % len(cols)].slider(md(g), 0.0, 1.0, 0.5, 0.01, key=f"mitigation.cut.{g}")
            for i, g in enumerate(labels)}
    key = (model.sha256, test.sha256, roles_key(test), tuple(sensitive), tuple(sorted(bins.items())))
    result = _with_small(_thresholded(*key, tuple(cuts.items()), min_n, _y_true=y_true, _score=score,
                                      _groups=groups, _positive=positive), small)
    st.markdown(f"**Rates per group** ({len(test):,} held-out rows of {md(test.name)}; favourable: "
                f"{md(repr(positive))}; 95% Wilson intervals)")
    st.dataframe(_interval_table(result.rates(RATES), RATES), key="mitigation.cut.rates")
    fair.warnings(result.metrics)
    left, right = st.columns(2)
    left.markdown("**Disparities with these thresholds**")
    left.dataframe(_disparities(result.metrics, small), hide_index=True, key="mitigation.cut.disparities")
    right.markdown("**Disparities at 0.5 for every group**")
    right.dataframe(_disparities(result.single, small), hide_index=True, key="mitigation.cut.single")
    scope = "every group" if small else f"groups with at least {min_n:,} held-out rows"
    st.caption(f"Disparities compare {scope} that have the counts each needs (score intervals: Newcombe for "
               "differences, Katz for ratios).")


def _with_small(result: audits.GroupThresholds, small: bool) -> audits.GroupThresholds:
    from dataclasses import replace

    return replace(result, metrics=replace(result.metrics, include_small_groups=small),
                   single=replace(result.single, include_small_groups=small))


def review_section(model: Model, data: Dataset, source: str, upload, sensitive: list, bins: dict,
                   min_n: int, small: bool) -> None:
    """Show the band's sliders, the share routed to review per group, and the automated disparities."""
    st.caption("Decisions whose score lies within a band around the threshold go to a person instead of "
               "being decided automatically. See who is routed to review, and the disparities among the "
               "decisions left to the model.")
    inputs = _inputs(model, data, source, upload, sensitive, bins)
    if inputs is None:
        return
    test, y_true, score, positive, groups = inputs
    left, right = st.columns(2)
    threshold = left.slider("Decision threshold", 0.0, 1.0, 0.5, 0.01, key="mitigation.band.threshold")
    width = right.slider("Band width (routed to review: threshold ± width / 2)", 0.0, 1.0, 0.1, 0.01,
                         key="mitigation.band.width")
    key = (model.sha256, test.sha256, roles_key(test), tuple(sensitive), tuple(sorted(bins.items())))
    band = _band(*key, float(threshold), float(width), min_n, _y_true=y_true, _score=score, _groups=groups,
                 _positive=positive)
    st.session_state[BAND] = band_summary(band, test, sensitive)
    st.markdown(md(band.rule))
    st.metric("Routed to review", f"{band.share_reviewed:.1%}",
              f"{int(band.in_band.sum()):,} of {len(band.in_band):,} held-out rows", delta_color="off")
    shares = band.shares.assign(share=[f"{v:.3f} ({lo:.3f} to {hi:.3f})" for v, lo, hi in
                                       zip(band.shares["share"], band.shares["low"], band.shares["high"],
                                           strict=True)]).drop(columns=["low", "high"])
    st.markdown("**Share routed to review, per group** (95% Wilson intervals)")
    st.dataframe(shares, key="mitigation.band.shares")
    automated = _replace_small(band.automated, small)
    fair.warnings(automated)
    left, right = st.columns(2)
    left.markdown("**Disparities among the automated decisions**")
    left.dataframe(_disparities(automated, small), hide_index=True, key="mitigation.band.disparities")
    right.markdown("**Disparities with no review (every row decided)**")
    right.dataframe(_disparities(_replace_small(band.all_automated, small), small), hide_index=True,
                    key="mitigation.band.every")
    st.download_button("Review queue (CSV)", queue_csv(band, test, score), file_name="review_queue.csv",
                       mime="text/csv", key="mitigation.band.queue",
                       help="The rows routed to review, closest to the threshold first, with their score.")


def _replace_small(gm: audits.GroupMetrics, small: bool) -> audits.GroupMetrics:
    from dataclasses import replace

    return replace(gm, include_small_groups=small)


def queue_csv(band: audits.ReviewBand, test: Dataset, score) -> bytes:
    """Return the review queue as CSV bytes (no cell can run as a spreadsheet formula)."""
    return neutralise(band.queue(test.frame, score)).to_csv(index_label="row").encode()


def band_summary(band: audits.ReviewBand, test: Dataset, sensitive: list) -> dict:
    """Return the band in plain values for the report: its rule, width, the share reviewed per group."""
    from glasswing.reports._build import review_band_section

    return {**review_band_section(band), "data": test.name, "sensitive": list(sensitive)}
