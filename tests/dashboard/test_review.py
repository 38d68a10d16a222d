"""The Review page (AppTest): list saved runs, open one read-only, compare two, and a broken history."""

from __future__ import annotations

import numpy as np
import pytest

from glasswing import audits, reports
from glasswing._paths import data_dir
from glasswing.audits._history_backends import CANNOT_OPEN, NOT_A_DATABASE
from glasswing.dashboard._text import md
from tests._postgres import free_port
from tests.conftest import new_apptest
from tests.reports.conftest import make_case


@pytest.fixture(scope="module")
def case():
    return make_case()


def _save_two_versions(case) -> tuple[float, float]:
    """Save v1 (the model) and v2 (more women approved); return fairlearn's DP difference of each."""
    from fairlearn.metrics import demographic_parity_difference

    model, data = case
    v1 = model.predict(data.X)
    women = np.flatnonzero((data.frame["sex"] == "female").to_numpy() & (v1 == 0))
    v2 = v1.copy()
    v2[women[: len(women) // 3]] = 1
    dps = []
    with audits.open_history() as history:
        for label, pred in (("v1", v1), ("v2", v2)):
            gm = audits.group_metrics(data.y_true, pred, sensitive_features=data.frame["sex"])
            report = reports.build_report(data, model, metrics=gm, version_label=label,
                                          notes=f"Notes on {label}", title=f"Credit audit {label}")
            history.save(report.to_run())
            dps.append(demographic_parity_difference(data.y_true, pred, sensitive_features=data.frame["sex"]))
    return dps[0], dps[1]


def test_no_saved_runs_yet():
    at = new_apptest("review.py")
    assert not at.exception
    assert at.info[0].value.startswith("No saved runs yet")


def test_open_a_run_read_only(case):
    dp1, _ = _save_two_versions(case)
    at = new_apptest("review.py")
    assert not at.exception
    listed = at.dataframe[0].value
    assert listed["title"].tolist() == ["Credit audit v2", "Credit audit v1"]
    at.selectbox(key="review.open").set_value(1).run()
    assert not at.exception
    assert at.header[0].value == "Credit audit v1"
    findings = at.dataframe[1].value.set_index("Disparity")
    assert findings.loc["Demographic parity difference", "Value"] == pytest.approx(dp1, abs=1e-12)
    assert "Notes on v1" in [t.value for t in at.text]
    assert [b.label for b in at.get("download_button")] == ["Export PDF", "Export HTML", "Export JSON"]
    assert not at.get("text_input") and not at.get("text_area")  # read-only: nothing to edit


@pytest.fixture(params=["sqlite", "postgresql"])
def history_backend(request, monkeypatch):
    """The default SQLite history in the data folder, or a PostgreSQL one named by GLASSWING_HISTORY_URL."""
    if request.param == "postgresql":
        monkeypatch.setenv("GLASSWING_HISTORY_URL", request.getfixturevalue("postgres_url"))
    else:
        monkeypatch.delenv("GLASSWING_HISTORY_URL", raising=False)
    return request.param


def test_compare_two_runs_highlights_improved_and_worse(case, history_backend):
    dp1, dp2 = _save_two_versions(case)
    assert dp2 < dp1  # approving more women narrows the gap (independent check of the scenario)
    at = new_apptest("review.py")
    assert not at.exception
    table = at.dataframe[-3].value  # the styled comparison (then the two group tables)
    row = table.set_index("Disparity").loc["Demographic parity difference"]
    assert row["Verdict"] == "▲ improved"
    assert row["Before (#1)"] == pytest.approx(dp1, abs=1e-12)
    assert row["After (#2)"] == pytest.approx(dp2, abs=1e-12)
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Improved ▲"]) + int(metrics["Worse ▼"]) + int(metrics["Unchanged ="]) == len(table)
    assert int(metrics["Improved ▲"]) == (table["Verdict"] == "▲ improved").sum() >= 1


def test_a_history_that_is_not_a_database_is_one_sentence():
    (data_dir() / "history.sqlite3").write_bytes(b"not sqlite at all\n" * 200)
    at = new_apptest("review.py")
    assert not at.exception
    assert [e.value for e in at.error] == [NOT_A_DATABASE.format(where=data_dir() / "history.sqlite3")]


def test_an_unreachable_postgresql_history_is_one_sentence(monkeypatch):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("GLASSWING_HISTORY_URL", f"postgresql://auditor:s3cret@127.0.0.1:{port}/glasswing")
    at = new_apptest("review.py")
    assert not at.exception
    reason = f'connection to server at "127.0.0.1", port {port} failed: Connection refused'
    assert [e.value for e in at.error] == [md(
        CANNOT_OPEN.format(where=f"postgresql://auditor@127.0.0.1:{port}/glasswing", reason=reason))]
