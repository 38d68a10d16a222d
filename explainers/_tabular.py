"""Tabular explainers: SHAP, LIME, permutation importance (registered on import)."""
