"""Fairness audits: group metrics and disparities, bias mitigation, audit history.

Each module adds its public names here with a one-line import; keep ``__all__`` in step.
"""

from glasswing.audits._audit import audit_dataset
from glasswing.audits._baseline import baseline_model
from glasswing.audits._burden import RecourseBurden, recourse_burden, recourse_burden_of, recourse_rows
from glasswing.audits._compare import ModelComparison, compare_models, compare_predictions
from glasswing.audits._errors import (
    Cohort,
    Condition,
    ErrorAnalysis,
    cohort_dataset,
    error_analysis,
    error_analysis_dataset,
    fairness_by_cohort,
)
from glasswing.audits._fair_loss import fair_loss_sweep
from glasswing.audits._fairness_check import CHECK_METRICS, FairnessCheck, confusion_by_group, fairness_check
from glasswing.audits._history import (
    AuditRun,
    History,
    HistoryError,
    compare_runs,
    open_history,
    run_from_dict,
    run_to_dict,
)
from glasswing.audits._intervals import wilson_interval
from glasswing.audits._metrics import group_metrics, group_metrics_views, threshold_sweep
from glasswing.audits._mitigation import (
    CONSTRAINTS,
    EG_FULL_MAX_ITER,
    EG_MAX_ITER,
    METHODS,
    NO_EXPORT,
    MitigationMethod,
    MitigationResult,
    MitigationStopped,
    check_method,
    holdout_split,
    method_params,
    mitigate,
)
from glasswing.audits._performance import accuracy_by_group, auc_score, macro_ovr_auc, model_performance
from glasswing.audits._pushdown import group_metrics_parquet
from glasswing.audits._resampling import expected_cell_sizes, preferential_sample, uniform_sample
from glasswing.audits._result import DISPARITIES, FourFifths, GroupMetrics
from glasswing.audits._review_band import ReviewBand, review_band
from glasswing.audits._reweighing import MitigationError, Reweighing, reweighing_weights
from glasswing.audits._sweep import ThresholdSweep, threshold_grid
from glasswing.audits._table import METRICS, Metric
from glasswing.audits._thresholds import GroupThresholds, group_thresholds
from glasswing.audits._validate import AuditError

__all__: list[str] = []
__all__ += ["NO_EXPORT"]
__all__ += ["CONSTRAINTS", "METHODS", "MitigationError", "MitigationMethod", "MitigationResult", "Reweighing",
            "check_method", "holdout_split", "mitigate", "reweighing_weights"]
__all__ += ["EG_FULL_MAX_ITER", "EG_MAX_ITER", "MitigationStopped"]
__all__ += ["GroupThresholds", "ReviewBand", "group_thresholds", "review_band"]
__all__ += ["fair_loss_sweep"]
__all__ += ["baseline_model", "expected_cell_sizes", "method_params", "preferential_sample", "uniform_sample"]
__all__ += ["AuditRun", "History", "HistoryError", "compare_runs", "open_history", "run_from_dict",
            "run_to_dict"]
__all__ += ["accuracy_by_group", "auc_score", "macro_ovr_auc", "model_performance"]
__all__ += ["AuditError", "DISPARITIES", "FourFifths", "GroupMetrics", "METRICS", "Metric", "audit_dataset",
            "group_metrics", "group_metrics_parquet", "group_metrics_views", "threshold_sweep",
            "ThresholdSweep", "threshold_grid",
            "wilson_interval"]
__all__ += ["ModelComparison", "compare_models", "compare_predictions"]
__all__ += ["CHECK_METRICS", "FairnessCheck", "confusion_by_group", "fairness_check"]
__all__ += ["Cohort", "Condition", "ErrorAnalysis", "cohort_dataset", "error_analysis",
            "error_analysis_dataset",
            "fairness_by_cohort"]
__all__ += ["RecourseBurden", "recourse_burden", "recourse_burden_of", "recourse_rows"]
