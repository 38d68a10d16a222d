"""Ingest's error types and the sentences it raises (kept as constants, tested by exact text).

Every sentence names the bad value and, where there is a short list, the valid ones. Placeholders are
filled with ``str.format``; ``{name}`` is always the file's display name.
"""

from glasswing._errors import GlasswingError


class IngestError(GlasswingError):
    """A file, column or model that cannot be used, with one sentence saying why and how to fix it."""


class UntrustedFileError(IngestError):
    """A file that could run code when loaded: pickle, joblib, whole-module ``torch.save``, odd skops types.

    Loading it needs ``trusted=True`` (``--trust`` on the command line, the checkbox in the dashboard).
    """


# --- any file ------------------------------------------------------------------------------------------
FILE_NOT_FOUND = "The file '{name}' does not exist."
FILE_TOO_LARGE = ("'{name}' is {size_mb:,.0f} MB, more than the {limit_mb} MB limit; use a smaller file "
                  "or a sample of it.")
FILE_EMPTY = "'{name}' is empty."
BAD_SOURCE = "Cannot read from a {kind}; give a file path, bytes or an open binary file."

# --- tables ---------------------------------------------------------------------------------------------
TABLE_BINARY = "'{name}' is not a CSV or Parquet table (it looks like a binary file)."
TABLE_UNREADABLE = "'{name}' could not be read as a {fmt} table: {reason}."
TABLE_BAD_ENCODING = ("'{name}' is not UTF-8 text (byte {position} cannot be decoded); save it as "
                      "UTF-8 (\"CSV UTF-8\" in Excel) and upload it again.")
TABLE_NO_ROWS = "'{name}' has a header but no data rows."
DUPLICATE_COLUMNS = ("'{name}' has more than one column named {columns}; give each column a "
                     "different name.")
UNKNOWN_COLUMN = "Column '{column}' is not in {where}; it has: {available}."
TARGET_ALL_MISSING = ("The target column '{column}' is empty (every value is missing); choose another "
                      "column.")
TARGET_HAS_MISSING = ("The target column '{column}' is missing in {count:,} of {total:,} rows; remove "
                      "those rows or choose another column.")
TARGET_SINGLE_VALUE = ("The target column '{column}' has a single value ({value}); an audit needs both "
                       "outcomes, so choose another column or add rows of the other class.")
TARGET_NOT_BINARY = ("The target column '{column}' has {count} distinct values ({values}), not two; "
                     "choose the positive class (positive_label, --positive-label, or 'Positive "
                     "class' in the dashboard) to compare it against all the others.")
POSITIVE_LABEL_UNKNOWN = ("The positive class {label!r} does not occur in the target column "
                          "'{column}'; it holds: {values}.")
SENSITIVE_ALL_MISSING = ("The sensitive column '{column}' is empty (every value is missing); choose "
                         "another column.")
SENSITIVE_SINGLE_VALUE = ("The sensitive column '{column}' has a single value ({value}), so there are "
                          "no groups to compare; choose another column.")
SCORE_NOT_NUMERIC = "The score column '{column}' holds text ({example!r}); scores must be numbers."
ROLE_CLASH = ("Column '{column}' cannot be both the {first} and {second}; choose a different column "
              "for one of them.")

# --- models ---------------------------------------------------------------------------------------------
UNKNOWN_MODEL_FORMAT = ("'{name}' is not a model file Glasswing can read; use .skops (scikit-learn), "
                        ".onnx, TorchScript .pt, .safetensors or a PyTorch state dict (.pt/.pth).")
MODEL_UNREADABLE = "'{name}' looks like a {fmt} file but could not be loaded: {reason}."
PICKLE_REFUSED = ("'{name}' is a {fmt} file, and loading one can run any code it contains; load it "
                  "only if you trust where it came from, by marking it trusted (--trust on the "
                  "command line, 'I trust this file' in the dashboard), or save the model as .skops, "
                  ".onnx or .safetensors.")
