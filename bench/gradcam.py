"""Benchmark: Grad-CAM on torchvision's resnet18 (random weights), 224 x 224, CPU, batch 1 and 16.

For each batch size, in the same run and on the same images and target classes:

- **ours**: ``explainers.explain(model, images, method="gradcam", target=...)`` end to end, from uint8
  images (preprocessing, the captum ``LayerGradCam`` pass, upsampling to the image size, ``Explanation``s);
- **floor**: one forward pass and the backward pass to the target layer, hand-written with a hook and
  ``torch.autograd.grad`` on the already preprocessed tensor: what any Grad-CAM must at least do;
- **pytorch-grad-cam**: ``pytorch_grad_cam.GradCAM`` (the ``grad-cam`` package) on the same layer and
  tensor, constructed once outside the timing.

The layer is the one ``layer="auto"`` picks (``layer4``, the last convolutional stage, as pytorch-grad-cam
advises for ResNets). Times are medians of ``--repeats`` runs after a warm-up. The maps are checked to
agree with pytorch-grad-cam's (Pearson correlation of the [0, 1] maps).

Prints one JSON line. Usage: ``python bench/gradcam.py [--repeats N] [--threads N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import explainers  # noqa: E402
from explainers._cam import find_layer  # noqa: E402
from ingest import ImagePreprocess, Model  # noqa: E402

SIZE = 224


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor(module: torch.nn.Module, layer: torch.nn.Module, x: torch.Tensor,
          targets: torch.Tensor) -> torch.Tensor:
    """Forward, then backward from the target logits to the layer's output only; return the CAM."""
    saved = {}
    handle = layer.register_forward_hook(lambda _m, _i, out: saved.__setitem__("a", out))
    try:
        logits = module(x)
    finally:
        handle.remove()
    (grads,) = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), saved["a"])
    return torch.relu((grads.mean(dim=(2, 3), keepdim=True) * saved["a"]).sum(dim=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    from torchvision.models import resnet18

    torch.manual_seed(0)
    module = resnet18(weights=None).eval()
    model = Model.from_torch(module, preprocess=ImagePreprocess(size=(SIZE, SIZE)), name="resnet18",
                             sha256="bench")
    name, layer = find_layer(module, "auto", model.preprocess)
    rng = np.random.default_rng(0)
    results = []
    for batch in (1, 16):
        images = [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(batch)]
        x = model.preprocess.to_tensor(images)
        with torch.no_grad():
            targets = module(x).argmax(dim=1)
        labels = targets.tolist()
        cam = GradCAM(model=module, target_layers=[layer])
        cam_targets = [ClassifierOutputTarget(t) for t in labels]

        def ours(images=images, labels=labels):
            return explainers.explain(model, images, method="gradcam", target=labels)

        def theirs(x=x, cam=cam, cam_targets=cam_targets):
            return cam(input_tensor=x, targets=cam_targets)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # any library chatter must not pollute the one JSON line
            t_ours = median_time(ours, args.repeats)
            t_floor = median_time(lambda x=x, targets=targets: floor(module, layer, x, targets), args.repeats)
            t_theirs = median_time(theirs, args.repeats)
            ours_maps = np.stack([e.values for e in ours()])
            their_maps = theirs()
        corr = float(np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(ours_maps, their_maps,
                                                                                       strict=True)]))
        results.append({"batch": batch, "ours_s": round(t_ours, 4), "floor_s": round(t_floor, 4),
                        "pytorch_grad_cam_s": round(t_theirs, 4),
                        "ours_over_floor": round(t_ours / t_floor, 3),
                        "pytorch_grad_cam_over_ours": round(t_theirs / t_ours, 3),
                        "map_correlation_with_pytorch_grad_cam": round(corr, 4)})
        cam.activations_and_grads.release()
    print(json.dumps({"bench": "gradcam", "model": "torchvision resnet18 (weights=None)", "layer": name,
                      "size": SIZE, "device": "cpu", "threads": torch.get_num_threads(),
                      "repeats": args.repeats, "results": results,
                      "targets": {"ours_over_floor_at_most": 1.15,
                                  "pytorch_grad_cam_over_ours_at_least": 3.0}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
