"""Safe loading and validation of uploaded models and datasets.

Nothing here unpickles a file unless the caller passes ``trusted=True``.
"""

from ingest._dataset import ColumnRoles, Dataset
from ingest._errors import IngestError
from ingest._model import ImagePreprocess, Model

__all__ = ["ColumnRoles", "Dataset", "ImagePreprocess", "IngestError", "Model"]
