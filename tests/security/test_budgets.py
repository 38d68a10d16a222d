"""Small uploads that would exhaust the server are refused from what they declare, before decoding,
each in one sentence, with the memory a refusal costs measured in a fresh interpreter."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from glasswing import ingest
from glasswing.ingest import _errors as E
from glasswing.ingest import _limits
from tests.security.conftest import bounded_load

#: What a refusal may add to the peak resident memory of the process, in MB (the attacks need GBs).
REFUSAL_MB = 150


def _parquet(table_or_batches, **kwargs) -> bytes:
    buffer = io.BytesIO()
    if isinstance(table_or_batches, pa.Table):
        pq.write_table(table_or_batches, buffer, compression="zstd", **kwargs)
    else:
        schema, batches = table_or_batches
        with pq.ParquetWriter(buffer, schema, compression="zstd") as writer:
            for batch in batches:
                writer.write_table(batch, row_group_size=len(batch))
    return buffer.getvalue()


def test_the_memory_measurement_sees_what_a_call_allocates(tmp_path):
    """Control: the same harness reports an allocation of 300 MB, so a small figure below means something."""
    got = bounded_load("block = numpy.ones(300_000_000, numpy.uint8)", {}, tmp_path)
    assert got["result"] == "loaded" and got["peak_mb"] > 250


def test_a_1mb_csv_with_100000_columns_is_refused_at_once(tmp_path):
    header = ",".join(f"c{i}" for i in range(100_000))
    data = f"{header}\n{','.join('1' * 100_000)}\n".encode()
    assert len(data) < 1_000_000
    got = bounded_load("ingest.read_table(path / 'wide.csv')", {"wide.csv": data}, tmp_path, timeout=60)
    assert got["result"] == E.TABLE_TOO_MANY_COLUMNS.format(name="wide.csv", count=100_000,
                                                            limit=ingest.MAX_COLUMNS)
    assert got["peak_mb"] < REFUSAL_MB


def test_the_column_limit_itself_reads_with_a_linear_duplicate_check():
    names = [f"c{i}" for i in range(ingest.MAX_COLUMNS - 1)] + ["c0"]
    data = (",".join(names) + "\n" + ",".join(["1"] * len(names)) + "\n").encode()
    frame, _ = ingest.read_table(data, name="limit.csv")
    assert frame.shape == (1, ingest.MAX_COLUMNS) and frame.columns[-1] == "c0.1"
    assert ingest.table_notes(frame) == (E.NOTE_DUPLICATES_IDENTICAL.format(
        name="limit.csv", count=2, column="c0", copies="'c0.1'"),)


def test_a_csv_with_too_many_cells_is_refused_before_parsing():
    data = ("a,b,c\n" + "1,2,3\n" * (ingest.MAX_CELLS // 3)).encode()
    lines = data.count(b"\n") + 1
    with pytest.raises(ingest.IngestError) as info:
        ingest.read_table(data, name="long.csv")
    assert str(info.value) == E.TABLE_TOO_MANY_CELLS.format(name="long.csv", cells=lines * 3, rows=lines,
                                                            columns=3, limit=ingest.MAX_CELLS)


def test_a_small_parquet_file_with_2e8_rows_is_refused_from_its_metadata(tmp_path):
    zeros = pa.table({"y": pa.array(np.zeros(10_000_000, np.int8))})
    data = _parquet((zeros.schema, [zeros] * 20))
    assert len(data) < 2_000_000
    got = bounded_load("ingest.read_table(path / 'rows.parquet')", {"rows.parquet": data}, tmp_path)
    assert got["result"] == E.TABLE_TOO_MANY_ROWS.format(name="rows.parquet", count=200_000_000,
                                                         limit=ingest.MAX_ROWS)
    assert got["peak_mb"] < REFUSAL_MB


def test_a_parquet_file_whose_text_decodes_to_gigabytes_is_refused(tmp_path):
    # one 8 MB string stored once in a dictionary page and repeated 300 times: 9 kB on disk, 2.4 GB decoded
    text = pa.DictionaryArray.from_arrays(pa.array(np.zeros(300, np.int32)), pa.array(["a" * 8_000_000]))
    data = _parquet(pa.table({"s": text}))
    assert len(data) < 100_000
    got = bounded_load("ingest.read_table(path / 'text.parquet')", {"text.parquet": data}, tmp_path)
    assert got["result"] == E.TABLE_TOO_MUCH_DATA.format(name="text.parquet", size_mb=(8_000_000 + 8) * 300
                                                         / 2**20, limit_mb=ingest.MAX_TABLE_BYTES // 2**20)
    assert got["peak_mb"] < REFUSAL_MB


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def test_a_300kb_zip_of_sixty_39_megapixel_pngs_is_refused_from_the_headers(tmp_path):
    png = _png(6_245, 6_245)  # 39.0 megapixels, under the per-image limit
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(60):
            archive.writestr(f"img{i:02d}.png", png)
    assert len(buffer.getvalue()) < 400_000
    got = bounded_load("ingest.load_images(path / 'bomb.zip')", {"bomb.zip": buffer.getvalue()}, tmp_path)
    assert got["result"] == E.IMAGES_TOO_MANY_PIXELS.format(name="bomb.zip", megapixels=60 * 6_245**2 / 1e6,
                                                            limit=ingest.MAX_TOTAL_MEGAPIXELS)
    assert got["peak_mb"] < REFUSAL_MB


def test_a_zip_member_that_declares_too_much_is_refused_before_decompression(monkeypatch):
    monkeypatch.setattr(_limits, "MAX_MODEL_UNPACKED_BYTES", 1_000_000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", b"{}")
        archive.writestr("big.npy", b"\0" * 2_000_000)  # 2 kB compressed
    with pytest.raises(ingest.IngestError) as info:
        ingest.load_model(buffer.getvalue(), name="m.skops")
    assert str(info.value) == E.MODEL_ARCHIVE_TOO_LARGE.format(name="m.skops", size_mb=2_000_002 / 2**20,
                                                              limit_mb=0)


def test_out_of_memory_is_reported_as_too_large_not_unreadable(monkeypatch):
    def exhausted(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(pd, "read_csv", exhausted)
    with pytest.raises(ingest.IngestError) as info:
        ingest.read_table(b"a,b\n1,2\n", name="t.csv")
    assert str(info.value) == E.TABLE_OUT_OF_MEMORY.format(name="t.csv")
    monkeypatch.setattr(np, "array", exhausted)
    with pytest.raises(ingest.IngestError) as info:
        ingest.load_image(_png(4, 4), name="x.png")
    assert str(info.value) == E.IMAGE_OUT_OF_MEMORY.format(name="x.png")
