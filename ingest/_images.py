"""Images: decoding PNG/JPEG/... safely, and reading sets of images from folders, zips or uploads.

Decisions:

- Every image becomes an RGB ``uint8`` array ``(H, W, 3)``. Grayscale, palette, 16-bit and CMYK images are
  converted; transparent pixels are composited over white. Each conversion is noted in ``ImageSet.notes``.
- An image over :data:`MAX_IMAGE_MEGAPIXELS`, or a set over :data:`MAX_TOTAL_MEGAPIXELS` in all, is refused
  from the images' headers before any pixel is decoded (decompression bombs, zips of large images).
- In a folder or zip, files that are not images by their suffix are skipped and noted (``readme.txt``,
  ``.DS_Store``, ``__MACOSX/``); a file with an image suffix that does not decode is an error. A
  ``labels.csv`` found next to the images is used as the labels table when none is given.
- Zip members are read in memory and never extracted, so member names like ``../../x.png`` cannot write
  anywhere; names only label the images.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from glasswing.ingest import _source
from glasswing.ingest._errors import (
    IMAGE_OUT_OF_MEMORY,
    IMAGE_TOO_LARGE,
    IMAGE_UNREADABLE,
    IMAGES_DUPLICATE_NAMES,
    IMAGES_NONE,
    IMAGES_TOO_MANY,
    IMAGES_TOO_MANY_PIXELS,
    IMAGES_TOO_MUCH_DATA,
    IMAGES_ZIP_NOT_ALONE,
    LABELS_MISSING,
    LABELS_NO_FILE_COLUMN,
    IngestError,
    listing,
)
from glasswing.ingest._limits import (
    MAX_IMAGE_MEGAPIXELS,
    MAX_IMAGE_PIXELS,
    MAX_TOTAL_MEGAPIXELS,
    MAX_TOTAL_PIXELS,
    check_image_size,
)
from glasswing.ingest._source import MAX_FILE_BYTES, read_bytes, sha256_hex, source_name
from glasswing.ingest._tabular import read_table

log = logging.getLogger(__name__)

#: Most images read in one set.
MAX_IMAGES = 5_000
#: Most bytes unpacked from one zip or folder.
MAX_UNPACKED_BYTES = 4 * MAX_FILE_BYTES
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
LABELS_FILE = "labels.csv"
FILE_COLUMN, LABEL_COLUMN = "file", "label"


@dataclass(frozen=True, eq=False)
class ImageSet:
    """Images with optional labels and group attributes, a name and a SHA-256 fingerprint.

    Attributes
    ----------
    images : list of numpy.ndarray
        RGB ``uint8`` arrays ``(H, W, 3)``, sorted by name.
    names : list of str
        File names (zip or folder members keep their relative path).
    labels : list of str or None
        The true class of each image, as text (``"3"``), from the labels table's ``label`` column.
    groups : pandas.DataFrame or None
        Other columns of the labels table (e.g. ``watermark``), one row per image, indexed by name.
    name : str
    sha256 : str
        The SHA-256 of the zip or image file; for a folder, a list of files or a separate labels
        table, a digest of every file's name and bytes.
    notes : tuple of str
        What was converted or skipped while reading.
    """

    images: list
    names: list
    labels: list | None = None
    groups: pd.DataFrame | None = None
    name: str = "images"
    sha256: str = ""
    notes: tuple = ()

    def __len__(self) -> int:
        return len(self.images)


def load_image(source: Any, *, name: str | None = None) -> np.ndarray:
    """Decode one image file into an RGB ``uint8`` array ``(H, W, 3)``.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        The image file (PNG, JPEG, BMP, GIF, WebP or TIFF; the first frame of an animation).
    name : str, optional
        Name used in messages; defaults to the file's base name.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    IngestError
        When the bytes are not an image Pillow can decode, or it is larger than
        :data:`MAX_IMAGE_MEGAPIXELS`.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.new("L", (4, 3), 200).save(buffer, format="PNG")
    >>> load_image(buffer.getvalue(), name="grey.png").shape
    (3, 4, 3)
    """
    name = source_name(source, name, "image")
    return _decode(read_bytes(source, name), name)[0]


def _image_size(data: bytes, name: str) -> tuple[int, int]:
    """Return ``(width, height)`` from the image's header, without decoding its pixels."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked by us
            with Image.open(io.BytesIO(data)) as img:
                return img.size
    except Image.DecompressionBombError as err:
        match = re.search(r"\((\d+) pixels\)", str(err))
        pixels = int(match[1]) if match else MAX_IMAGE_PIXELS + 1
        raise IngestError(IMAGE_TOO_LARGE.format(which=f"'{name}'", megapixels=pixels / 1e6,
                                                 limit=MAX_IMAGE_MEGAPIXELS)) from None
    except Exception as err:  # Pillow raises UnidentifiedImageError, OSError, SyntaxError, ValueError...
        log.info("could not read the header of %s", name, exc_info=err)
        raise IngestError(IMAGE_UNREADABLE.format(name=name)) from None


