"""Image explainers: Grad-CAM, Integrated Gradients, LIME and SHAP maps (registered on import)."""
