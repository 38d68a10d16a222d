"""Safe loading and validation of uploaded models and datasets.

Nothing here unpickles a file unless the caller passes ``trusted=True``.
"""

from ingest import samples
from ingest._dataset import ColumnRoles, Dataset
from ingest._errors import IngestError, UntrustedFileError
from ingest._images import MAX_IMAGE_MEGAPIXELS, ImageSet, load_image, load_images
from ingest._model import ImagePreprocess, Model
from ingest._model_files import CODE_RUNNING_FORMATS, as_preprocess, detect_model_format, load_model
from ingest._source import MAX_FILE_MB
from ingest._tabular import (
    check_model_fits,
    load_dataset,
    read_table,
    suggest_roles,
    validate_roles,
)

__all__ = [
    "CODE_RUNNING_FORMATS",
    "MAX_FILE_MB",
    "MAX_IMAGE_MEGAPIXELS",
    "ColumnRoles",
    "Dataset",
    "ImagePreprocess",
    "ImageSet",
    "IngestError",
    "Model",
    "UntrustedFileError",
    "as_preprocess",
    "check_model_fits",
    "detect_model_format",
    "load_dataset",
    "load_image",
    "load_images",
    "load_model",
    "read_table",
    "samples",
    "suggest_roles",
    "validate_roles",
]
