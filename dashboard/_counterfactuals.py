"""Counterfactual views: one row's counterfactuals (Explain: tabular) and the recourse burden (Fairness).

Thin rendering over ``explainers.counterfactuals`` and ``audits.recourse_burden_of``. Searches are cached by
the model's and the data's digests, the row(s) and every constraint; the burden searches its rows in chunks
(each cached on its own) behind a progress bar, so a stopped run resumes where it was. The burden shown is
kept in the session for the Report page.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from glasswing import audits, explainers
from glasswing.dashboard._text import md
from glasswing.explainers._counterfactual import DISTANCE, METHOD
from glasswing.ingest import Dataset, Model
from glasswing.ingest._sampling import sample_positions
from glasswing.reports.charts import burden_figure

#: Where the Fairness page keeps the burden it shows (``RecourseBurden.to_dict()``), for the Report page.
SHOWN = "fairness.burden.shown"
RUN = "fairness.burden.run"
CHUNK, SEED, N_BOOT = 10, 0, 1000
ANY = "Any other class"


def _numeric(data: Dataset, features: list[str]) -> list[str]:
    return [f for f in features if pd.api.types.is_numeric_dtype(data.frame[f])
            and not pd.api.types.is_bool_dtype(data.frame[f])]


def constraint_widgets(model: Model, data: Dataset, prefix: str, *, ranges: bool = True) -> dict:
    """Immutable and increase-only features and, optionally, ranges; return them as keyword arguments."""
    features = list(model.feature_names or data.roles.features)
    numeric = _numeric(data, features)
    left, right = st.columns(2)
    immutable = left.multiselect("Immutable features (never change)", features, key=f"{prefix}.immutable",
                                 default=[c for c in data.roles.sensitive if c in features],
                                 help="The sensitive features by default: a counterfactual must not ask "
                                      "anyone to change their sex, race or age group.")
    increase = right.multiselect("Features that can only increase",
                                 [f for f in numeric if f not in immutable], key=f"{prefix}.increase",
                                 help="Age, years of schooling, ...")
    out = {"immutable": tuple(immutable), "increase_only": tuple(increase), "ranges": ()}
    if ranges:
        with st.expander("Ranges of numeric features (default: the range in the data)"):
            start = pd.DataFrame({"feature": numeric, "low": [float(data.frame[f].min()) for f in numeric],
                                  "high": [float(data.frame[f].max()) for f in numeric]})
            edited = st.data_editor(start, key=f"{prefix}.ranges", hide_index=True, disabled=["feature"])
            out["ranges"] = tuple((r.feature, (float(r.low), float(r.high))) for r in edited.itertuples()
                                  if (r.low, r.high) != (start.set_index("feature").at[r.feature, "low"],
                                                         start.set_index("feature").at[r.feature, "high"]))
    return out


@st.cache_data(max_entries=64, show_spinner=False)
def _search(model_sha: str, data_sha: str, positions: tuple[int, ...], count: int, desired,
            constraints: tuple, seed: int, _model: Model, _data: Dataset) -> list:
    c = dict(constraints)
    return explainers.counterfactuals(_model, _data.frame.iloc[list(positions)], reference=_data.frame,
                                      count=count, desired=desired, immutable=c["immutable"],
                                      increase_only=c["increase_only"], ranges=dict(c["ranges"]), seed=seed,
                                      threshold=c.get("threshold"))


def search(model: Model, data: Dataset, positions: list[int], *, count: int, desired, constraints: dict,
           seed: int = SEED) -> list:
    """``explainers.counterfactuals`` of the rows at ``positions``, cached by content and settings."""
    return _search(model.sha256, data.sha256, tuple(int(p) for p in positions), int(count), desired,
                   tuple(sorted(constraints.items())), int(seed), _model=model, _data=data)


def row_section(model: Model, data: Dataset, row: int, seed: int) -> None:
    """Show one row's counterfactuals: constraints as widgets, then the table of changed features only."""
    st.caption("What would have to change for this row to get another decision? A few diverse, small "
               f"changes that respect the constraints below, each scored again by the model. {md(METHOD)}. "
               f"{md(DISTANCE)}")
    constraints = constraint_widgets(model, data, "xt.cf")
    classes = [ANY, *explainers.class_labels(model)]
    left, right = st.columns(2)
    desired = left.selectbox("Class to reach", classes, key="xt.cf.desired")
    count = int(right.number_input("Counterfactuals", 1, 10, 3, key="xt.cf.count"))
    with st.spinner(f"Searching counterfactuals for row {row}..."):
        (found,) = search(model, data, [row], count=count, desired=None if desired == ANY else desired,
                          constraints=constraints, seed=seed)
    if found.reason:
        st.info(md(found.reason), icon=":material/info:")
        return
    st.markdown(f"Row **{row}** is predicted **{md(repr(found.predicted))}**; {len(found)} "
                f"counterfactual{'s' if len(found) > 1 else ''}, each re-scored by the model "
                f"({md(found.constraints.describe())}):")
    st.dataframe(shown_changes(found), width="stretch", key="xt.cf.table")


