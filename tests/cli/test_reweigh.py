"""``glasswing reweigh``: the weights file against the formula computed independently, and bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from glasswing.audits import _reweighing as rw
from glasswing.cli import main
from glasswing.commands import reweigh
from tests.conftest import ROOT, SAMPLES


def _formula(frame: pd.DataFrame, target: str, sensitive: list[str]) -> np.ndarray:
    n = len(frame)
    n_g = frame.groupby(sensitive)[target].transform("size")
    n_y = frame.groupby(target)[target].transform("size")
    n_gy = frame.groupby([*sensitive, target])[target].transform("size")
    return (n_g * n_y / (n * n_gy)).to_numpy()


def test_writes_one_weight_per_row_for_an_intersection(tmp_path, capsys):
    german = pd.read_csv(SAMPLES / "german.csv")
    data = tmp_path / "german.csv"
    german.assign(old=german["age"] > 40).to_csv(data, index=False)
    out = tmp_path / "weights.csv"
    code = main(["reweigh", "--data", str(data), "--target", "risk", "--sensitive", "sex", "old",
                 "--out", str(out)])
    assert code == 0
    written = pd.read_csv(out)
    assert list(written.columns) == ["weight"] and len(written) == len(german)
    expected = _formula(german.assign(old=german["age"] > 40), "risk", ["sex", "old"])
    np.testing.assert_allclose(written["weight"], expected, rtol=0, atol=1e-15)
    stdout = capsys.readouterr().out
    assert f"Wrote {len(german):,} weights to {out}" in stdout
    # the printed table has one line per (sex, old, label): 2 x 2 x 2 = 8, plus the header
    table = stdout.split("\nWrote")[0].strip().splitlines()
    assert table[0].split() == ["sex", "old", "label", "n", "expected_n", "weight"] and len(table) == 9


def test_group_with_one_label_is_one_line_on_stderr(tmp_path, capsys):
    data = tmp_path / "d.csv"
    pd.DataFrame({"y": [0, 1, 0, 1, 1, 1], "g": ["a", "a", "b", "b", "c", "c"]}).to_csv(data, index=False)
    code = main(["reweigh", "--data", str(data), "--target", "y", "--sensitive", "g",
                 "--out", str(tmp_path / "w.csv")])
    assert code == 2
    err = capsys.readouterr().err
    assert err == "glasswing: error: " + rw.GROUP_SINGLE_LABEL.format(group="g=c", present="1",
                                                                      labels="0, 1") + "\n"
    assert not (tmp_path / "w.csv").exists()


@pytest.mark.parametrize(("out", "message"), [
    ("weights.txt", reweigh.OUT_NOT_CSV.format(out="weights.txt")),
    ("no/such/folder/w.csv", reweigh.NO_OUT_FOLDER.format(folder="no/such/folder")),
])
def test_bad_out_path(tmp_path, capsys, monkeypatch, out, message):
    monkeypatch.chdir(tmp_path)
    code = main(["reweigh", "--data", str(SAMPLES / "german.csv"), "--target", "risk", "--sensitive", "sex",
                 "--out", out])
    assert code == 2
    assert capsys.readouterr().err == f"glasswing: error: {message}\n"


def test_unknown_column_is_one_line_without_traceback(tmp_path):
    command = [sys.executable, "-m", "glasswing.cli", "reweigh", "--data", str(SAMPLES / "german.csv"),
               "--target", "risk", "--sensitive", "gender", "--out", str(tmp_path / "w.csv")]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.startswith("glasswing: error: ") and proc.stderr.count("\n") == 1
    assert "'gender'" in proc.stderr and "Traceback" not in proc.stderr
