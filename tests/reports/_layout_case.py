"""Synthetic audits with many intersectional groups of very unequal sizes, for the PDF layout tests.

``region`` x ``band`` groups: the largest has 4,000 rows, sizes fall geometrically to a handful of rows,
one region's name is too long for two lines of a chart label, and one group gets no positive prediction
at all.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pandas as pd

from glasswing.ingest import ColumnRoles, Dataset

REGIONS = ("North", "South-East Coastal", "West",
           "Autonomous Region of the Far South-Western Islands and Outlying Reefs", "Central Highlands",
           "East", "Lakes", "Capital", "Valley", "Delta")
BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
ZERO_POSITIVE = 3  # the fourth group (in order of size) is never predicted positive


def layout_dataset(groups: int, seed: int = 0) -> Dataset:
    """A dataset with logged predictions and exactly ``groups`` (region, band) groups (1 to 60)."""
    rng = np.random.default_rng(seed)
    pairs = list(itertools.product(REGIONS, BANDS))[:groups] if groups > len(REGIONS) else \
        [(r, BANDS[i % len(BANDS)]) for i, r in enumerate(REGIONS[:groups])]
    parts = []
    for i, (region, band) in enumerate(pairs):
        n = max(6, round(4000 * 0.82 ** i))
        y = rng.random(n) < 0.2 + 0.5 * rng.random()
        pred = rng.random(n) < np.where(y, 0.5 + 0.4 * rng.random(), 0.1 + 0.3 * rng.random())
        if i == ZERO_POSITIVE:
            pred[:] = False
        parts.append(pd.DataFrame({"region": region, "band": band, "y": y.astype(int),
                                   "pred": pred.astype(int)}))
    frame = pd.concat(parts, ignore_index=True)
    roles = ColumnRoles(target="y", prediction="pred", sensitive=("region", "band"))
    digest = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    return Dataset(frame, roles, f"groups{groups}.csv", digest)


def layout_report(groups: int):
    """The report of :func:`layout_dataset` (a short bootstrap: the layout, not the intervals, is tested)."""
    from glasswing import audits
    from glasswing.reports import build_report

    data = layout_dataset(groups)
    return build_report(data, metrics=audits.audit_dataset(data, n_boot=50), title=f"{groups} groups")


def sections_report(groups: int):
    """:func:`layout_report` with the optional sections: fairness check, a second model compared, burden.

    The second model flips a tenth of the first one's predictions; the burden's costs are planted
    (1 + the group's position), not searched.
    """
    from glasswing import audits
    from glasswing.reports import build_report

    data = layout_dataset(groups)
    frame = data.frame
    rng = np.random.default_rng(1)
    other = np.where(rng.random(len(frame)) < 0.1, 1 - frame["pred"], frame["pred"])
    sensitive = frame[["region", "band"]]
    comparison = audits.compare_predictions(frame["y"], frame["pred"], other, sensitive, n_boot=20,
                                            names=("logged", "flipped"))
    refused = frame["pred"] == 0
    codes = sensitive.apply(tuple, axis=1).astype("category").cat.codes
    burden = audits.recourse_burden((1.0 + codes[refused]).to_numpy(dtype=float), sensitive[refused],
                                    n_boot=20)
    return build_report(data, metrics=audits.audit_dataset(data, n_boot=50), title=f"{groups} groups",
                        fairness_check=True, comparison=comparison, burden=burden)
