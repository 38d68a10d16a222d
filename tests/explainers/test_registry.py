"""The explainer registry: what applies to which model (and why not), shared invariants, plug-ins."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from glasswing import explainers
from glasswing.explainers import ExplainerError, ExplainerSpec, explain, registry
from glasswing.ingest import ImagePreprocess, Model
from tests.explainers.test_tabular import background, german_model, rows

ROOT = Path(__file__).resolve().parents[2]
TABULAR = ("shap", "lime", "permutation_importance")


def tiny_cnn() -> Model:
    """A small, seeded convolutional classifier over 16 x 16 RGB images (3 classes)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3))
    return Model.from_torch(net, preprocess=ImagePreprocess(size=(16, 16)), classes=["a", "b", "c"],
                            name="tiny_cnn", sha256="test-cnn")


def images(n: int = 2) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8) for _ in range(n)]


def test_registry_lists_what_applies_and_says_why_not_for_the_rest():
    ok, why = registry.applicable(german_model("gbm"))
    assert [s.name for s in ok] == list(TABULAR)
    assert set(why) == {s.name for s in registry} - set(TABULAR)
    assert all(reason == "it works on image models and this is a tabular model." for reason in why.values())

    ok, why = registry.applicable(tiny_cnn())
    assert not {s.name for s in ok} & set(TABULAR)
    assert why["shap"] == "it works on tabular models and this is an image model."


def test_explain_refuses_with_sentences():
    model = german_model("gbm")
    with pytest.raises(ExplainerError) as err:
        explain(tiny_cnn(), images(1), method="shap")
    assert str(err.value) == ("SHAP cannot explain this model: it works on tabular models and this is an "
                              "image model.")
    with pytest.raises(ExplainerError) as err:
        explain(model, rows(1), method="anchors")
    assert str(err.value) == ("There is no explainer called 'anchors'; available: "
                              f"{', '.join(registry._entries)}.")
    with pytest.raises(ExplainerError) as err:
        explain(model, rows(1), method="lime", samples=10)
    assert str(err.value) == ("LIME has no parameter samples; it takes: num_samples, num_features, seed, "
                              "background.")
    with pytest.raises(ExplainerError) as err:
        explain(model, rows(1), method="lime", num_samples=5)
    assert str(err.value) == "LIME's num_samples must be between 100 and 100000; got 5."
    with pytest.raises(ExplainerError) as err:
        explain(model, rows(1), method="shap", seed=-1)
    assert str(err.value) == "SHAP's seed must be at least 0; got -1."


def test_registry_is_read_only_after_import():
    spec = ExplainerSpec(name="late", label="Late", modalities=("tabular",), run=lambda *a, **k: [])
    with pytest.raises(RuntimeError):
        registry.register(spec)
    assert "late" not in registry


# --- every entry through the same invariants (captum's test_config pattern) --------------------------------
#: Per-method parameters that keep each run small; entries without a row run with their defaults.
FAST = {
    "shap": {"background_size": 20},
    "lime": {"num_samples": 300},
    "permutation_importance": {"n_repeats": 2},
    "integrated_gradients": {"n_steps": 4},
    "lime_image": {"num_samples": 50, "n_segments": 8},
    "shap_image": {"max_evals": 60},
}


@pytest.mark.parametrize("name", [s.name for s in registry])
def test_every_entry_keeps_the_explanation_contract(name):
    spec = registry.get(name)
    if "tabular" in spec.modalities:
        model, inputs = german_model("gbm"), rows(2)
        extra = {"background": background()} if any(p.name == "background" for p in spec.params) else {}
    else:
        model, inputs, extra = tiny_cnn(), images(2), {}
    assert spec.applies_to(model) is None, spec.applies_to(model)
    out = explain(model, inputs, method=name, **FAST.get(name, {}), **extra)
    assert len(out) == (1 if spec.scope == "global" else len(inputs))
    for i, e in enumerate(out):
        assert e.method == name and e.algorithm
        values = np.asarray(e.values, dtype=float)
        assert np.isfinite(values).all()
        if "tabular" in spec.modalities:
            assert values.shape == (len(model.feature_names),) and e.feature_names == model.feature_names
        else:
            assert values.shape == inputs[i].shape[:2]
        if spec.scope == "local":
            assert e.target in model.classes_.tolist()
            assert e.prediction is not None and np.isfinite(e.prediction)
        if e.base_value is not None:  # additivity, wherever a base value is claimed
            assert e.base_value + values.sum() == pytest.approx(e.prediction, rel=1e-6, abs=1e-6)
        assert set(spec.defaults()) - {"background", "y_true"} <= set(e.params)


# --- third-party explainers through the entry-point group ------------------------------------------------
PLUGIN = '''
import numpy as np
from glasswing.explainers import Explanation, ExplainerSpec

def run(model, inputs, *, target=None, scale=1.0):
    return [Explanation("constant", "Constant", 1, np.full(len(inputs.columns), scale),
                        tuple(inputs.columns)) for _ in range(len(inputs))]

SPEC = ExplainerSpec(name="constant", label="Constant", modalities=("tabular",), run=run)
BROKEN = object()
'''


def test_entry_point_plugin_joins_the_registry(tmp_path):
    (tmp_path / "gw_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "gw_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: gw-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[glasswing.explainers]\nconstant = gw_plugin:SPEC\nbroken = gw_plugin:BROKEN\n")
    script = textwrap.dedent("""
        import logging, pandas as pd
        logging.basicConfig(level=logging.ERROR, format="%(message)s")
        from glasswing import explainers
        from glasswing.ingest import Model
        print("constant" in explainers.registry, "broken" in explainers.registry)
        spec = explainers.registry.get("constant")
        out = spec.run(None, pd.DataFrame({"a": [1], "b": [2]}), scale=2.0)
        print(out[0].values.tolist())
    """)
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["True False", "[2.0, 2.0]"]
    assert "Explainer plug-in 'broken' is not an ExplainerSpec; ignored." in done.stderr


def test_explainers_import_is_light():
    """Importing the registry must not pull in shap, lime or streamlit (they load on first use)."""
    code = ("import sys, explainers; "
            "print(sorted(m for m in ('shap', 'lime', 'streamlit') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_public_surface():
    for name in explainers.__all__:
        assert hasattr(explainers, name), name