def _decode(data: bytes, name: str) -> tuple[np.ndarray, str | None]:
    """Return the RGB array and a note when the image had to be converted.

    The size in the header is checked (:func:`ingest._limits.check_image_size`) before any pixel is
    decoded; running out of memory while decoding is reported as too large, not as unreadable.
    """
    from PIL import Image

    check_image_size(*_image_size(data, name), f"'{name}'")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                mode = img.mode
                if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
                    rgba = img.convert("RGBA")
                    rgb = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
                else:
                    rgb = img.convert("RGB")
                array = np.array(rgb, dtype=np.uint8)
    except MemoryError:
        raise IngestError(IMAGE_OUT_OF_MEMORY.format(name=name)) from None
    except Exception as err:  # Pillow raises UnidentifiedImageError, OSError, SyntaxError, ValueError...
        log.info("could not decode %s", name, exc_info=err)
        raise IngestError(IMAGE_UNREADABLE.format(name=name)) from None
    note = None if mode == "RGB" else f"{name}: converted from {mode} to RGB"
    return array, note


def _check_total_pixels(items: list[tuple[str, bytes]], name: str) -> None:
    """Refuse a set whose images hold more than :data:`MAX_TOTAL_PIXELS` in all, read from their headers."""
    sizes = []
    for member, data in items:
        width, height = _image_size(data, member)
        check_image_size(width, height, f"'{member}'")
        sizes.append(width * height)
    if sum(sizes) > MAX_TOTAL_PIXELS:
        raise IngestError(IMAGES_TOO_MANY_PIXELS.format(name=name, megapixels=sum(sizes) / 1e6,
                                                        limit=MAX_TOTAL_MEGAPIXELS))


def load_images(source: Any, *, labels: Any = None, name: str | None = None) -> ImageSet:
    """Read a set of images, with optional labels and group attributes.

    Parameters
    ----------
    source : folder path, zip (path, bytes or binary file), one image, or list of (filename, bytes)
        A folder is read recursively; a zip is read in memory, never extracted.
    labels : path, bytes, binary file or pandas.DataFrame, optional
        A table with a ``file`` column (the image's name or relative path), an optional ``label`` column
        (the true class) and any other columns as group attributes. Default: a ``labels.csv`` among the
        files, if there is one.
    name : str, optional
        Display name; defaults to the folder's or file's name.

    Returns
    -------
    ImageSet

    Raises
    ------
    IngestError
        For undecodable or over-large images, no images, too many, duplicate names, a labels table
        without a ``file`` column or without a row for some image.

    Examples
    --------
    >>> from glasswing._paths import sample_dir
    >>> images = load_images(sample_dir() / "images")
    >>> len(images), images.labels[:2], list(images.groups.columns)
    (20, ['0', '0'], ['watermark'])
    """
    if not name:
        name = "images" if isinstance(source, (list, tuple)) else source_name(source, None, "images")
    entries, archive_sha, single = _entries(source, name)
    to_decode, names, notes, skipped, found_labels = [], [], [], [], None
    for member, data in sorted(entries, key=lambda e: e[0]):
        base = PurePosixPath(member).name
        if base.lower() == LABELS_FILE and labels is None and not single:
            found_labels = (member, data)
        elif single or (base.lower().endswith(IMAGE_SUFFIXES) and not base.startswith(".")):
            if len(to_decode) >= MAX_IMAGES:
                raise IngestError(IMAGES_TOO_MANY.format(name=name, count=_count_images(entries),
                                                         limit=MAX_IMAGES))
            if member in names:
                raise IngestError(IMAGES_DUPLICATE_NAMES.format(file=member))
            to_decode.append((member, data))
            names.append(member)
        else:
            skipped.append(member)
    _check_total_pixels(to_decode, name)  # every header first: nothing is decoded over the budget
    images = []
    for member, data in to_decode:
        array, note = _decode(data, member)
        images.append(array)
        if note:
            notes.append(note)
    if not images:
        raise IngestError(IMAGES_NONE.format(name=name))
    if skipped:
        notes.append(f"skipped {len(skipped)} file(s) that are not images: {listing(skipped, limit=5)}")
    digest = hashlib.sha256()
    label_values, groups = None, None
    if labels is not None or found_labels is not None:
        label_values, groups, label_bytes = _read_labels(labels, found_labels, names)
        digest.update(label_bytes)
    if archive_sha:
        digest.update(archive_sha.encode())
    else:
        for member, data in sorted(entries, key=lambda e: e[0]):
            digest.update(member.encode() + b"\0" + hashlib.sha256(data).digest())
    # One file and no separate labels: the fingerprint is the file's own SHA-256 (as sha256sum prints it).
    sha = archive_sha if archive_sha and labels is None else digest.hexdigest()
    log.info("read %d images from %s (%d notes)", len(images), name, len(notes))
    return ImageSet(images=images, names=names, labels=label_values, groups=groups, name=name,
                    sha256=sha, notes=tuple(notes))


