"""Pure plotly figure builders shared by the dashboard and the reports."""

from glasswing.reports.charts._burden import burden_figure
from glasswing.reports.charts._checks import comparison_figure, confusion_figure, fairness_check_figure
from glasswing.reports.charts._errors import error_tree_figure
from glasswing.reports.charts._fairness import (
    calibration_figure,
    disparity_figure,
    fairness_bars,
    four_fifths_figure,
    threshold_figure,
)
from glasswing.reports.charts._image import (
    COLORMAPS,
    deletion_figure,
    group_maps_figure,
    heatmap_figure,
    overlay_image,
    top_predictions_figure,
)
from glasswing.reports.charts._mitigation import (
    WHEN_TO_USE,
    mitigation_groups_figure,
    mitigation_tradeoff_figure,
    mitigation_tradeoff_svg,
    pareto_front,
)
from glasswing.reports.charts._tabular import (
    beeswarm_figure,
    dependence_figure,
    lime_figure,
    permutation_importance_figure,
    shap_importance_figure,
    waterfall_figure,
)

__all__: list[str] = []
__all__ += ["mitigation_groups_figure", "mitigation_tradeoff_figure"]
__all__ += ["WHEN_TO_USE", "mitigation_tradeoff_svg", "pareto_front"]
__all__ += ["calibration_figure", "disparity_figure", "fairness_bars", "four_fifths_figure",
            "threshold_figure"]
__all__ += ["COLORMAPS", "deletion_figure", "group_maps_figure", "heatmap_figure", "overlay_image",
            "top_predictions_figure"]
__all__ += ["beeswarm_figure", "dependence_figure", "lime_figure", "permutation_importance_figure",
            "shap_importance_figure", "waterfall_figure"]
__all__ += ["comparison_figure", "confusion_figure", "fairness_check_figure"]
__all__ += ["error_tree_figure"]
__all__ += ["burden_figure"]
