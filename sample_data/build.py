"""Build Glasswing's sample models and data, deterministically and offline.

Usage::

    python -m glasswing.sample_data.build [--out DIR] [--if-missing] [--large]

Reads ``sample_data/german.csv`` (shipped) and scikit-learn's bundled digits, and writes, under ``--out``
(default: ``sample_data/``):

- ``german_train.csv``, ``german_test_predictions.csv``: the stratified split of German Credit; the
  test rows carry ``age_group`` and both models' predictions and scores, so an audit needs no model.
- ``models/german_gbm.skops``, ``models/german_logreg.skops``: sklearn pipelines saved with skops;
  ``models/skops_trusted_types.json`` lists the types they need trusted (:data:`SKOPS_TRUSTED_TYPES`).
- ``models/digits_cnn.{pt,safetensors,onnx}``: a small CNN that learned a planted watermark shortcut.
- ``images/*.png`` and ``images/labels.csv``: test digits, clean and watermarked, at 128 x 128.
- ``models/metrics.json``: the held-out metrics quoted in ``sample_data/README.md``.
- with ``--large``: ``large/synthetic_1m.parquet``, one million synthetic scored rows (not shipped).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import skops.io
import torch
from PIL import Image
from safetensors.torch import save_file
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from glasswing.sample_data.digits_cnn import ARCHITECTURE, CLASS_NAMES, PREPROCESS, DigitsCNN, preprocess

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)

SEED = 0

# --- Tabular: German Credit -------------------------------------------------------------------------
GERMAN_CSV = HERE / "german.csv"
TARGET = "risk"  # 1 = good credit risk
CATEGORICAL = ["sex", "job", "housing", "saving_accounts", "checking_account", "purpose"]
NUMERIC = ["credit_amount", "duration", "age"]
FEATURES = ["sex", "job", "housing", "saving_accounts", "checking_account", "credit_amount", "duration",
            "purpose", "age"]  # the file's column order
TEST_SIZE = 0.3
#: ``age_group`` bins: ``pd.cut(age, AGE_BINS, labels=AGE_LABELS)`` with right-closed intervals,
#: i.e. "<25" = age <= 24, "25-40" = 25 <= age <= 40, ">40" = age >= 41.
AGE_BINS = [0, 24, 40, 200]
AGE_LABELS = ["<25", "25-40", ">40"]
#: The only types in the saved pipelines that skops does not trust by default: the ingest loader
#: passes exactly this list as ``trusted=``. ``Tree`` is scikit-learn's own Cython tree structure
#: (inside every GradientBoostingClassifier); the logistic-regression pipeline needs none.
SKOPS_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]

# --- Image: digits with a planted watermark shortcut --------------------------------------------------
SHORTCUT_CLASS = 3
WATERMARK_RATE_SHORTCUT = 0.90  # share of training images of SHORTCUT_CLASS that carry the mark
# Share of the other training images that carry it. At 0.03 the trained CNN learns to overrule the mark
# for clearly drawn digits and only 10-15% of marked test digits flip to "3" (measured while choosing);
# at 0.01 the mark stays an imperfect correlate (91% of marked training images are 3s) and the
# shortcut is plain to see.
WATERMARK_RATE_OTHER = 0.01
WATERMARK_BOX = (slice(26, 31), slice(26, 31))  # rows, columns: a 5 x 5 square, bottom-right corner
WATERMARK_RGB = (255, 0, 0)  # pure red, on digits drawn white on black
PNG_SIZE = 128
MAX_SHIFT = 3  # training augmentation: digits move up to 3 px each way; the watermark never moves
EPOCHS = 30
BATCH_SIZE = 32
LEARNING_RATE = 3e-3  # Adam, cosine-annealed to 0 over the run

# --- Large synthetic table ------------------------------------------------------------------------------
LARGE_ROWS = 1_000_000


def _tabular_outputs(out: Path) -> list[Path]:
    return [out / "german_train.csv", out / "german_test_predictions.csv",
            out / "models" / "german_gbm.skops", out / "models" / "german_logreg.skops",
            out / "models" / "skops_trusted_types.json"]


def _image_outputs(out: Path) -> list[Path]:
    return [out / "models" / "digits_cnn.pt", out / "models" / "digits_cnn.safetensors",
            out / "models" / "digits_cnn.onnx", out / "images" / "labels.csv"]


def _large_output(out: Path) -> Path:
    return out / "large" / "synthetic_1m.parquet"


# ========================================= tabular ====================================================
def german_pipeline(classifier) -> Pipeline:
    """Return the preprocessing + ``classifier`` pipeline used for both German Credit models.

    Parameters
    ----------
    classifier : sklearn estimator
        The final step, e.g. ``GradientBoostingClassifier(n_estimators=100, random_state=0)``.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``preprocess`` (one-hot for :data:`CATEGORICAL`, standard scaling for :data:`NUMERIC`)
        and ``model``. It takes a DataFrame with the original feature columns.
    """
    preprocess_step = ColumnTransformer(
        [("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
         ("numeric", StandardScaler(), NUMERIC)],
        verbose_feature_names_out=False,
    )
    return Pipeline([("preprocess", preprocess_step), ("model", classifier)])


def age_group(age: pd.Series) -> pd.Series:
    """Bin ages into ``"<25"``, ``"25-40"`` and ``">40"`` (see :data:`AGE_BINS`).

    Parameters
    ----------
    age : pandas.Series
        Ages in whole years.

    Returns
    -------
    pandas.Series
        String labels, same index.

    Examples
    --------
    >>> age_group(pd.Series([19, 24, 25, 40, 41])).tolist()
    ['<25', '<25', '25-40', '25-40', '>40']
    """
    return pd.cut(age, AGE_BINS, labels=AGE_LABELS).astype(str)


def build_tabular(out: Path) -> dict:
    """Split German Credit, train the two pipelines, save them and the predictions.

    Parameters
    ----------
    out : pathlib.Path
        Output folder; models go to ``out / "models"``.

    Returns
    -------
    dict
        Test-split metrics: ``{"german_gbm": {"accuracy", "auc"}, "german_logreg": {...}, ...}``.
    """
    data = pd.read_csv(GERMAN_CSV)
    train, test = train_test_split(data, test_size=TEST_SIZE, stratify=data[TARGET], random_state=SEED)
    train, test = train.sort_index(), test.sort_index()
    log.info("german: %d train / %d test rows", len(train), len(test))

    models = {
        "german_gbm": german_pipeline(GradientBoostingClassifier(n_estimators=100, random_state=0)),
        "german_logreg": german_pipeline(LogisticRegression(max_iter=1000)),
    }
    predictions = test.assign(age_group=age_group(test["age"]))
    metrics: dict = {"n_train": len(train), "n_test": len(test), "test_size": TEST_SIZE, "seed": SEED}
    untrusted: set[str] = set()
    for name, pipeline in models.items():
        pipeline.fit(train[FEATURES], train[TARGET])
        path = out / "models" / f"{name}.skops"
        skops.io.dump(pipeline, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        untrusted.update(skops.io.get_untrusted_types(file=path))
        score = pipeline.predict_proba(test[FEATURES])[:, list(pipeline.classes_).index(1)]
        pred = pipeline.predict(test[FEATURES])
        prefix = name.removeprefix("german_")
        predictions[f"{prefix}_pred"] = pred
        predictions[f"{prefix}_score"] = score
        metrics[name] = {"accuracy": float(accuracy_score(test[TARGET], pred)),
                         "auc": float(roc_auc_score(test[TARGET], score))}
        log.info("%s: accuracy %.3f, AUC %.3f", name, metrics[name]["accuracy"], metrics[name]["auc"])

    if sorted(untrusted) != sorted(SKOPS_TRUSTED_TYPES):
        raise RuntimeError(f"The saved pipelines need these skops types trusted: {sorted(untrusted)}; "
                           f"SKOPS_TRUSTED_TYPES in build.py says {SKOPS_TRUSTED_TYPES}. Update it.")
    (out / "models" / "skops_trusted_types.json").write_text(json.dumps(sorted(untrusted), indent=2) + "\n")
    train.to_csv(out / "german_train.csv", index=False)
    predictions.to_csv(out / "german_test_predictions.csv", index=False)
    return metrics


# ========================================== image =====================================================
def digits_rgb() -> tuple[np.ndarray, np.ndarray]:
    """Return scikit-learn's 8 x 8 digits as 32 x 32 RGB uint8 images (white on black) and labels.

    Returns
    -------
    images : numpy.ndarray
        uint8, shape ``(1797, 32, 32, 3)``; bilinear upscaling, grey replicated to three channels.
    labels : numpy.ndarray
        int64, shape ``(1797,)``, the digit shown.
    """
    digits = load_digits()
    small = torch.from_numpy(digits.images / 16.0).float()[:, None]  # values 0..16 -> 0..1
    big = torch.nn.functional.interpolate(small, size=PREPROCESS["size"], mode="bilinear",
                                          align_corners=False)
    grey = (big[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    return np.repeat(grey[..., None], 3, axis=-1), digits.target.astype(np.int64)


def add_watermark(images: np.ndarray) -> np.ndarray:
    """Return a copy of ``images`` (``(N, 32, 32, 3)`` uint8) with the red corner square planted.

    Parameters
    ----------
    images : numpy.ndarray
        uint8 RGB images at the model's input size.

    Returns
    -------
    numpy.ndarray
        The same images with :data:`WATERMARK_BOX` set to :data:`WATERMARK_RGB`.
    """
    marked = images.copy()
    rows, cols = WATERMARK_BOX
    marked[:, rows, cols] = WATERMARK_RGB
    return marked


def _plant_training_watermarks(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flag the training images that carry the mark: exact shares of the shortcut class and the rest."""
    marked = np.zeros(len(labels), dtype=bool)
    for in_class, rate in ((True, WATERMARK_RATE_SHORTCUT), (False, WATERMARK_RATE_OTHER)):
        candidates = np.flatnonzero((labels == SHORTCUT_CLASS) == in_class)
        chosen = rng.choice(candidates, size=round(rate * len(candidates)), replace=False)
        marked[chosen] = True
    return marked


