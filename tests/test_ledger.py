"""The ledger state machine: guarded transitions, seeding, claiming, coalescing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from rtsales.clock import HOUR, floor_hour, hour_key
from rtsales.store import open_db, transaction
from rtsales.sync.ledger import (HourStatus, LedgerConflict, Window, attach_report, claim, claimable, coalesce,
                                 ledger_counts, newest_wanted_hour, reopen, seed, transition)
from tests.conftest import at

MP = "ATVPDKIKX0DER"
NOW = at("2026-03-10T12:07:00Z")
S = HourStatus


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_db(tmp_path / "l.db")


def _status(db: Database, key: str) -> str:
    return db.conn.execute("SELECT status FROM vendor_rt_sales_hour_ledger WHERE hour_utc = ?", [key]).fetchone()[0]


def _seed(db: Database, days: int = 1) -> int:
    with transaction(db) as conn:
        return seed(conn, MP, NOW, floor_hour(NOW - timedelta(days=days)), timedelta(minutes=90), kind="sales")


def test_newest_wanted_hour_respects_safety_lag() -> None:
    # 12:07 - 90 min = 10:37 -> the last full hour that ended by then starts at 09:00.
    assert newest_wanted_hour(NOW, timedelta(minutes=90)) == at("2026-03-10T09:00:00Z")


def test_seed_fills_lookback_and_never_touches_existing_rows(db: Database) -> None:
    assert _seed(db) == 22  # 2026-03-09T12:00 .. 2026-03-10T09:00
    with transaction(db) as conn:
        transition(conn, MP, ["2026-03-10T09:00:00Z"], S.MISSING, S.REQUESTED, NOW, kind="sales")
    assert _seed(db) == 0
    assert _status(db, "2026-03-10T09:00:00Z") == "REQUESTED"
    assert ledger_counts(db.conn, MP, kind="sales")["MISSING"] == 21


def test_guarded_transition_raises_and_rolls_back(db: Database) -> None:
    _seed(db)
    keys = ["2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z"]
    with transaction(db) as conn:
        transition(conn, MP, keys[:1], S.MISSING, S.REQUESTED, NOW, kind="sales")
    with pytest.raises(LedgerConflict), transaction(db) as conn:
        transition(conn, MP, keys, S.MISSING, S.REQUESTED, NOW, kind="sales")
    assert [_status(db, k) for k in keys] == ["REQUESTED", "MISSING"]


def test_illegal_transition_is_refused(db: Database) -> None:
    _seed(db)
    with pytest.raises(ValueError, match="illegal"), transaction(db) as conn:
        transition(conn, MP, ["2026-03-10T09:00:00Z"], S.MISSING, S.APPLIED, NOW, kind="sales")


def test_failed_rows_become_claimable_when_retry_time_passes(db: Database) -> None:
    _seed(db)
    key = "2026-03-10T09:00:00Z"
    with transaction(db) as conn:
        transition(conn, MP, [key], S.MISSING, S.REQUESTED, NOW, kind="sales")
        transition(conn, MP, [key], S.REQUESTED, S.FAILED, NOW, kind="sales", last_error="x",
                   next_retry_utc="2026-03-10T13:00:00Z")
    assert key not in [k for k, _ in claimable(db.conn, MP, NOW, kind="sales")]
    assert key in [k for k, _ in claimable(db.conn, MP, at("2026-03-10T13:00:00Z"), kind="sales")]


def test_coalesce_uses_the_minimum_number_of_windows() -> None:
    rows = [(hour_key(at("2026-03-10T09:00:00Z") - i * HOUR), None) for i in range(7 * 24 - 10)]
    windows = coalesce(MP, rows, 24, kind="sales")
    assert len(windows) == -(-len(rows) // 24)
    assert sum(w.hours for w in windows) == len(rows)
    assert windows[0].end == at("2026-03-10T10:00:00Z")


def test_coalesce_respects_gaps_and_row_caps() -> None:
    rows = [("2026-03-10T09:00:00Z", None), ("2026-03-10T08:00:00Z", None),
            ("2026-03-10T06:00:00Z", 1), ("2026-03-10T05:00:00Z", 1)]
    assert [(hour_key(w.start), w.hours) for w in coalesce(MP, rows, 24, kind="sales")] == [
        ("2026-03-10T08:00:00Z", 2), ("2026-03-10T06:00:00Z", 1), ("2026-03-10T05:00:00Z", 1)]


def test_claim_and_attach(db: Database) -> None:
    _seed(db)
    window = Window(MP, at("2026-03-10T08:00:00Z"), 2, "sales")
    with transaction(db) as conn:
        claim(conn, window, NOW)
        attach_report(conn, window, "r1", NOW)
    rows = db.conn.execute("SELECT status, report_id, attempts FROM vendor_rt_sales_hour_ledger "
                           "WHERE report_id = 'r1'").fetchall()
    assert rows == [("REQUESTED", "r1", 1)] * 2
    with pytest.raises(LedgerConflict), transaction(db) as conn:
        claim(conn, window, NOW)  # a second claimer loses


def test_reopen_moves_applied_and_failed_back(db: Database) -> None:
    _seed(db)
    a, f = "2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z"
    with transaction(db) as conn:
        transition(conn, MP, [a, f], S.MISSING, S.REQUESTED, NOW, kind="sales")
        transition(conn, MP, [a], S.REQUESTED, S.APPLIED, NOW, kind="sales")
        transition(conn, MP, [f], S.REQUESTED, S.FAILED, NOW, kind="sales", next_retry_utc="2030-01-01T00:00:00Z")
        assert reopen(conn, MP, [a, f, "2026-03-10T07:00:00Z"], NOW, kind="sales") == 2
    assert _status(db, a) == _status(db, f) == "MISSING"
