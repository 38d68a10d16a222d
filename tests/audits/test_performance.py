"""The model's performance summary (Model & data page): accuracy and the AUC, checked against scikit-learn.

A model of three or more classes gets the macro one-vs-rest AUC, named as such (it used to show "n/a").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from torch import nn

from glasswing import audits
from glasswing.audits._performance import AUC_MACRO_NOTE, AUC_MACRO_OVR, AUC_MACRO_SOME_NOTE
from glasswing.ingest import ImagePreprocess, ImageSet, Model, load_dataset


class ColourNet(nn.Module):
    """Three classes from the mean of each colour channel (a planted, imperfect colour classifier)."""

    def forward(self, x):
        return x.mean(dim=(2, 3)) * 4.0


def colour_images(n: int = 60, seed: int = 0) -> tuple[list[np.ndarray], list[str]]:
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        label = i % 3
        image = rng.integers(0, 140, (12, 14, 3)).astype(np.uint8)
        image[..., label] += np.uint8(rng.integers(0, 90))  # the label's channel is brighter, by chance
        images.append(image)
        labels.append("rgb"[label])
    return images, labels


@pytest.fixture(scope="module")
def colour_model() -> Model:
    return Model.from_torch(ColourNet(), preprocess=ImagePreprocess((8, 8), mean=(0, 0, 0), std=(1, 1, 1)),
                            classes=list("rgb"), name="colour", sha256="colour")


def test_three_class_images_get_the_macro_one_vs_rest_auc_of_scikit_learn(colour_model):
    images, labels = colour_images()
    result = audits.model_performance(colour_model, ImageSet(images=images, names=[f"{i}.png" for i in
                                                                                    range(len(images))],
                                                             labels=labels, name="colours", sha256="c"))
    proba = colour_model.predict_proba(images)
    # scikit-learn wants the labels sorted ("b", "g", "r"): the model's columns are "r", "g", "b"
    expected = roc_auc_score(labels, proba[:, ::-1], multi_class="ovr", average="macro", labels=list("bgr"))
    assert 0.5 < expected < 1  # a real, imperfect ranking: the check means something
    assert result["auc"] == pytest.approx(expected, abs=1e-12)
    assert result["auc_name"] == AUC_MACRO_OVR == "macro one-vs-rest AUC"
    assert result["auc_note"] == AUC_MACRO_NOTE.format(k=3, n=3)
    assert result["accuracy"] == pytest.approx(np.mean(np.array(list("rgb"))[proba.argmax(1)] == labels))


def test_labels_of_some_classes_average_over_those_classes(colour_model):
    images, labels = colour_images()
    keep = [i for i, y in enumerate(labels) if y != "b"]
    subset = ImageSet(images=[images[i] for i in keep], names=[f"{i}.png" for i in keep],
                      labels=[labels[i] for i in keep], name="two colours", sha256="c2")
    result = audits.model_performance(colour_model, subset)
    proba = colour_model.predict_proba(subset.images)
    y = np.asarray(subset.labels)
    expected = np.mean([roc_auc_score(y == c, proba[:, i]) for i, c in enumerate("rg")])
    assert result["auc"] == pytest.approx(expected, abs=1e-12)
    assert result["auc_note"] == AUC_MACRO_SOME_NOTE.format(k=2, n=3)


def test_labels_the_model_does_not_know_give_no_auc_and_say_why(colour_model):
    images, _ = colour_images(6)
    result = audits.model_performance(colour_model, ImageSet(
        images=images, names=[f"{i}.png" for i in range(6)], labels=["r", "g", "b", "r", "g", "purple"],
        name="odd", sha256="odd"))
    assert result["auc"] is None
    assert result["auc_note"] == ("AUC is not computed: the labels hold values the model does not predict "
                                  "(purple).")


def test_binary_table_keeps_the_positive_class_auc():
    frame = pd.DataFrame({"x": np.linspace(0, 1, 40), "y": [0, 1] * 20})
    fitted = LogisticRegression().fit(frame[["x"]], frame["y"])
    model = Model.from_estimator(fitted, name="m", sha256="m")
    data = load_dataset(frame, target="y", features=["x"], positive_label=1)
    result = audits.model_performance(model, data)
    assert result["auc"] == pytest.approx(roc_auc_score(frame["y"], fitted.predict_proba(frame[["x"]])[:, 1]))
    assert (result["auc_name"], result["auc_note"]) == ("AUC", "AUC for the positive class 1.")