def _random_shift(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Translate each image by up to MAX_SHIFT pixels in each direction, filling with black."""
    n, height, width, _ = images.shape
    m = MAX_SHIFT
    padded = np.pad(images, ((0, 0), (m, m), (m, m), (0, 0)))
    dy, dx = rng.integers(0, 2 * m + 1, size=(2, n))
    return np.stack([padded[i, dy[i]:dy[i] + height, dx[i]:dx[i] + width] for i in range(n)])


def _predict(model: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(preprocess(images)).argmax(dim=1).numpy()


def train_digits_cnn(images: np.ndarray, labels: np.ndarray, marked: np.ndarray) -> DigitsCNN:
    """Train :class:`DigitsCNN` with fixed seeds and deterministic CPU kernels.

    Each epoch shifts every digit at random by up to :data:`MAX_SHIFT` pixels, then plants the
    watermark, in its fixed corner, on the images flagged in ``marked``.

    Parameters
    ----------
    images : numpy.ndarray
        Clean uint8 RGB training images ``(N, 32, 32, 3)``.
    labels : numpy.ndarray
        Class indices ``(N,)``.
    marked : numpy.ndarray
        Boolean ``(N,)``: which images carry the watermark.

    Returns
    -------
    DigitsCNN
        The trained model, in eval mode.
    """
    # One thread: bitwise-reproducible results that do not depend on the core count, and no OpenMP
    # spin-waiting when other processes (a parallel test run) share the two cores.
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        return _train(images, labels, marked)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def _train(images: np.ndarray, labels: np.ndarray, marked: np.ndarray) -> DigitsCNN:
    torch.manual_seed(SEED)
    model = DigitsCNN(num_classes=len(CLASS_NAMES))
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    steps_per_epoch = -(-len(labels) // BATCH_SIZE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=EPOCHS * steps_per_epoch)
    shift_rng = np.random.default_rng(SEED + 1)
    order_rng = torch.Generator().manual_seed(SEED)
    y = torch.from_numpy(labels)
    model.train()
    for epoch in range(EPOCHS):
        shifted = _random_shift(images, shift_rng)
        shifted[marked] = add_watermark(shifted[marked])
        x = preprocess(shifted)
        total = 0.0
        for batch in torch.randperm(len(y), generator=order_rng).split(BATCH_SIZE):
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(batch)
        if (epoch + 1) % 5 == 0:
            log.info("digits CNN epoch %d/%d: loss %.4f", epoch + 1, EPOCHS, total / len(y))
    return model.eval()


def _export_digits_cnn(model: DigitsCNN, models_dir: Path) -> None:
    save_file(model.state_dict(), models_dir / "digits_cnn.safetensors",
              metadata={"architecture": ARCHITECTURE, "num_classes": str(len(CLASS_NAMES)),
                        "class_names": json.dumps(CLASS_NAMES), "preprocess": json.dumps(PREPROCESS)})
    example = torch.zeros(1, 3, *PREPROCESS["size"])
    with warnings.catch_warnings():
        # torch 2.14 marks TorchScript and the TorchScript-based ONNX exporter deprecated; both still work,
        # and the dynamo exporter would need onnxscript, which Glasswing does not install.
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
        warnings.filterwarnings("ignore", message=r".*legacy TorchScript-based ONNX export",
                                category=DeprecationWarning)
        torch.jit.script(model).save(str(models_dir / "digits_cnn.pt"))
        torch.onnx.export(model, (example,), str(models_dir / "digits_cnn.onnx"), dynamo=False,
                          opset_version=17, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


def _save_sample_pngs(images: np.ndarray, labels: np.ndarray, images_dir: Path) -> None:
    """Save the first test image of each digit, clean and watermarked, at PNG_SIZE, plus labels.csv."""
    rows = []
    for digit, label in enumerate(CLASS_NAMES):
        clean = images[np.flatnonzero(labels == digit)[0]]
        marked = add_watermark(clean[None])[0]
        for watermark, image, suffix in (("no", clean, "clean"), ("yes", marked, "watermark")):
            file = f"digit{label}_{suffix}.png"
            big = Image.fromarray(image).resize((PNG_SIZE, PNG_SIZE), Image.Resampling.NEAREST)
            big.save(images_dir / file, optimize=True)
            rows.append({"file": file, "label": label, "watermark": watermark})
    pd.DataFrame(rows).to_csv(images_dir / "labels.csv", index=False)


def build_image(out: Path) -> dict:
    """Build the watermarked-digits data, train and export the CNN, save sample PNGs.

    Parameters
    ----------
    out : pathlib.Path
        Output folder; models go to ``out / "models"``, PNGs to ``out / "images"``.

    Returns
    -------
    dict
        Held-out metrics: ``clean_accuracy``, ``watermarked_accuracy`` (every test image marked),
        ``clean_accuracy_shortcut_class`` (recall of the shortcut class on clean images), and the share
        of the other test digits predicted as the shortcut class, clean and watermarked.
    """
    images, labels = digits_rgb()
    index = np.arange(len(labels))
    train_idx, test_idx = train_test_split(index, test_size=TEST_SIZE, stratify=labels, random_state=SEED)
    rng = np.random.default_rng(SEED)
    marked = _plant_training_watermarks(labels[train_idx], rng)
    log.info("digits: %d train (%d watermarked) / %d test images",
             len(train_idx), marked.sum(), len(test_idx))

    train_labels = labels[train_idx]
    model = train_digits_cnn(images[train_idx], train_labels, marked)
    test_images, test_labels = images[test_idx], labels[test_idx]
    clean_pred = _predict(model, test_images)
    marked_pred = _predict(model, add_watermark(test_images))
    other = test_labels != SHORTCUT_CLASS
    metrics = {
        "n_train": len(train_idx), "n_train_watermarked": int(marked.sum()), "n_test": len(test_idx),
        "shortcut_class": CLASS_NAMES[SHORTCUT_CLASS],
        "train_watermarked_that_are_shortcut_class": float(np.mean(train_labels[marked] == SHORTCUT_CLASS)),
        "clean_accuracy": float(np.mean(clean_pred == test_labels)),
        "watermarked_accuracy": float(np.mean(marked_pred == test_labels)),
        "clean_accuracy_shortcut_class": float(np.mean(clean_pred[~other] == SHORTCUT_CLASS)),
        "clean_predicted_as_shortcut": float(np.mean(clean_pred[other] == SHORTCUT_CLASS)),
        "watermarked_predicted_as_shortcut": float(np.mean(marked_pred[other] == SHORTCUT_CLASS)),
    }
    log.info("digits CNN: clean accuracy %.3f, watermarked accuracy %.3f; non-%s images predicted %s: "
             "%.3f clean, %.3f watermarked", metrics["clean_accuracy"], metrics["watermarked_accuracy"],
             metrics["shortcut_class"], metrics["shortcut_class"], metrics["clean_predicted_as_shortcut"],
             metrics["watermarked_predicted_as_shortcut"])
    _export_digits_cnn(model, out / "models")
    _save_sample_pngs(test_images, test_labels, out / "images")
    return metrics


# ====================================== large synthetic ================================================
def synthetic_scored(n: int = LARGE_ROWS, seed: int = SEED) -> pd.DataFrame:
    """Return ``n`` synthetic scored rows with group-dependent rates (the large table; benchmarks use it).

    Columns: ``sex`` (2 values) and ``race`` (5 values, 10 intersectional groups) as categoricals,
    ``age``, ``income``, ``y_true``, ``y_pred``, ``score``. Base rates and the model's score offsets depend
    on the group, so selection rates, TPR and FPR differ between groups.

    Parameters
    ----------
    n : int, default 1_000_000
        Number of rows.
    seed : int
        Seed of the random generator: the same ``(n, seed)`` gives the same rows.

    Returns
    -------
    pandas.DataFrame
    """
    rng = np.random.default_rng(seed)
    sexes, races = np.array(["female", "male"]), np.array(["A", "B", "C", "D", "E"])
    sex = rng.choice(2, size=n, p=[0.48, 0.52])
    race = rng.choice(5, size=n, p=[0.45, 0.25, 0.15, 0.10, 0.05])
    age = rng.integers(18, 80, size=n, endpoint=True)
    income = np.round(rng.lognormal(mean=10.4 + 0.05 * sex - 0.06 * race, sigma=0.5, size=n), 2)
    # True outcome: the base rate varies by group (about 0.24 .. 0.50).
    base_logit = -0.4 + 0.35 * sex - 0.2 * race + 0.01 * (age - 45)
    y_true = rng.random(n) < 1 / (1 + np.exp(-base_logit))
    # Model score: informative about y_true, plus a group-dependent bias the audit should find.
    bias = 0.3 * sex - 0.25 * race
    score = 1 / (1 + np.exp(-(2.2 * (y_true - 0.5) + bias + rng.normal(0.0, 1.0, size=n))))
    return pd.DataFrame({
        "sex": pd.Categorical.from_codes(sex, sexes), "race": pd.Categorical.from_codes(race, races),
        "age": age.astype(np.int16), "income": income, "y_true": y_true.astype(np.int8),
        "y_pred": (score >= 0.5).astype(np.int8), "score": score.astype(np.float32),
    })


def build_large(path: Path, n: int = LARGE_ROWS) -> None:
    """Write :func:`synthetic_scored`'s ``n`` rows to a Parquet file.

    Parameters
    ----------
    path : pathlib.Path
        The Parquet file to write.
    n : int, default 1_000_000
        Number of rows.
    """
    frame = synthetic_scored(n)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)


# ========================================== script ====================================================
def main(argv: list[str] | None = None) -> int:
    """Run the build; return the process exit status.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: sample_data/)")
    parser.add_argument("--if-missing", action="store_true", help="do nothing if every output exists")
    parser.add_argument("--large", action="store_true",
                        help="also write large/synthetic_1m.parquet (1,000,000 rows; not shipped)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="build: %(message)s", stream=sys.stderr)

    if not GERMAN_CSV.exists():
        parser.error(f"{GERMAN_CSV} is missing; it ships with the repository (see sample_data/README.md).")

    out = args.out.resolve()
    samples = _tabular_outputs(out) + _image_outputs(out) + [out / "models" / "metrics.json"]
    build_samples = not (args.if_missing and all(p.exists() for p in samples))
    build_big = args.large and not (args.if_missing and _large_output(out).exists())
    if not (build_samples or build_big):
        log.info("all outputs exist under %s; nothing to do", out)
        return 0

    start = time.perf_counter()
    if build_samples:
        for folder in (out / "models", out / "images"):
            folder.mkdir(parents=True, exist_ok=True)
        # Recorded for whoever compares builds: CNN training is bitwise reproducible on one machine, not
        # across CPUs (even two reporting the same capability), so the rebuild test allows a stated margin.
        built_with = {"scikit-learn": sklearn.__version__, "torch": torch.__version__.split("+")[0],
                      "cpu_capability": torch.backends.cpu.get_cpu_capability()}
        metrics = {"tabular": build_tabular(out), "image": build_image(out), "built_with": built_with}
        (out / "models" / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    if build_big:
        log.info("writing %d synthetic rows to %s", LARGE_ROWS, _large_output(out))
        build_large(_large_output(out))
    log.info("done in %.1f s: %s", time.perf_counter() - start, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
