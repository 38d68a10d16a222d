"""Benchmark: Grad-CAM on torchvision's resnet18 (random weights), 224 x 224, CPU, batch 1 and 16.

For each batch size, in the same run and on the same images and target classes:

- **ours**: ``explainers.explain(model, images, method="gradcam", target=...)`` end to end, from uint8
  images (preprocessing, the captum ``LayerGradCam`` pass, upsampling to the image size, ``Explanation``s);
- **floor**: one forward pass and the backward pass to the target layer, hand-written with a hook and
  ``torch.autograd.grad`` on the already preprocessed tensor: what any Grad-CAM must at least do;
- **pytorch-grad-cam**: ``pytorch_grad_cam.GradCAM`` (the ``grad-cam`` package) on the same layer and
  tensor, constructed once outside the timing;
- for context, not targets: **forward only**, one inference pass (``torch.no_grad``) of the same tensor,
  the cost of merely predicting; and pytorch-grad-cam handed the tensor in channels-last layout.

Ours can run below the floor: the weights are frozen during the call, so autograd records nothing below
the hooked layer, and the batch goes in channels-last layout (checked per model when it is loaded), in
which oneDNN's CPU convolutions run faster. The floor and pytorch-grad-cam get the plain NCHW tensor, as
their users would pass it; the last context figure shows how much of the gap the layout alone explains.

The layer is the one ``layer="auto"`` picks (``layer4``, the last convolutional stage, as pytorch-grad-cam
advises for ResNets). Times are medians of ``--repeats`` rounds after a warm-up; each round runs every
contender once, so a change in machine load hits them alike. The maps are checked to agree with
pytorch-grad-cam's (Pearson correlation of the [0, 1] maps).

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

from glasswing import explainers  # noqa: E402
from glasswing.explainers._cam import find_layer  # noqa: E402
from glasswing.ingest import ImagePreprocess, Model  # noqa: E402

SIZE = 224


def median_times(fns: dict, repeats: int) -> dict[str, float]:
    """Median time of each function, run round-robin so that a change in machine load hits them alike."""
    for fn in fns.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


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

        def forward_only(x=x):
            with torch.no_grad():
                return module(x)

        x_cl = x.contiguous(memory_format=torch.channels_last)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # any library chatter must not pollute the one JSON line
            t = median_times({"ours": ours,
                              "floor": lambda x=x, targets=targets: floor(module, layer, x, targets),
                              "theirs": theirs, "forward": forward_only,
                              "theirs_cl": lambda x_cl=x_cl: theirs(x=x_cl)}, args.repeats)
            t_ours, t_floor, t_theirs = t["ours"], t["floor"], t["theirs"]
            t_forward, t_theirs_cl = t["forward"], t["theirs_cl"]
            ours_maps = np.stack([e.values for e in ours()])
            their_maps = theirs()
        corr = float(np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(ours_maps, their_maps,
                                                                                       strict=True)]))
        results.append({"batch": batch, "ours_s": round(t_ours, 4), "floor_s": round(t_floor, 4),
                        "pytorch_grad_cam_s": round(t_theirs, 4),
                        "ours_over_floor": round(t_ours / t_floor, 3),
                        "pytorch_grad_cam_over_ours": round(t_theirs / t_ours, 3),
                        "map_correlation_with_pytorch_grad_cam": round(corr, 4),
                        "context": {"forward_only_s": round(t_forward, 4),
                                    "ours_over_forward_only": round(t_ours / t_forward, 3),
                                    "pytorch_grad_cam_channels_last_s": round(t_theirs_cl, 4),
                                    "pytorch_grad_cam_channels_last_over_ours":
                                        round(t_theirs_cl / t_ours, 3)}})
        cam.activations_and_grads.release()
    print(json.dumps({"bench": "gradcam", "model": "torchvision resnet18 (weights=None)", "layer": name,
                      "size": SIZE, "device": "cpu", "channels_last": model.channels_last,
                      "threads": torch.get_num_threads(),
                      "repeats": args.repeats, "results": results,
                      "targets": {"ours_over_floor_at_most": 1.15,
                                  "pytorch_grad_cam_over_ours_at_least": 3.0}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
