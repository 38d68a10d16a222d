"""Images: decoding and conversion to RGB, decompression bombs, folders, zips (no zip-slip) and labels."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from glasswing import ingest
from glasswing.ingest import load_image, load_images


def _png(array_or_image, fmt: str = "PNG", **save) -> bytes:
    image = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def _err(fn, *args, **kwargs) -> str:
    with pytest.raises(ingest.IngestError) as info:
        fn(*args, **kwargs)
    return str(info.value)


RGB = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10


def test_rgb_png_round_trips():
    out = load_image(_png(RGB), name="a.png")
    assert out.dtype == np.uint8 and out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out, RGB)


def test_grayscale_becomes_three_equal_channels():
    grey = np.array([[0, 128, 255]], dtype=np.uint8)
    out = load_image(_png(grey), name="g.png")
    np.testing.assert_array_equal(out, np.repeat(grey[..., None], 3, axis=2))


def test_transparency_is_composited_over_white():
    rgba = np.array([[[0, 0, 0, 0], [255, 0, 0, 255], [0, 0, 255, 128]]], dtype=np.uint8)
    out = load_image(_png(rgba), name="t.png")
    # hand-computed "over" on white: transparent -> white; opaque red stays; half blue -> (127, 127, 255)
    np.testing.assert_allclose(out[0].astype(int), [[255, 255, 255], [255, 0, 0], [127, 127, 255]], atol=1)


def test_palette_and_jpeg():
    palette = Image.fromarray(RGB).convert("P")
    np.testing.assert_array_equal(load_image(_png(palette), name="p.png"), np.asarray(palette.convert("RGB")))
    jpeg = load_image(_png(RGB, "JPEG", quality=95), name="j.jpg")
    assert jpeg.shape == (2, 3, 3)


@pytest.mark.parametrize("size, megapixels", [((10_000, 10_000), 100), ((7_000, 7_000), 49),
                                              ((20_000, 20_000), 400)])
def test_decompression_bomb_is_refused(size, megapixels):
    bomb = _png(Image.new("1", size))  # compresses to a few kB
    assert len(bomb) < 200_000
    assert _err(load_image, bomb, name="bomb.png") == (
        f"'bomb.png' has {megapixels:.1f} megapixels, more than the 40 megapixel limit; resize it first.")


@pytest.mark.parametrize("data", [b"not an image at all", _png(RGB)[:30]])
def test_undecodable_bytes(data):
    assert _err(load_image, data, name="x.png") == (
        "'x.png' is not an image Glasswing can read (PNG, JPEG, BMP, GIF, WebP or TIFF).")


# ------------------------------------------------------------------ sets
def _folder(tmp_path):
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.png").write_bytes(_png(RGB))
    (folder / "a.png").write_bytes(_png(np.zeros((4, 4), np.uint8)))
    (folder / "sub" / "c.jpg").write_bytes(_png(RGB, "JPEG"))
    (folder / "README.txt").write_text("hello")
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    (folder / "labels.csv").write_text("file,label,watermark\na.png,3,yes\nb.png,7,no\nc.jpg,3,no\n")
    return folder


def test_folder_with_labels_csv_found_next_to_the_images(tmp_path):
    images = load_images(_folder(tmp_path))
    assert images.name == "imgs" and len(images) == 3
    assert images.names == ["a.png", "b.png", "sub/c.jpg"]
    assert images.labels == ["3", "7", "3"]
    assert images.groups["watermark"].tolist() == ["yes", "no", "no"]
    assert list(images.groups.index) == images.names
    assert images.notes == ("a.png: converted from L to RGB",
                            "skipped 1 file(s) that are not images: README.txt")
    assert all(i.dtype == np.uint8 and i.ndim == 3 and i.shape[2] == 3 for i in images.images)


def test_zip_is_read_in_memory_and_names_cannot_escape(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../evil.png", _png(RGB))
        archive.writestr("/abs/x.png", _png(RGB))
        archive.writestr("__MACOSX/._evil.png", b"junk")
        archive.writestr("folder/", b"")
    data = buffer.getvalue()
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    images = load_images(data, name="upload.zip")
    assert images.names == ["abs/x.png", "evil.png"]
    assert images.sha256 == hashlib.sha256(data).hexdigest()
    assert images.labels is None and images.groups is None
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before  # nothing written anywhere


def test_list_of_uploads_with_labels_table():
    files = [("x.png", _png(RGB)), ("y.png", _png(RGB))]
    labels = b"file,label,site\nx.png,cat,A\ny.png,dog,B\n"
    images = load_images(files, labels=labels)
    assert images.labels == ["cat", "dog"] and images.groups["site"].tolist() == ["A", "B"]
    same = load_images(list(reversed(files)), labels=labels)
    assert same.sha256 == images.sha256 and same.names == images.names  # order does not matter
    other = load_images(files, labels=b"file,label\nx.png,cat\ny.png,cow\n")
    assert other.sha256 != images.sha256  # labels are part of the fingerprint


def test_a_zip_is_read_only_on_its_own_in_a_list_of_uploads():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.png", _png(RGB))
    zipped = buffer.getvalue()
    assert _err(load_images, [("first.zip", zipped), ("second.zip", zipped)]) == (
        "The upload holds 2 zips ('first.zip', 'second.zip'), and a zip is read only on its own; upload one "
        "zip, or the images (and a labels.csv) without a zip, and remove the rest from the list (the x "
        "beside each file).")
    assert _err(load_images, [("a.zip", zipped), ("y.png", _png(RGB))]).startswith(
        "The upload holds the zip 'a.zip' and 1 other file(s), and")
    alone = load_images([("a.zip", zipped)], name="a.zip")
    assert alone.names == ["x.png"] and alone.sha256 == hashlib.sha256(zipped).hexdigest()


def test_single_image_file_is_a_set_of_one():
    images = load_images(_png(RGB), name="one.png")
    assert len(images) == 1 and images.names == ["one.png"]


def test_labels_need_a_file_column():
    assert _err(load_images, [("x.png", _png(RGB))], labels=b"name,label\nx.png,1\n") == (
        "The labels table 'labels.csv' needs a 'file' column naming each image; it has: name, label.")


def test_labels_must_cover_every_image():
    files = [("x.png", _png(RGB)), ("y.png", _png(RGB))]
    assert _err(load_images, files, labels=b"file,label\nx.png,1\n") == (
        "The labels table 'labels.csv' has no row for 1 image(s), e.g. 'y.png'.")


def test_no_images():
    assert _err(load_images, [("notes.txt", b"hi")], name="up") == (
        "'up' contains no images (PNG, JPEG, BMP, GIF, WebP or TIFF).")


def test_duplicate_names():
    assert _err(load_images, [("x.png", _png(RGB)), ("x.png", _png(RGB))]) == (
        "More than one image is named 'x.png'; give each image a different file name.")


def test_a_broken_image_in_a_set_is_named():
    assert _err(load_images, [("ok.png", _png(RGB)), ("bad.png", b"nope")]) == (
        "'bad.png' is not an image Glasswing can read (PNG, JPEG, BMP, GIF, WebP or TIFF).")
