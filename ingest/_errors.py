"""Ingest's error types and the sentences it raises (kept as constants, tested by exact text).

Every sentence names the bad value and, where there is a short list, the valid ones. Placeholders are
filled with ``str.format``; ``{name}`` is always the file's display name.
"""

from glasswing._errors import GlasswingError


class IngestError(GlasswingError):
    """A file, column or model that cannot be used, with one sentence saying why and how to fix it."""


class UntrustedFileError(IngestError):
    """A file that could run code when loaded or used.

    Pickle, joblib, whole-module ``torch.save``, skops files with unreviewed types or stored functions,
    TorchScript calling more than tensor math. Loading it needs ``trusted=True`` (``--trust`` on the
    command line, the checkbox in the dashboard).
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
TABLE_BAD_ENCODING = ("'{name}' is not UTF-8 text: the byte at position {position:,} of the file (value "
                      "0x{byte:02X}) is not valid UTF-8, and the file does not read as Windows-1252 or "
                      "Latin-1 text either; save it as UTF-8 (\"CSV UTF-8\" in Excel) and upload it again.")
TABLE_NO_ROWS = "'{name}' has a header but no data rows."
TABLE_TOO_MANY_COLUMNS = ("'{name}' has {count:,} columns, more than the {limit:,} Glasswing reads; keep "
                          "only the columns the audit needs.")
TABLE_TOO_MANY_ROWS = ("'{name}' has {count:,} rows, more than the {limit:,} Glasswing reads into memory; "
                       "use a sample, or audit logged predictions in a Parquet file out of core with "
                       "`glasswing audit --data FILE.parquet --prediction COL`.")
TABLE_TOO_MUCH_DATA = ("'{name}' holds {size_mb:,.0f} MB of uncompressed data, more than the {limit_mb:,} MB "
                       "Glasswing reads into memory; use a sample, or audit logged predictions in a Parquet "
                       "file out of core with `glasswing audit --data FILE.parquet --prediction COL`.")
TABLE_TOO_MANY_CELLS = ("'{name}' has up to {cells:,} cells ({rows:,} lines x {columns:,} columns), more "
                        "than the {limit:,} Glasswing reads into memory; use a sample or fewer columns.")
TABLE_OUT_OF_MEMORY = ("'{name}' is too large to read into this machine's memory; use a sample or fewer "
                       "columns.")
AMBIGUOUS_COLUMN = ("Column '{column}' appears {count} times in {where} with different values (the later "
                    "copies are renamed {copies}); choose one of them by its name.")
NOTE_DUPLICATES_IDENTICAL = ("'{name}' has {count} columns named '{column}' holding identical values; the "
                             "later copies are renamed {copies}.")
NOTE_DUPLICATES_DIFFER = ("'{name}' has {count} columns named '{column}' with different values; the later "
                          "copies are renamed {copies}, and a role must name one of them.")
NOTE_ENCODING = "'{name}' is not UTF-8; it was read as {encoding} text."
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
SKOPS_UNTRUSTED = ("'{name}' contains types that are neither in skops' trusted set nor among the "
                   "scikit-learn types Glasswing has reviewed: {types}; mark it trusted (--trust, or 'I "
                   "trust this file' in the dashboard) only if you know where it came from.")
SKOPS_FUNCTION = ("'{name}' stores the function {function} ({where}), and a function in a model file runs "
                  "when the model scores data, where it can read or write files; mark it trusted (--trust, "
                  "or 'I trust this file' in the dashboard) only if you know where it came from.")
SKOPS_PARAMETER = ("'{name}' sets {param}={value!r} on its {estimator}, which makes scikit-learn {effect}; "
                   "mark it trusted (--trust, or 'I trust this file' in the dashboard) only if you know "
                   "where it came from.")
TORCHSCRIPT_REFUSED = ("'{name}' is TorchScript code that calls {calls}, beyond the tensor math Glasswing "
                       "runs from an untrusted file (nothing that touches files, the network, the process or "
                       "Python objects); mark it trusted (--trust, or 'I trust this file' in the dashboard) "
                       "only if you know where it came from.")
ONNX_EXTERNAL_DATA = ("'{name}' keeps the tensor '{tensor}' outside the file (external data at "
                      "'{location}'), which would make Glasswing read another file; save the model with "
                      "every tensor inside it (onnx.save_model(model, path, save_as_external_data=False)).")
ONNX_CUSTOM_DOMAIN = ("'{name}' uses operators from the custom domain '{domain}' ({ops}); Glasswing runs "
                      "only standard ONNX and ONNX-ML operators.")
MODEL_ARCHIVE_TOO_LARGE = ("'{name}' unpacks to {size_mb:,.0f} MB, more than the {limit_mb:,} MB Glasswing "
                           "reads from one model file.")
MODEL_OUT_OF_MEMORY = "'{name}' is too large to load in this machine's memory; use a smaller model."
BAD_METADATA = ("'{name}' has a metadata entry '{key}' that is not valid JSON ({reason}); fix or remove that "
                "entry.")
MODEL_FAILED_ON_DATA = "'{name}' failed while scoring the data: {reason}."
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
                    "size, mean and std (--input-size 224 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 "
                    "or --preprocess FILE.json on the command line, 'Set the image preprocessing' in the "
                    "dashboard, preprocess={{\"size\": [224, 224], ...}} in Python).")
BAD_PREPROCESS = "The image preprocessing {value!r} is not valid: {reason}."
IMAGE_MODEL_FAILED = "'{name}' could not run on a {channels} x {height} x {width} image batch: {reason}."
ONNX_NO_CLASSES = ("'{name}' does not say how many classes it predicts; add a 'class_names' entry "
                   "to its metadata.")

# --- model and data together ---------------------------------------------------------------------------
MODEL_FEATURES_MISSING = ("The model expects columns that {data} does not have: {missing} (names are "
                          "matched as given, then with '-', spaces and dots read as '_'); it has: "
                          "{available}.")
NOTE_RENAMED_INPUTS = ("'{model}' names its inputs {inputs}, so they are read from the columns {columns} "
                       "(names matched with '-', spaces and dots read as '_').")
NOTE_NUMERIC_INPUTS = ("'{model}' takes one numeric matrix of {count} columns, so it is given the numeric "
                       "feature columns {columns}; the text columns {skipped} are left out.")
MODEL_NUMERIC_COUNT = ("'{model}' takes one numeric matrix of {expected} columns, but {data} has {actual} "
                       "numeric columns ({columns}); choose the model's input columns, in training order "
                       "(--features on the command line, 'Features (model inputs)' in the dashboard).")
MODEL_IS_IMAGE = ("'{model}' is an image model, so it cannot score the table '{data}'; load images "
                  "instead.")
MODEL_IS_TABULAR = "'{model}' is a tabular model, so it cannot score images; load a table instead."
CLASSES_DO_NOT_MATCH = ("The model predicts the classes {classes}, but the {column} holds {values}; "
                        "choose the right target column or model.")

# --- images ---------------------------------------------------------------------------------------------
IMAGE_UNREADABLE = "'{name}' is not an image Glasswing can read (PNG, JPEG, BMP, GIF, WebP or TIFF)."
IMAGE_TOO_LARGE = ("{which} has {megapixels:,.1f} megapixels, more than the {limit:,} megapixel limit; "
                   "resize it first.")
IMAGES_TOO_MANY_PIXELS = ("'{name}' holds {megapixels:,.0f} megapixels of images in all, more than the "
                          "{limit:,} megapixels Glasswing decodes from one upload; upload fewer or smaller "
                          "images.")
IMAGE_OUT_OF_MEMORY = ("'{name}' is too large to decode in this machine's memory; upload fewer or smaller "
                       "images.")
IMAGES_NONE = "'{name}' contains no images (PNG, JPEG, BMP, GIF, WebP or TIFF)."
IMAGES_ZIP_NOT_ALONE = ("The upload holds {what}, and a zip is read only on its own; upload one zip, or the "
                        "images (and a labels.csv) without a zip, and remove the rest from the list (the x "
                        "beside each file).")
IMAGE_LABELS_NOT_CLASSES = ("The model predicts the classes {classes}, but the images are labelled {values}; "
                            "name the model's classes in output order to match the labels ('Class names' on "
                            "the Model & data page, --class-names on the command line), or correct the "
                            "labels table.")
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
