"""The three slow views of the usability walk (issue 14), each against the library call it rests on.

Every contender runs in a fresh interpreter, as a server meets it the first time (the heavy imports
count), after the model is loaded (as the Model & data page has done before); then once more warm.

- ``global``: what the Explain: tabular page's Global tab computes on German Credit's 1,000 rows with the
  sample gradient-boosting pipeline: ``explain(method="shap")`` (TreeSHAP, the default unit) and
  permutation importance (5 shuffles, true labels). Reference: ``shap.TreeExplainer(final).shap_values``
  on the preprocessed rows plus ``sklearn.inspection.permutation_importance`` on the pipeline.
- ``ig``: Integrated Gradients (32 steps, black baseline) of one 160 x 200 image with the sample digits
  CNN, with its deletion curve, as the Explain: images page asks. Reference: captum's
  ``IntegratedGradients(...).attribute`` on the same preprocessed tensor (no deletion curve);
  ``ours_warm_no_curve_s`` is ours without the curve.
- ``images``: the first run of the Explain: images page (Streamlit's AppTest, digits model and the 20
  sample images in the session): top predictions, Grad-CAM and its deletion curve. Reference: captum's
  ``LayerGradCam`` of the same image on the same layer, from its import on.

Prints one JSON line: per view ``ours_cold_s``, ``ref_cold_s``, their ``ratio_cold`` (ours / reference), and
the warm figures. Best of ``--repeats`` rounds, ours and the reference alternating so that both see the
same machine load.

Run: ``.venv/bin/python bench/explain_views.py [--views global ig images] [--repeats 2]``. To measure
another checkout (say the commit before a change), give ``--pythonpath DIR`` (a folder holding a
``glasswing`` package laid out as installed) and ``--app DIR/dashboard/app.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIEWS = ("global", "ig", "images")


# ----------------------------------------------------------------------------------------- children
def _global(ours: bool) -> dict:
    from glasswing.ingest import samples

    model, data = samples.german_model("gbm"), samples.german_dataset("all")
    rows, y = data.frame, data.y_true

    def run():
        if ours:
            from glasswing import explainers

            explainers.explain(model, rows, method="shap", background=rows, algorithm="auto",
                               background_size=100, seed=0, output="auto", target=1)
            explainers.explain(model, rows, method="permutation_importance", y_true=y, n_repeats=5, seed=0)
        else:
            import shap
            from sklearn.inspection import permutation_importance

            pipe = model.estimator
            X = rows[list(model.feature_names)]
            shap.TreeExplainer(pipe.steps[-1][1]).shap_values(pipe[:-1].transform(X))
            permutation_importance(pipe, X, y, n_repeats=5, random_state=0)

    return _cold_then_warm(run)


def _image():
    import numpy as np

    return np.random.default_rng(0).integers(0, 256, (160, 200, 3), dtype=np.uint8)


def _ig(ours: bool) -> dict:
    import numpy as np
    import torch

    from glasswing.ingest import samples

    model, image = samples.digits_model(), _image()

    def run(faithfulness: bool = True):
        if ours:
            from glasswing import explainers

            explainers.explain(model, [image], method="integrated_gradients", n_steps=32,
                               faithfulness=faithfulness)
        else:
            from captum.attr import IntegratedGradients

            x = model.image_tensor([image])
            with torch.no_grad():
                target = int(model.forward_tensor(x).argmax())
            black = model.preprocess.to_tensor(np.zeros((1, *model.preprocess.size, 3), np.uint8))
            IntegratedGradients(model.forward_tensor).attribute(x, baselines=black, target=target, n_steps=32)

    out = _cold_then_warm(run)
    if ours:
        out["warm_no_curve_s"] = _timed(lambda: run(False))
    return out


def _images(ours: bool, app: str) -> dict:
    from glasswing.ingest import samples

    model, images = samples.digits_model(), samples.digits_images()
    model.predict_proba(images.images[:1])
    if ours:
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(app, default_timeout=600)
        at.run()
        at.session_state["gw.model"], at.session_state["gw.images"] = model, images
        at.switch_page("app_pages/explain_images.py")
        cold = _timed(at.run)
        if at.exception or len(at.get("plotly_chart")) < 3:
            raise SystemExit(f"the page did not render: {at.exception}")
        return {"cold_s": cold, "warm_s": _timed(at.run)}

    import numpy as np

    def run():
        from captum.attr import LayerGradCam

        from glasswing.explainers._cam import find_layer

        proba = model.predict_proba(images.images)
        predicted = np.asarray(model.classes_)[proba.argmax(axis=1)]
        wrong = [i for i, label in enumerate(images.labels) if predicted[i] != label]
        index = max(wrong, key=lambda i: proba[i].max()) if wrong else 0  # the page's first image
        _, layer = find_layer(model.module, "auto", model.preprocess)
        x = model.image_tensor([images.images[index]])
        LayerGradCam(model.forward_tensor, layer).attribute(x, target=int(proba[index].argmax()))

    return _cold_then_warm(run)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _cold_then_warm(fn) -> dict:
    return {"cold_s": _timed(fn), "warm_s": _timed(fn)}


def child(view: str, ours: bool, app: str) -> dict:
    """Measure one contender of one view in this (fresh) interpreter."""
    import warnings

    warnings.simplefilter("ignore")
    if view == "global":
        return _global(ours)
    if view == "ig":
        return _ig(ours)
    return _images(ours, app)


# ------------------------------------------------------------------------------------------- parent
def _spawn(view: str, ours: bool, args) -> dict:
    env = dict(os.environ)
    if args.pythonpath:
        env["PYTHONPATH"] = args.pythonpath
    command = [sys.executable, str(Path(__file__).resolve()), "--child", view, "--app", args.app]
    if ours:
        command.append("--ours")
    out = subprocess.run(command, env=env, cwd="/" if args.pythonpath else ROOT, capture_output=True,
                         text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{view} ({'ours' if ours else 'reference'}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", nargs="+", choices=VIEWS, default=list(VIEWS))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--pythonpath", default="", help="measure the glasswing package found here")
    parser.add_argument("--app", default=str(ROOT / "dashboard" / "app.py"))
    parser.add_argument("--child", choices=VIEWS, help=argparse.SUPPRESS)
    parser.add_argument("--ours", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.ours, args.app)))
        return 0
    result: dict = {"bench": "explain_views", "cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg": round(os.getloadavg()[0], 2), "repeats": args.repeats,
                    "code": args.pythonpath or str(ROOT)}
    for view in args.views:
        runs = {True: [], False: []}
        for _ in range(args.repeats):
            for ours in (False, True):
                runs[ours].append(_spawn(view, ours, args))
        entry = {}
        for ours, name in ((True, "ours"), (False, "ref")):
            for key in runs[ours][0]:
                entry[f"{name}_{key}"] = round(min(r[key] for r in runs[ours]), 3)
        entry["ratio_cold"] = round(entry["ours_cold_s"] / entry["ref_cold_s"], 2)
        entry["ratio_warm"] = round(entry["ours_warm_s"] / entry["ref_warm_s"], 2)
        result[view] = entry
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