def _count_images(entries: list) -> int:
    return sum(PurePosixPath(m).name.lower().endswith(IMAGE_SUFFIXES) for m, _ in entries)


def _entries(source: Any, name: str) -> tuple[list[tuple[str, bytes]], str | None, bool]:
    """Return ``(member, bytes)`` pairs, the SHA-256 of a zip or image file, and whether it is one image."""
    if isinstance(source, (list, tuple)):
        entries = [(str(PurePosixPath(str(n)).name), bytes(d)) for n, d in source]
        zips = [n for n, d in entries if d[:2] == b"PK" and zipfile.is_zipfile(io.BytesIO(d))]
        if zips and len(entries) > 1:  # e.g. a second zip added beside one that failed to load
            named, others = listing(f"'{z}'" for z in zips), len(entries) - len(zips)
            what = (f"{len(zips)} zips ({named})" if len(zips) > 1 else f"the zip {named}") + (
                f" and {others} other file(s)" if others else "")
            raise IngestError(IMAGES_ZIP_NOT_ALONE.format(what=what))
        if len(entries) == 1 and zips:
            return _zip_entries(entries[0][1], name), sha256_hex(entries[0][1]), False
        return entries, None, False
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        return _folder_entries(Path(source), name), None, False
    data = read_bytes(source, name)
    if data[:2] == b"PK" and zipfile.is_zipfile(io.BytesIO(data)):
        return _zip_entries(data, name), sha256_hex(data), False
    return [(name, data)], sha256_hex(data), True


def _folder_entries(folder: Path, name: str) -> list[tuple[str, bytes]]:
    entries, total = [], 0
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        total += path.stat().st_size
        if total > MAX_UNPACKED_BYTES:
            raise _too_much(name)
        entries.append((relative.as_posix(), read_bytes(path, relative.as_posix())))
    return entries


def _zip_entries(data: bytes, name: str) -> list[tuple[str, bytes]]:
    entries, total = [], 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            member = _safe_member_name(info.filename)
            if info.is_dir() or not member or member.startswith("__MACOSX/"):
                continue
            total += info.file_size
            if total > MAX_UNPACKED_BYTES or info.file_size > _source.MAX_FILE_BYTES:
                raise _too_much(name)
            try:
                with archive.open(info) as handle:
                    content = handle.read(_source.MAX_FILE_BYTES + 1)  # never trust the declared size
            except (RuntimeError, zipfile.BadZipFile, OSError, NotImplementedError):  # encrypted, corrupt
                raise IngestError(IMAGE_UNREADABLE.format(name=member)) from None
            if len(content) > _source.MAX_FILE_BYTES:
                raise _too_much(name)
            entries.append((member, content))
    return entries


def _too_much(name: str) -> IngestError:
    return IngestError(IMAGES_TOO_MUCH_DATA.format(name=name, limit_mb=MAX_UNPACKED_BYTES // 2**20))


def _safe_member_name(filename: str) -> str:
    """Return a zip member's path with no root, drive or ``..`` parts (used only as a label, never opened)."""
    parts = [p for p in filename.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(p for p in parts if not p.endswith(":"))


def _read_labels(labels: Any, found: tuple[str, bytes] | None,
                 names: list[str]) -> tuple[list[str] | None, pd.DataFrame | None, bytes]:
    if isinstance(labels, pd.DataFrame):
        table, table_name, raw = labels, "labels", labels.to_csv(index=False).encode()
    else:
        source, table_name = (found[1], found[0]) if labels is None else (labels, None)
        table_name = source_name(source, table_name, LABELS_FILE)
        raw = read_bytes(source, table_name)
        table, _ = read_table(raw, name=table_name)
    if FILE_COLUMN not in table.columns:
        raise IngestError(LABELS_NO_FILE_COLUMN.format(name=table_name, available=listing(table.columns)))
    table = table.astype({FILE_COLUMN: str}).drop_duplicates(FILE_COLUMN, keep="last").set_index(FILE_COLUMN)
    rows = [n if n in table.index else PurePosixPath(n).name for n in names]
    missing = [n for n, r in zip(names, rows, strict=True) if r not in table.index]
    if missing:
        raise IngestError(LABELS_MISSING.format(name=table_name, count=len(missing), example=missing[0]))
    matched = table.loc[rows]
    label_values = None
    if LABEL_COLUMN in matched.columns:
        label_values = ["" if pd.isna(v) else str(v) for v in matched[LABEL_COLUMN]]
    others = matched.drop(columns=[LABEL_COLUMN], errors="ignore")
    groups = others.set_axis(pd.Index(names, name="image")) if len(others.columns) else None
    return label_values, groups, raw
