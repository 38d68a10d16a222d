"""The shipped samples, loaded through the same safe loaders as any upload.

Built by ``python -m glasswing.sample_data.build`` (``make samples``) into
:func:`glasswing._paths.sample_dir`:

- German Credit (1,000 loan applicants; ``risk`` 1 = good): two scikit-learn pipelines saved with skops,
  and the test split with both models' logged predictions and scores.
- Digits: a small CNN (safetensors, TorchScript and ONNX) that learned a planted watermark shortcut, and
  20 test images (each digit clean and watermarked) with ``labels.csv`` (``file, label, watermark``).

Examples
--------
>>> from glasswing.ingest import samples
>>> model, data = samples.german_model("gbm"), samples.german_dataset("test")
>>> data.roles.target, data.roles.sensitive, model.feature_names == data.roles.features
('risk', ('sex',), True)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from glasswing._paths import sample_dir
from glasswing.ingest._dataset import Dataset
from glasswing.ingest._errors import SAMPLE_MISSING, SAMPLE_UNKNOWN, IngestError, listing
from glasswing.ingest._images import ImageSet, load_images
from glasswing.ingest._model import Model
from glasswing.ingest._model_files import as_preprocess, load_model
from glasswing.ingest._tabular import load_dataset

__all__ = ["COMPAS_SELECTED", "COMPAS_THRESHOLD", "GERMAN_FEATURES", "compas_dataset", "digits_images",
           "digits_model", "german_dataset", "german_model"]

#: ProPublica's two-year file, as published (``sample_data/README.md`` gives its source and filters).
COMPAS_FILE = "compas-scores-two-years.csv"
#: ProPublica's decision rule: a decile score of 5 or more ("Medium" or "High") counts as higher risk.
COMPAS_THRESHOLD = 5
COMPAS_SELECTED = "rated medium or high risk (decile score 5 or more), i.e. predicted to reoffend"

#: The nine applicant attributes the German Credit models take, in the file's column order.
GERMAN_FEATURES = ("sex", "job", "housing", "saving_accounts", "checking_account", "credit_amount",
                   "duration", "purpose", "age")
GERMAN_TARGET = "risk"
GERMAN_SENSITIVE = ("sex",)
GERMAN_MODELS = {"gbm": "models/german_gbm.skops", "logreg": "models/german_logreg.skops"}
GERMAN_SPLITS = {"test": "german_test_predictions.csv", "train": "german_train.csv", "all": "german.csv"}
DIGITS_MODELS = {"safetensors": "models/digits_cnn.safetensors", "torchscript": "models/digits_cnn.pt",
                 "onnx": "models/digits_cnn.onnx"}
DIGITS_IMAGES = "images"


def _path(relative: str) -> Path:
    path = sample_dir() / relative
    if not path.exists():
        raise IngestError(SAMPLE_MISSING.format(path=path))
    return path


def _choose(table: dict, value: str, what: str) -> str:
    if value not in table:
        raise IngestError(SAMPLE_UNKNOWN.format(what=what, value=value, valid=listing(table)))
    return table[value]


def german_model(which: str = "gbm") -> Model:
    """Return a German Credit classifier (a scikit-learn pipeline loaded from ``.skops``).

    Parameters
    ----------
    which : {"gbm", "logreg"}
        Gradient boosting (100 trees) or logistic regression; both one-hot encode the categorical
        columns and scale the numeric ones.

    Returns
    -------
    Model
        ``kind="sklearn"``, ``feature_names`` = :data:`GERMAN_FEATURES`, classes ``[0, 1]``.

    Raises
    ------
    IngestError
        For an unknown ``which`` or when the samples are not built.
    """
    return load_model(_path(_choose(GERMAN_MODELS, which, "German Credit model")))


def german_dataset(split: str = "test", *, predictions: str | None = "gbm") -> Dataset:
    """Return German Credit with its roles: target ``risk`` (1 = good), sensitive ``sex``.

    Parameters
    ----------
    split : {"test", "train", "all"}
        The 300-row test split (with ``age_group`` and both models' logged predictions), the 700-row
        training split, or all 1,000 rows.
    predictions : {"gbm", "logreg"} or None, default "gbm"
        For the test split: whose logged ``*_pred`` / ``*_score`` columns take the prediction and score
        roles (None: neither).

    Returns
    -------
    Dataset
        Features are :data:`GERMAN_FEATURES`; the positive label is 1.

    Raises
    ------
    IngestError
        For an unknown split or predictions name, or when the samples are not built.
    """
    path = _path(_choose(GERMAN_SPLITS, split, "German Credit split"))
    prediction = score = None
    if split == "test" and predictions is not None:
        _choose(GERMAN_MODELS, predictions, "German Credit model")
        prediction, score = f"{predictions}_pred", f"{predictions}_score"
    return load_dataset(path, target=GERMAN_TARGET, prediction=prediction, score=score,
                        sensitive=GERMAN_SENSITIVE, features=GERMAN_FEATURES, positive_label=1)


def digits_model(fmt: str = "safetensors") -> Model:
    """Return the digits CNN that learned the watermark shortcut.

    Parameters
    ----------
    fmt : {"safetensors", "torchscript", "onnx"}
        The same network from three files: safetensors weights built into ``DigitsCNN`` (hookable, so
        Grad-CAM works), TorchScript (input gradients only), or ONNX (no gradients).

    Returns
    -------
    Model
        ``modality="image"``, classes ``"0"`` ... ``"9"``, the sample's preprocessing (32 x 32).

    Raises
    ------
    IngestError
        For an unknown ``fmt`` or when the samples are not built.
    """
    path = _path(_choose(DIGITS_MODELS, fmt, "digits model format"))
    from glasswing.sample_data import digits_cnn as digits

    model = load_model(path, preprocess=as_preprocess(digits.PREPROCESS))
    if model.architecture is None:  # TorchScript and ONNX files carry no class names
        model = dataclasses.replace(model, classes_=np.asarray(digits.CLASS_NAMES))
    return model


def digits_images() -> ImageSet:
    """Return the 20 sample digit images (each digit clean and watermarked, 128 x 128).

    Returns
    -------
    ImageSet
        ``labels`` are the digits as text; ``groups`` has a ``watermark`` column (``"yes"``/``"no"``).

    Raises
    ------
    IngestError
        When the samples are not built.
    """
    return load_images(_path(DIGITS_IMAGES), name="digits")


def compas_dataset() -> Dataset:
    """Return ProPublica's COMPAS two-year file as logged risk scores: a well-documented disparity.

    7,214 defendants of Broward County, Florida; target ``two_year_recid`` (1 = reoffended within two
    years), score ``decile_score`` (1-10; ``COMPAS_THRESHOLD`` = 5 makes it a decision), sensitive ``race``
    and ``sex``. The file is read as published: its second ``decile_score`` column (the same values) is
    named ``decile_score.1``. No row filter is applied: ProPublica's table of error rates by race uses
    every row (``sample_data/README.md``).

    Raises
    ------
    IngestError
        When the sample is missing.
    """
    return load_dataset(_path(COMPAS_FILE), target="two_year_recid", score="decile_score",
                        sensitive=("race", "sex"), features=(), positive_label=1)
