"""Small models and tables built in memory for the ingest tests (no downloads, no sample files)."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn


class TinyCNN(nn.Module):
    """A 3-class image classifier small enough to build in every test."""

    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, kernel_size=3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


@pytest.fixture(scope="session")
def credit_frame() -> pd.DataFrame:
    """200 rows: two numeric columns, one categorical, a sensitive column and a binary target."""
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({
        "income": rng.normal(50, 10, n).round(1),
        "age": rng.integers(18, 80, n),
        "purpose": rng.choice(["car", "home", "study"], n),
        "sex": rng.choice(["F", "M"], n),
    })
    frame["approved"] = ((frame["income"] + rng.normal(0, 5, n)) > 50).astype(int)
    return frame


FEATURES = ["income", "age", "purpose"]


@pytest.fixture(scope="session")
def pipeline(credit_frame):
    """A fitted sklearn Pipeline(ColumnTransformer -> GradientBoostingClassifier) on ``credit_frame``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["purpose"]),
                             ("num", StandardScaler(), ["income", "age"])])
    model = Pipeline([("pre", pre), ("clf", GradientBoostingClassifier(n_estimators=10, random_state=0))])
    return model.fit(credit_frame[FEATURES], credit_frame["approved"])


@pytest.fixture(scope="session")
def skops_bytes(pipeline) -> bytes:
    import skops.io

    return skops.io.dumps(pipeline)


@pytest.fixture(scope="session")
def numeric_logreg(credit_frame):
    """A LogisticRegression on the two numeric columns (for ONNX conversion)."""
    from sklearn.linear_model import LogisticRegression

    X = credit_frame[["income", "age"]].astype(np.float32)
    return LogisticRegression().fit(X, credit_frame["approved"])


@pytest.fixture(scope="session")
def column_pipeline(credit_frame):
    """Pipeline(ColumnTransformer(scaler, one-hot) -> LogisticRegression) on income, age, purpose."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer([("num", StandardScaler(), ["income", "age"]),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), ["purpose"])])
    frame = credit_frame[FEATURES].astype({"age": np.float32, "income": np.float32})
    return Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(frame, credit_frame["approved"])


@pytest.fixture(scope="session")
def onnx_tabular_bytes(column_pipeline) -> bytes:
    """skl2onnx export with one input per column (the skl2onnx style Glasswing reads by name)."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    onx = to_onnx(column_pipeline, initial_types=[("income", FloatTensorType([None, 1])),
                                                  ("age", FloatTensorType([None, 1])),
                                                  ("purpose", StringTensorType([None, 1]))])
    return onx.SerializeToString()


@pytest.fixture(scope="session")
def onnx_matrix_bytes(numeric_logreg) -> bytes:
    """skl2onnx export with a single float matrix input (no column names in the graph)."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    return to_onnx(numeric_logreg, initial_types=[("X", FloatTensorType([None, 2]))]).SerializeToString()


@pytest.fixture(scope="session")
def tiny_cnn() -> TinyCNN:
    torch.manual_seed(0)
    return TinyCNN().eval()


def legacy_torch_export(fn):
    """Run a TorchScript / ONNX export with the deprecation warnings torch 2.14 gives for them silenced."""
    with warnings.catch_warnings():
        # torch 2.14 deprecates torch.jit and the TorchScript-based ONNX exporter; both still work.
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.")
        warnings.filterwarnings("ignore", message=r".*TorchScript-based ONNX export",
                                category=DeprecationWarning)
        return fn()


@pytest.fixture(scope="session")
def torchscript_bytes(tiny_cnn) -> bytes:
    buffer = io.BytesIO()
    legacy_torch_export(lambda: torch.jit.save(torch.jit.script(tiny_cnn), buffer))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def onnx_image_bytes(tiny_cnn) -> bytes:
    buffer = io.BytesIO()
    legacy_torch_export(lambda: torch.onnx.export(
        tiny_cnn, (torch.zeros(1, 3, 16, 16),), buffer, dynamo=False, input_names=["input"],
        output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def resnet18_3class():
    """torchvision resnet18 with random weights and a 3-class head (no download)."""
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None, num_classes=3).eval()


def random_images(n: int = 4, size: int = 20, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]
