"""Explainer registry and explainers; every explainer returns ``Explanation`` objects.

>>> from glasswing.explainers import registry
>>> "shap" in registry
True
"""

# Built-in explainers register themselves on import; third-party ones arrive through entry points.
from glasswing.explainers import _image, _lime_tabular, _permutation_importance, _shap_tabular  # noqa: F401,I001
from glasswing.explainers._batch import ModelFile, explain_batch  # noqa: I001
from glasswing.explainers._global_sample import ChunkedRun, MeanAbsIntervals, mean_abs_intervals, stratified_positions  # noqa: E501,I001
from glasswing.explainers._counterfactual import Constraints, Counterfactuals, counterfactuals  # noqa: I001
from glasswing.explainers._explanation import Agreement, Explanation, Explanations, agreement, attribution_frame  # noqa: E501
from glasswing.explainers._image import faithfulness, mean_map_by_group  # noqa: E402,I001  (image maps)
from glasswing.explainers._registry import ExplainerError, ExplainerSpec, Param, explain, registry
from glasswing.explainers._rows import OUTCOMES, filter_rows, outcome_mask, rows_from_spec, sample_rows  # noqa: E402,I001
from glasswing.explainers._shap_choice import shap_algorithm  # noqa: E402,I001
from glasswing.explainers._tabular_model import check_known_values, known_categories, tabular_model  # noqa: E402,I001
from glasswing.explainers._targets import class_index, class_label, class_labels  # noqa: E402,I001

registry.freeze()

__all__ = ["ExplainerError", "ExplainerSpec", "Explanation", "Explanations", "Param", "explain", "registry"]
__all__ += ["Agreement", "agreement", "attribution_frame", "check_known_values", "known_categories",
            "rows_from_spec", "shap_algorithm", "tabular_model"]
__all__ += ["OUTCOMES", "class_index", "class_label", "class_labels", "filter_rows", "outcome_mask",
            "sample_rows"]
__all__ += ["Constraints", "Counterfactuals", "counterfactuals"]
__all__ += ["ModelFile", "explain_batch"]  # every row of a table, in chunks or worker processes
__all__ += ["ChunkedRun", "MeanAbsIntervals", "mean_abs_intervals", "stratified_positions"]
__all__ += ["faithfulness", "mean_map_by_group"]  # explainers.faithfulness.deletion_curve(...)
