"""Cached calls of the Error analysis page: the error tree and the fairness audit inside each cohort.

Both are keyed by the digests of the data and the model, the roles and the settings, so a widget change
that needs no new tree re-renders from the cache; each cohort's audit is cached on its own and the page
shows a progress bar between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from glasswing import audits
from glasswing.ingest import Dataset, Model

LOGGED, SCORES, MODEL = "logged", "scores", "model"


@dataclass(frozen=True)
class Source:
    """Where the predictions come from: logged predictions, logged scores at a threshold, the loaded model."""

    kind: str
    text: str


def sources(data: Dataset, model: Model | None) -> list[Source]:
    """Return the prediction sources available: logged predictions, the loaded tabular model."""
    out = []
    if data.roles.prediction:
        out.append(Source(LOGGED, f"Logged predictions (column '{data.roles.prediction}')"))
    if data.roles.score:
        out.append(Source(SCORES, f"Logged scores (column '{data.roles.score}') at a threshold"))
    if model is not None and model.modality == "tabular":
        out.append(Source(MODEL, f"Model '{model.name}' predictions"))
    return out


@st.cache_data(max_entries=16, show_spinner=False)
def analysis(data_sha: str, model_sha: str, roles: tuple, features: tuple, max_depth: int, min_rows: int,
             alpha: float, threshold: float | None = None, *, _data: Dataset,
             _model: Model | None) -> audits.ErrorAnalysis:
    """``audits.error_analysis_dataset`` once per data, model, roles and settings."""
    return audits.error_analysis_dataset(_data, _model, features=list(features), max_depth=max_depth,
                                         min_rows=min_rows, alpha=alpha, threshold=threshold)


@st.cache_data(max_entries=256, show_spinner=False)
def _cohort_fairness(data_sha: str, model_sha: str, roles: tuple, rule: str, sensitive: tuple, min_n: int,
                     *, _data: Dataset, _model: Model | None, _result: audits.ErrorAnalysis,
                     _cohort: audits.Cohort) -> dict:
    table = audits.fairness_by_cohort(_data, _result, _model, sensitive=list(sensitive), cohorts=[_cohort],
                                      min_group_size=min_n)
    return table.iloc[0].to_dict()


def fairness_per_cohort(data: Dataset, model: Model | None, roles: tuple, result: audits.ErrorAnalysis,
                        sensitive: list[str], min_n: int) -> pd.DataFrame:
    """Audit fairness inside every cohort, one by one with a progress bar (each cohort cached)."""
    cohorts = result.cohorts
    bar = st.progress(0.0, text=f"Auditing {len(cohorts)} cohorts...")
    rows = []
    for i, cohort in enumerate(cohorts):
        rows.append(_cohort_fairness(data.sha256, model.sha256 if model is not None else "", roles,
                                     cohort.rule, tuple(sensitive), min_n, _data=data, _model=model,
                                     _result=result, _cohort=cohort))
        bar.progress((i + 1) / len(cohorts), text=f"Audited {i + 1} of {len(cohorts)} cohorts")
    bar.empty()
    return pd.DataFrame(rows)


def cohort_table(result: audits.ErrorAnalysis) -> pd.DataFrame:
    """Return the cohorts for display: rule, error rate with its interval, coverage, rows, errors."""
    table = result.table()
    return pd.DataFrame({
        "cohort": table["cohort"], "error rate": table["error_rate"].round(3),
        f"{result.confidence:.0%} interval": [f"{lo:.3f} to {hi:.3f}" for lo, hi in
                                              zip(table["error_rate_low"], table["error_rate_high"],
                                                  strict=True)],
        "coverage of errors": [f"{c:.1%}" for c in table["coverage"]], "n": table["n"],
        "errors": table["errors"]}).reset_index(drop=True)


def option_text(result: audits.ErrorAnalysis, id: int) -> str:  # noqa: A002 - a cohort's id
    """How a cohort reads in the chooser: rule, error rate, rows."""
    c = result.cohort(id)
    return f"{c.rule} (error rate {c.error_rate:.3f}, n = {c.n:,})"
