"""The budgets every upload is checked against before anything is decoded into memory.

Each limit is read from what a file declares about itself (a table's header or Parquet metadata, an
image's header, a zip member's declared size) and checked before the data is decoded, so a small file
cannot make Glasswing allocate gigabytes. Running out of memory anyway is reported as "too large".

Together they keep one upload in memory under about 2 GiB: a table is at most
:data:`MAX_TABLE_BYTES` uncompressed (Parquet) or :data:`MAX_CELLS` cells (CSV, at most 64 bytes a
cell); an image set at most :data:`MAX_TOTAL_MEGAPIXELS` (3 bytes a pixel); a model archive at most
:data:`MAX_MODEL_UNPACKED_BYTES`.
"""

from __future__ import annotations

import io
import zipfile

from glasswing.ingest._errors import IMAGE_TOO_LARGE, MODEL_ARCHIVE_TOO_LARGE, IngestError

#: Most columns in one table; the duplicate-name check over them is linear.
MAX_COLUMNS = 10_000
#: Most rows read into memory from one table (Parquet: from its metadata; CSV: counted after parsing).
MAX_ROWS = 10_000_000
#: Most cells (lines x columns, counted before parsing) of a CSV file.
MAX_CELLS = 30_000_000
#: Most uncompressed bytes of a Parquet file, from its metadata, before any column is decoded.
MAX_TABLE_BYTES = 2 * 1024**3
#: Largest single image decoded, in megapixels (Pillow's own decompression-bomb limit is about 89).
MAX_IMAGE_MEGAPIXELS = 40
MAX_IMAGE_PIXELS = MAX_IMAGE_MEGAPIXELS * 1_000_000
#: Most pixels decoded from one upload (a zip, a folder or several files) in all, in megapixels:
#: 3 bytes a pixel, so about 600 MB of RGB arrays.
MAX_TOTAL_MEGAPIXELS = 200
MAX_TOTAL_PIXELS = MAX_TOTAL_MEGAPIXELS * 1_000_000
#: Most bytes the members of one model archive (skops, TorchScript, torch.save zip) declare in all.
MAX_MODEL_UNPACKED_BYTES = 1024**3


def check_image_size(width: int, height: int, which: str) -> None:
    """Refuse an image of ``width`` x ``height`` pixels over :data:`MAX_IMAGE_MEGAPIXELS`.

    The one implementation of the per-image pixel limit: image files (``ingest.load_image``) and arrays
    handed to the image explainers are both checked here.

    Parameters
    ----------
    width, height : int
        The image's size in pixels (from its header, before decoding).
    which : str
        How the sentence names the image, e.g. ``"'cat.png'"`` or ``"Image 2"``.

    Raises
    ------
    IngestError
        When the image has more than :data:`MAX_IMAGE_PIXELS` pixels.

    Examples
    --------
    >>> check_image_size(640, 480, "'small.png'")
    """
    if width * height > MAX_IMAGE_PIXELS:
        raise IngestError(IMAGE_TOO_LARGE.format(which=which, megapixels=width * height / 1e6,
                                                 limit=MAX_IMAGE_MEGAPIXELS))


def declared_zip_size(data: bytes) -> int:
    """Return the uncompressed bytes the members of the zip archive ``data`` declare (0 if no zip)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return 0


def check_model_archive(data: bytes, name: str, limit: int | None = None) -> None:
    """Refuse a zip-based model file whose members declare more than ``limit`` bytes, before unpacking.

    Python's zipfile and PyTorch's reader both stop at a member's declared size, so checking the
    declared sizes bounds what decompression can produce.

    Raises
    ------
    IngestError
        When the declared sizes add up to more than ``limit`` (default :data:`MAX_MODEL_UNPACKED_BYTES`).
    """
    limit = MAX_MODEL_UNPACKED_BYTES if limit is None else limit
    size = declared_zip_size(data)
    if size > limit:
        raise IngestError(MODEL_ARCHIVE_TOO_LARGE.format(name=name, size_mb=size / 2**20,
                                                         limit_mb=limit // 2**20))
