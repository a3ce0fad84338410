"""Migration 5 rebuilds the ledger (UNAVAILABLE, data_state, inconclusive, requested_at): every row kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rtsales.store import open_db
from rtsales.store.migrations import MIGRATIONS, schema_version

STATES = [  # (hour, status, report_id, attempts, last_error, next_retry, window_cap, audit_run_id, has sales rows)
    ("2026-03-10T00:00:00Z", "APPLIED", "r1", 1, None, None, None, None, True),
    ("2026-03-10T01:00:00Z", "APPLIED", "r1", 1, None, None, None, None, False),  # applied, no sales
    ("2026-03-10T02:00:00Z", "MISSING", None, 1, None, None, None, 7, True),  # re-opened by an audit
    ("2026-03-10T03:00:00Z", "MISSING", None, 0, None, None, None, None, False),
    ("2026-03-10T04:00:00Z", "REQUESTED", "r2", 1, None, None, None, None, False),
    ("2026-03-10T05:00:00Z", "DOWNLOADED", "r3", 1, None, None, None, None, False),
    ("2026-03-10T06:00:00Z", "FAILED", "r4", 3, "report r4 FATAL", "2026-03-10T09:00:00Z", 12, None, False),
]


def _version_4(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for number, step in enumerate(MIGRATIONS[:4], start=1):
        step(conn)
        conn.execute(f"PRAGMA user_version = {number}")
    for hour, status, report, attempts, error, retry, cap, audit, sales in STATES:
        conn.execute("INSERT INTO vendor_rt_sales_hour_ledger VALUES (?, ?, ?, ?, ?, ?, ?, '2026-03-10T08:00:00Z', "
                     "?, ?)", ["ATVPDKIKX0DER", hour, status, report, attempts, error, retry, cap, audit])
        if sales:
            conn.execute("INSERT INTO vendor_realtime_sales VALUES ('ATVPDKIKX0DER', 'B000000001', ?, 3, 29.97, "
                         "'USD', 'r1', '2026-03-10T08:00:00Z')", [hour])
    conn.execute("INSERT INTO vendor_rt_sales_audit_runs (kind, marketplace_id, started_at, hours) "
                 "VALUES ('daily', 'ATVPDKIKX0DER', '2026-03-10T07:00:00Z', 48)")
    conn.close()


def test_a_version_4_database_keeps_every_row_and_says_what_data_each_hour_holds(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _version_4(path)
    db = open_db(path)
    assert schema_version(db.conn) == len(MIGRATIONS)
    rows = db.conn.execute("SELECT hour_utc, status, report_id, attempts, last_error, next_retry_utc, window_cap, "
                           "audit_run_id, data_state, inconclusive, requested_at FROM vendor_rt_sales_hour_ledger "
                           "ORDER BY hour_utc").fetchall()
    assert [row[:8] for row in rows] == [state[:8] for state in STATES]  # every column of every row kept
    assert [row[8] for row in rows] == ["provisional", "provisional", "provisional", "none", "none", "none", "none"]
    assert {row[9] for row in rows} == {0} and {row[10] for row in rows} == {None}
    assert db.conn.execute("SELECT COUNT(*) FROM vendor_realtime_sales").fetchone()[0] == 2
    assert db.conn.execute("SELECT hours, hours_inconclusive FROM vendor_rt_sales_audit_runs").fetchone() == (48, 0)
    indexes = {name for (name,) in db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                                                   "tbl_name = 'vendor_rt_sales_hour_ledger'")}
    assert {"ix_ledger_status", "ix_ledger_report"} <= indexes
    db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'UNAVAILABLE' WHERE hour_utc = ?",
                    [STATES[3][0]])  # the new state is allowed by the rebuilt CHECK