SKOPS_UNTRUSTED = ("'{name}' contains types that are not scikit-learn, NumPy or SciPy types: "
                   "{types}; mark it trusted (--trust, or 'I trust this file' in the dashboard) only "
                   "if you know where it came from.")
NOT_A_CLASSIFIER = ("'{name}' holds a {type} without predict_proba; Glasswing needs a classifier "
                    "that returns class probabilities.")
UNSUPPORTED_OBJECT = ("'{name}' holds a {type}, which is neither a scikit-learn classifier nor a "
                      "PyTorch module.")
NEEDS_ARCHITECTURE = ("'{name}' holds only weights; name the architecture they belong to (a "
                      "torchvision model such as resnet18, or glasswing.digits_cnn).")
UNKNOWN_ARCHITECTURE = ("Architecture '{architecture}' is not known; use glasswing.digits_cnn or a "
                        "torchvision model name such as {examples}.")
WEIGHTS_DO_NOT_FIT = ("The weights in '{name}' do not fit architecture '{architecture}' ({missing} "
                      "missing and {unexpected} unexpected tensors, e.g. '{example}').")
NEEDS_PREPROCESS = ("'{name}' is an image model without preprocessing information; give its input "
                    "size, mean and std (preprocess=ImagePreprocess(...), or 'Image preprocessing' "
                    "in the dashboard).")
BAD_PREPROCESS = "The image preprocessing {value!r} is not valid: {reason}."
IMAGE_MODEL_FAILED = "'{name}' could not run on a {channels} x {height} x {width} image batch: {reason}."
ONNX_NO_CLASSES = ("'{name}' does not say how many classes it predicts; add a 'class_names' entry "
                   "to its metadata.")

# --- model and data together ---------------------------------------------------------------------------
MODEL_FEATURES_MISSING = ("The model expects columns that '{data}' does not have: {missing}; it has: "
                          "{available}.")
MODEL_FEATURE_COUNT = ("The model takes {expected} input columns but '{data}' has {actual} feature "
                       "columns; choose the features the model was trained on.")
MODEL_IS_IMAGE = ("'{model}' is an image model, so it cannot score the table '{data}'; load images "
                  "instead.")
MODEL_IS_TABULAR = "'{model}' is a tabular model, so it cannot score images; load a table instead."
CLASSES_DO_NOT_MATCH = ("The model predicts the classes {classes}, but the {column} holds {values}; "
                        "choose the right target column or model.")

# --- images ---------------------------------------------------------------------------------------------
IMAGE_UNREADABLE = "'{name}' is not an image Glasswing can read (PNG, JPEG, BMP, GIF, WebP or TIFF)."
IMAGE_TOO_LARGE = ("'{name}' has {megapixels:,.0f} megapixels, more than the {limit:,} megapixel "
                   "limit; resize it first.")
IMAGES_NONE = "'{name}' contains no images (PNG, JPEG, BMP, GIF, WebP or TIFF)."
IMAGES_TOO_MANY = "'{name}' contains {count:,} images, more than the {limit:,} Glasswing reads at once."
IMAGES_DUPLICATE_NAMES = "More than one image is named '{file}'; give each image a different file name."
LABELS_NO_FILE_COLUMN = ("The labels table '{name}' needs a 'file' column naming each image; it has: "
                         "{available}.")
LABELS_MISSING = "The labels table '{name}' has no row for {count} image(s), e.g. '{example}'."
IMAGES_TOO_MUCH_DATA = ("'{name}' unpacks to more than {limit_mb:,} MB of files; upload fewer or smaller "
                        "images.")

# --- samples --------------------------------------------------------------------------------------------
SAMPLE_MISSING = "The sample file '{path}' is missing; run `make samples` to build the samples."
SAMPLE_UNKNOWN = "There is no {what} {value!r}; choose one of: {valid}."


def listing(values, limit: int = 12) -> str:
    """Return ``values`` as a comma-separated list for a sentence, shortened after ``limit`` items."""
    values = [str(v) for v in values]
    if len(values) <= limit:
        return ", ".join(values)
    return f"{', '.join(values[:limit])}, ... ({len(values) - limit} more)"