def shown_changes(found) -> pd.DataFrame:
    """Return the changed features as text: unchanged cells blank, distances and probabilities rounded."""
    table = found.changes()
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        digits = column in ("distance", "probability")
        out[column] = ["" if pd.isna(v) else f"{v:.3f}" if digits else str(v) for v in table[column]]
    return out


# ---------------------------------------------------------------------------------------- burden
@st.cache_data(max_entries=256, show_spinner=False)
def _chunk_costs(model_sha: str, data_sha: str, positions: tuple[int, ...], desired, constraints: tuple,
                 _model: Model, _data: Dataset) -> list[float]:
    c = dict(constraints)
    found = explainers.counterfactuals(_model, _data.frame.iloc[list(positions)], reference=_data.frame,
                                       count=1, desired=desired, immutable=c["immutable"],
                                       increase_only=c["increase_only"], ranges=dict(c["ranges"]),
                                       threshold=c.get("threshold"), n_samples=300, seed=SEED)
    return [f.cheapest for f in found]


def burden(model: Model, data: Dataset, *, sensitive: list[str], favourable, constraints: dict, bins: tuple,
           merge: int, min_n: int, max_rows: int) -> audits.RecourseBurden:
    """Return the recourse burden over (a seeded sample of) the rows, chunk by chunk with a progress bar."""
    rows = sample_positions(len(data), max_rows, SEED).tolist() if len(data) > max_rows else None
    c = dict(constraints)
    chosen = audits.recourse_rows(model, data, sensitive=sensitive, favourable=favourable, rows=rows,
                                  immutable=c["immutable"], threshold=c.get("threshold"), bins=dict(bins),
                                  merge_below=merge)
    key = tuple(sorted({**c, "immutable": tuple(chosen.immutable)}.items()))
    positions = [int(p) for p in chosen.positions]
    bar = st.progress(0.0, text=f"Searching counterfactuals for {len(positions):,} refused rows...")
    costs: list[float] = []
    for start in range(0, len(positions), CHUNK):
        part = tuple(positions[start:start + CHUNK])
        costs += _chunk_costs(model.sha256, data.sha256, part, chosen.favourable, key, _model=model,
                              _data=data)
        bar.progress(min(1.0, (start + CHUNK) / len(positions)),
                     text=f"Searched {min(start + CHUNK, len(positions)):,} of {len(positions):,} rows")
    bar.empty()
    return audits.recourse_burden_of(model, data, sensitive=sensitive, favourable=chosen.favourable,
                                     rows=rows, immutable=chosen.immutable, increase_only=c["increase_only"],
                                     ranges=dict(c["ranges"]), threshold=c.get("threshold"), bins=dict(bins),
                                     merge_below=merge, n_boot=N_BOOT, seed=SEED, min_group_size=min_n,
                                     costs=costs)


def burden_section(data: Dataset, model: Model | None, *, columns: tuple, bins: tuple, merge: int, positive,
                   min_n: int, threshold: float | None, key: str) -> None:
    """Show the Fairness page's recourse burden: who has to change more to get the favourable decision."""
    st.subheader("Recourse burden")
    st.caption("Over the rows the model refuses: the average distance to each row's cheapest counterfactual, "
               "by group, with bootstrap intervals (the burden of Sharma et al., CERTIFAI 2020). A model can "
               f"pass demographic parity and still ask much more change of one group. {md(DISTANCE)}")
    if model is None or model.modality != "tabular":
        st.info("The recourse burden needs a tabular model: load one on the Model & data page.",
                icon=":material/info:")
        return
    constraints = constraint_widgets(model, data, f"{key}.burden", ranges=False)
    constraints["threshold"] = threshold
    max_rows = int(st.number_input("Rows to search (a seeded sample when the data has more)", 10, 100_000,
                                   min(len(data), 300), step=50, key=f"{key}.burden.rows",
                                   help="Each refused row takes about a tenth of a second to a second."))
    settings = (columns, bins, merge, positive, min_n, max_rows, tuple(sorted(constraints.items())))
    if st.button("Compute the recourse burden", key=f"{key}.burden.run", icon=":material/directions_walk:"):
        st.session_state[RUN] = settings
    if st.session_state.get(RUN) != settings:
        st.session_state.pop(SHOWN, None)  # the Report page includes only a burden the page shows
        st.caption("Press the button to search counterfactuals for every refused row (cached afterwards).")
        return
    result = burden(model, data, sensitive=list(columns), favourable=positive, constraints=constraints,
                    bins=bins, merge=merge, min_n=min_n, max_rows=max_rows)
    st.session_state[SHOWN] = result.to_dict()
    o = result.overall
    st.markdown(f"**{md(result.sentence)}**")
    st.caption(f"{o['n_unfavourable']:,} refused rows, {o['n_found']:,} with a counterfactual "
               f"({md(result.constraints)}) {md(result.method)}")
    st.plotly_chart(burden_figure(result), key=f"{key}.burden.figure", width="stretch")
    st.dataframe(result.table(), hide_index=True, width="stretch")
    if o["n_not_found"]:
        st.warning(f"{o['n_not_found']:,} refused rows have no counterfactual within the constraints; they "
                   "are counted in the table and left out of the averages.",
                   icon=":material/warning:")
