"""What the benchmarks compare against, written once: fairlearn's MetricFrame on the synthetic table."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

#: The rates Glasswing's group metrics report, as fairlearn / scikit-learn metric functions.
RATES = ("selection_rate", "true_positive_rate", "false_positive_rate", "false_negative_rate",
         "true_negative_rate", "precision", "negative_predictive_value", "accuracy", "base_rate")


def fairlearn_metrics(names=RATES) -> dict:
    """Return ``{name: metric function}`` for fairlearn's ``MetricFrame``, in Glasswing's names."""
    from fairlearn.metrics import (
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_negative_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    table = {
        "selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate, "false_negative_rate": false_negative_rate,
        "true_negative_rate": true_negative_rate,
        "precision": functools.partial(precision_score, zero_division=0),
        "negative_predictive_value": functools.partial(precision_score, pos_label=0, zero_division=0),
        "accuracy": accuracy_score, "base_rate": lambda y_true, y_pred: float(np.mean(y_true)),
    }
    return {name: table[name] for name in names}


def metric_frame(frame: pd.DataFrame, names=RATES, sensitive=("sex", "race")):
    """fairlearn's ``MetricFrame`` of ``names`` over ``frame``'s ``y_true`` / ``y_pred`` by ``sensitive``."""
    from fairlearn.metrics import MetricFrame

    return MetricFrame(metrics=fairlearn_metrics(names), y_true=frame["y_true"], y_pred=frame["y_pred"],
                       sensitive_features=frame[list(sensitive)])


def synthetic(n: int, seed: int) -> pd.DataFrame:
    """``sample_data``'s synthetic scored rows with the group columns as plain strings, not categoricals."""
    from glasswing.sample_data.build import synthetic_scored

    return synthetic_scored(n, seed).astype({"sex": object, "race": object})


def status_mb(field: str, pid: str = "self") -> float | None:
    """A memory figure of a process from /proc/PID/status (Linux) in MiB, e.g. ``VmHWM``; None if absent.

    ``VmHWM`` rather than ``ru_maxrss``: Linux keeps ru_maxrss across exec, so a child would report its
    parent's peak.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
