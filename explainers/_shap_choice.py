"""Choosing SHAP's algorithm for a tabular model: ordered capability checks, each with its reason."""

from __future__ import annotations

from typing import Any

from glasswing.explainers._registry import ExplainerError
from glasswing.explainers._tabular_model import TabularModel, tabular_model

TREE_NEEDS = "SHAP's TreeExplainer needs a scikit-learn tree ensemble; this is {name}."
TREE_MULTICLASS_GB = ("SHAP's TreeExplainer handles GradientBoostingClassifier with two classes only; this "
                      "one has {n}.")
LINEAR_NEEDS = "SHAP's LinearExplainer needs a logistic regression; this is {name}."
UNMAPPABLE = ("{explainer} explains the preprocessed columns, and this pipeline's {step} step cannot be "
              "mapped back to the original features.")
UNKNOWN_ALGORITHM = "SHAP has no algorithm '{name}'; choose one of: {names}."

#: Final estimators whose trees shap's TreeExplainer reads, and the unit of their leaves.
TREE_ENSEMBLES = {
    "DecisionTreeClassifier": "probability", "RandomForestClassifier": "probability",
    "ExtraTreesClassifier": "probability", "GradientBoostingClassifier": "log-odds",
    "HistGradientBoostingClassifier": "log-odds",
}
LINEAR_MODELS = ("LogisticRegression", "LogisticRegressionCV")
SHAP_ALGORITHMS = ("auto", "tree", "linear", "permutation", "kernel")
ALGORITHM_NAMES = {"tree": "TreeExplainer", "linear": "LinearExplainer",
                   "permutation": "PermutationExplainer", "kernel": "KernelExplainer"}
FAST_ALGORITHMS = ("tree", "linear")


def _why_not_tree(tm: TabularModel) -> str | None:
    name = tm.final_name
    if tm.final is None or name not in TREE_ENSEMBLES:
        return TREE_NEEDS.format(name=name)
    if name == "GradientBoostingClassifier" and len(tm.model.classes_) > 2:
        return TREE_MULTICLASS_GB.format(n=len(tm.model.classes_))
    if tm.source is None:
        return UNMAPPABLE.format(explainer="TreeExplainer", step=tm.unmapped)
    return None


def _why_not_linear(tm: TabularModel) -> str | None:
    if tm.final is None or tm.final_name not in LINEAR_MODELS:
        return LINEAR_NEEDS.format(name=tm.final_name)
    if tm.source is None:
        return UNMAPPABLE.format(explainer="LinearExplainer", step=tm.unmapped)
    return None


_CHECKS = {"tree": _why_not_tree, "linear": _why_not_linear,
           "permutation": lambda tm: None, "kernel": lambda tm: None}
_WHY = {
    "tree": "{name} is a tree ensemble, so TreeExplainer computes exact SHAP values from its trees "
            "(path-dependent, in {output}).",
    "linear": "{name} is linear in the log-odds, so LinearExplainer computes exact SHAP values: each "
              "coefficient times the feature's distance from the background mean.",
    "permutation": "SHAP's Permutation explainer needs only the model's predictions; it averages feature "
                   "orderings against a background sample (in log-odds).",
    "kernel": "SHAP's Kernel explainer needs only the model's predictions; it fits a weighted linear model "
              "over feature coalitions against a background sample (in log-odds).",
}


def shap_algorithm(model: Any, algorithm: str = "auto") -> tuple[str, str]:
    """Choose the SHAP algorithm for ``model``: the first of tree, linear, permutation that applies.

    Parameters
    ----------
    model : ingest.Model
        A tabular model.
    algorithm : {"auto", "tree", "linear", "permutation", "kernel"}
        ``"auto"`` walks the list; any other value is checked and used.

    Returns
    -------
    (str, str)
        The algorithm (``"tree"``, ...) and, in words, why it was chosen.

    Raises
    ------
    ExplainerError
        When the requested algorithm cannot explain this model (the sentence says why).
    """
    return choose_algorithm(tabular_model(model), algorithm)


def choose_algorithm(tm: TabularModel, algorithm: str = "auto") -> tuple[str, str]:
    """``shap_algorithm`` for a model already split by ``tabular_model``."""
    if algorithm not in SHAP_ALGORITHMS:
        raise ExplainerError(UNKNOWN_ALGORITHM.format(name=algorithm, names=", ".join(SHAP_ALGORITHMS)))
    if algorithm != "auto":
        why = _CHECKS[algorithm](tm)
        if why is not None:
            raise ExplainerError(why)
        return algorithm, "Chosen by you. " + _why(algorithm, tm)
    for name in ("tree", "linear", "permutation"):
        if _CHECKS[name](tm) is None:
            return name, _why(name, tm)
    raise AssertionError("the permutation explainer applies to every tabular model")  # pragma: no cover


def _why(algorithm: str, tm: TabularModel) -> str:
    output = TREE_ENSEMBLES.get(tm.final_name, "")
    if output == "log-odds" and len(tm.model.classes_) > 2:
        output = "raw class scores"
    return _WHY[algorithm].format(name=tm.final_name, output=output)
