"""Safe loading and validation of uploaded models and datasets.

Nothing here unpickles a file unless the caller passes ``trusted=True``.
"""

from glasswing._secrets import has_password
from glasswing.ingest import samples
from glasswing.ingest._bands import Grouping, group_frame, parse_bins
from glasswing.ingest._dataset import Dataset
from glasswing.ingest._engines import (
    is_database,
    open_source,
    read_source,
    redact,
    source_name,
)
from glasswing.ingest._errors import IngestError, UntrustedFileError
from glasswing.ingest._groups import group_columns
from glasswing.ingest._images import ImageSet, load_image, load_images
from glasswing.ingest._labels import map_target, parse_class_names, parse_label_map, with_class_names
from glasswing.ingest._limits import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_IMAGE_MEGAPIXELS,
    MAX_MODEL_UNPACKED_BYTES,
    MAX_ROWS,
    MAX_TABLE_BYTES,
    MAX_TOTAL_MEGAPIXELS,
    check_image_size,
)
from glasswing.ingest._model import ImagePreprocess, Model
from glasswing.ingest._model_files import (
    CODE_RUNNING_FORMATS,
    as_preprocess,
    detect_model_format,
    load_model,
    untrusted_parts,
)
from glasswing.ingest._roles import ColumnRoles, suggest_roles, validate_roles
from glasswing.ingest._source import MAX_FILE_MB
from glasswing.ingest._tabular import check_model_fits, input_notes, load_dataset, read_table, table_notes

__all__ = [
    "CODE_RUNNING_FORMATS",
    "MAX_CELLS",
    "MAX_COLUMNS",
    "MAX_FILE_MB",
    "MAX_IMAGE_MEGAPIXELS",
    "MAX_MODEL_UNPACKED_BYTES",
    "MAX_ROWS",
    "MAX_TABLE_BYTES",
    "MAX_TOTAL_MEGAPIXELS",
    "ColumnRoles",
    "Dataset",
    "Grouping",
    "ImagePreprocess",
    "ImageSet",
    "IngestError",
    "Model",
    "UntrustedFileError",
    "as_preprocess",
    "check_image_size",
    "check_model_fits",
    "detect_model_format",
    "group_columns",
    "group_frame",
    "has_password",
    "input_notes",
    "is_database",
    "load_dataset",
    "load_image",
    "load_images",
    "load_model",
    "map_target",
    "open_source",
    "parse_bins",
    "parse_class_names",
    "parse_label_map",
    "read_source",
    "read_table",
    "redact",
    "samples",
    "source_name",
    "suggest_roles",
    "table_notes",
    "untrusted_parts",
    "validate_roles",
    "with_class_names",
]
