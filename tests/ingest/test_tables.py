"""Reading CSV and Parquet: formats, fingerprints, and every bad file as one exact sentence."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from glasswing import ingest
from glasswing.commands.serve import MAX_UPLOAD_MB
from glasswing.ingest import _errors as E
from glasswing.ingest import _source, read_table

CSV = "age,sex,income\n31,F,1200.5\n45,M,900\n52,F,3000\n"
EXPECTED = pd.DataFrame({"age": [31, 45, 52], "sex": ["F", "M", "F"], "income": [1200.5, 900.0, 3000.0]})


def _err(fn, *args, **kwargs) -> str:
    with pytest.raises(ingest.IngestError) as info:
        fn(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("text", [CSV, CSV.replace(",", ";"), CSV.replace(",", "\t"), CSV.replace(",", "|"),
                                  "\ufeff" + CSV, CSV.replace("\n", "\r\n")])
def test_csv_dialects_and_bom(text):
    data = text.encode("utf-8")
    frame, sha = read_table(data, name="people.csv")
    pd.testing.assert_frame_equal(frame, EXPECTED)
    assert sha == hashlib.sha256(data).hexdigest()


def test_path_file_object_and_bytes_agree(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    by_path, sha_path = read_table(path)
    with open(path, "rb") as handle:
        by_handle, sha_handle = read_table(handle)
    by_bytes, sha_bytes = read_table(CSV.encode(), name="x.csv")
    for frame in (by_path, by_handle, by_bytes):
        pd.testing.assert_frame_equal(frame, EXPECTED)
    assert sha_path == sha_handle == sha_bytes == hashlib.sha256(path.read_bytes()).hexdigest()


def test_parquet_by_magic_bytes_even_without_suffix():
    buffer = io.BytesIO()
    EXPECTED.to_parquet(buffer, index=False)
    frame, sha = read_table(buffer.getvalue(), name="upload.bin")
    pd.testing.assert_frame_equal(frame, EXPECTED)
    assert sha == hashlib.sha256(buffer.getvalue()).hexdigest()


def test_single_column_csv():
    frame, _ = read_table(b"y\n1\n0\n", name="y.csv")
    assert frame["y"].tolist() == [1, 0]


def test_size_limit_matches_the_dashboard_upload_limit():
    assert ingest.MAX_FILE_MB == MAX_UPLOAD_MB


def test_too_large(monkeypatch):
    monkeypatch.setattr(_source, "MAX_FILE_BYTES", 1024 * 1024)
    data = b"a\n" + b"1\n" * (1024 * 1024)
    assert _err(read_table, data, name="big.csv") == (
        "'big.csv' is 2 MB, more than the 1 MB limit; use a smaller file or a sample of it.")


@pytest.mark.parametrize("data, message", [
    (b"", "'t.csv' is empty."),
    (b"  \n\n", "'t.csv' is empty."),
    (b"age,sex\n", "'t.csv' has a header but no data rows."),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
     "'t.csv' is not a CSV or Parquet table (it looks like a binary file)."),
    (b"age,city\n31,Z\x81rich\n\x90",
     "'t.csv' is not UTF-8 text: the byte at position 14 of the file (value 0x81) is not valid UTF-8, "
     "and the file does not read as Windows-1252 or Latin-1 text either; save it as UTF-8 (\"CSV UTF-8\" in "
     "Excel) and upload it again."),
    # UTF-8 with one stray Windows-1252 byte: as Windows-1252 the UTF-8 quotes would be mojibake (0x9D is
    # undefined there), so it is refused, naming the first byte UTF-8 cannot read, by position and value
    ("city,name\nK\u00f6ln,\u201cZo\u00eb\u201d\n".encode() + b"M\x91laga,x\n",
     "'t.csv' is not UTF-8 text: the byte at position 29 of the file (value 0x91) is not valid UTF-8, "
     "and the file does not read as Windows-1252 or Latin-1 text either; save it as UTF-8 (\"CSV UTF-8\" in "
     "Excel) and upload it again."),
    (b"a,b,c\n1,2,3\n4,5,6,7\n",
     "'t.csv' could not be read as a CSV table: line 3 has 4 fields but the header has 3."),
])
def test_bad_csv(data, message):
    assert _err(read_table, data, name="t.csv") == message


def test_corrupt_parquet():
    buffer = io.BytesIO()
    EXPECTED.to_parquet(buffer, index=False)
    broken = buffer.getvalue()[:40] + b"\x00" * 20 + buffer.getvalue()[-8:]
    message = _err(read_table, broken, name="t.parquet")
    assert message.startswith("'t.parquet' could not be read as a Parquet table: ")
    assert message.endswith(".") and "\n" not in message


def test_parquet_with_duplicate_columns_is_read_with_the_copies_renamed():
    columns = [pa.array([1, 2]), pa.array([3, 4]), pa.array([1, 2])]
    table = pa.Table.from_arrays(columns, names=["x", "x", "x"])
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    frame, _ = read_table(buffer.getvalue(), name="d.parquet")
    assert frame.columns.tolist() == ["x", "x.1", "x.2"] and frame["x.1"].tolist() == [3, 4]
    assert ingest.table_notes(frame) == (
        "'d.parquet' has 3 columns named 'x' with different values; the later copies are renamed 'x.1', "
        "'x.2', and a role must name one of them.",)


def test_missing_path(tmp_path):
    assert _err(read_table, tmp_path / "nope.csv") == f"The file '{tmp_path / 'nope.csv'}' does not exist."


def test_frame_fingerprint_follows_content():
    a = ingest.load_dataset(EXPECTED, name="a")
    b = ingest.load_dataset(EXPECTED.copy(), name="b")
    c = ingest.load_dataset(EXPECTED.assign(age=[31, 45, 53]), name="c")
    assert a.sha256 == b.sha256 != c.sha256
    assert len(a.sha256) == 64 and np.all(a.frame == EXPECTED)


def test_error_sentences_are_single_sentences():
    sentences = [v for k, v in vars(E).items() if k.isupper() and isinstance(v, str)]
    assert len(sentences) > 40
    for text in sentences:
        assert text.endswith("."), text
        assert "\n" not in text, text
