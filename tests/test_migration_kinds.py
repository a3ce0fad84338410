"""Migration 8 keys the ledger by report kind: a version 7 database keeps every row, and its rows become sales rows."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from rtsales.store import open_db
from rtsales.store.migrations import MIGRATIONS, schema_version
from rtsales.sync.ledger import ledger_counts

US, DE = "ATVPDKIKX0DER", "A1PA6795UKMFR9"
STATUSES = ("MISSING", "REQUESTED", "DOWNLOADED", "APPLIED", "FAILED", "UNAVAILABLE")
DATA_STATES = ("none", "provisional", "final")
V7_LEDGER = ("marketplace_id", "hour_utc", "status", "report_id", "attempts", "last_error", "next_retry_utc",
             "updated_at", "window_cap", "audit_run_id", "data_state", "inconclusive", "requested_at")
SALES = ("marketplace_id", "asin", "hour_utc", "ordered_units", "ordered_revenue", "currency_code", "report_id",
         "updated_at")
RUNS = ("id", "kind", "marketplace_id", "started_at", "finished_at", "hours", "hours_changed", "units_delta",
        "revenue_delta", "hours_inconclusive")
STATE = [(f"live_refresh:{US}", "2026-03-10T11:52:00Z", "2026-03-10T11:52:00Z"),
         (f"live_refresh:{DE}", "2026-03-10T11:37:00Z", "2026-03-10T11:37:00Z"),
         (f"max_window_hours:{US}", "12", "2026-03-10T06:00:00Z"),
         ("rate:spapi:createReport", "0.0167", "2026-03-10T11:52:00Z"),  # not a lane's: left as it is
         ("demo_database", "1", "2026-03-09T00:00:00Z")]


def _ledger_rows() -> list[tuple[Any, ...]]:
    """Every status with every data_state, for two marketplaces, each column set to something of its own."""
    rows = []
    for n, (mp, (status, state)) in enumerate(itertools.product((US, DE), itertools.product(STATUSES, DATA_STATES))):
        hour = f"2026-03-{9 + n // 24:02d}T{n % 24:02d}:00:00Z"
        report = None if status == "MISSING" else f"5000000{n:04d}"
        failed = status in ("FAILED", "UNAVAILABLE")
        rows.append((mp, hour, status, report, n % 4, f"report {report} FATAL" if failed else None,
                     "2026-03-10T13:00:00Z" if status == "FAILED" else None, f"2026-03-10T08:{n:02d}:00Z",
                     12 if failed else None, 2 if n % 5 == 0 else None, state, int(status == "APPLIED" and n % 2),
                     None if report is None else f"2026-03-10T07:{n:02d}:00Z"))
    return rows


def _sales_rows() -> list[tuple[Any, ...]]:
    return [(mp, f"B0000000{a}", hour, units, units * 9.99 - 0.5, "USD" if mp == US else "EUR", "50000000001",
             "2026-03-10T08:00:00Z")
            for mp, hour in [(US, "2026-03-09T03:00:00Z"), (US, "2026-03-09T04:00:00Z"), (DE, "2026-03-09T20:00:00Z")]
            for a, units in enumerate((3, -1, 0))]


RUN_ROWS = [(1, "daily", US, "2026-03-09T12:00:00Z", "2026-03-09T12:20:00Z", 48, 3, -2, -19.98, 1),
            (2, "weekly", DE, "2026-03-10T00:00:00Z", None, 168, 0, 0, 0.0, 0)]


def _version_7(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")  # one commit, not one per row: a row's fsync costs far more than its insert
    for number, step in enumerate(MIGRATIONS[:7], start=1):
        step(conn)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.executemany(f"INSERT INTO vendor_rt_sales_hour_ledger ({', '.join(V7_LEDGER)}) VALUES "
                     f"({', '.join('?' * len(V7_LEDGER))})", _ledger_rows())
    conn.executemany(f"INSERT INTO vendor_realtime_sales VALUES ({', '.join('?' * len(SALES))})", _sales_rows())
    conn.executemany(f"INSERT INTO vendor_rt_sales_audit_runs ({', '.join(RUNS)}) VALUES "
                     f"({', '.join('?' * len(RUNS))})", RUN_ROWS)
    conn.executemany("INSERT INTO rtsales_state VALUES (?, ?, ?)", STATE)
    conn.execute("COMMIT")
    conn.close()


@pytest.fixture
def migrated(tmp_path: Path) -> sqlite3.Connection:
    path = tmp_path / "v7.db"
    _version_7(path)
    return open_db(path).conn


def test_every_ledger_row_survives_as_a_sales_row_with_every_column(migrated: sqlite3.Connection) -> None:
    assert schema_version(migrated) == len(MIGRATIONS) >= 8  # later migrations (9: watch flags) run too
    rows = migrated.execute(f"SELECT report_kind, {', '.join(V7_LEDGER)} FROM vendor_rt_sales_hour_ledger "
                            f"ORDER BY marketplace_id, hour_utc").fetchall()
    assert rows == [("sales", *row) for row in sorted(_ledger_rows())]
    assert len(rows) == 2 * len(STATUSES) * len(DATA_STATES)
    key = [(name, pk) for _, name, *_, pk in migrated.execute("PRAGMA table_info(vendor_rt_sales_hour_ledger)") if pk]
    assert key == [("report_kind", 1), ("marketplace_id", 2), ("hour_utc", 3)]
    for mp in (US, DE):  # what rtsales reads through the ledger, by kind
        assert sum(ledger_counts(migrated, mp, kind="sales").values()) == len(STATUSES) * len(DATA_STATES)
        assert sum(ledger_counts(migrated, mp, kind="traffic").values()) == 0


def test_sales_rows_audit_runs_and_lane_state_are_kept_and_renamed(migrated: sqlite3.Connection) -> None:
    assert migrated.execute(f"SELECT {', '.join(SALES)} FROM vendor_realtime_sales ORDER BY 1, 3, 2"
                            ).fetchall() == sorted(_sales_rows(), key=lambda r: (r[0], r[2], r[1]))
    assert migrated.execute(f"SELECT {', '.join(RUNS)}, report_kind FROM vendor_rt_sales_audit_runs ORDER BY id"
                            ).fetchall() == [(*run, "sales") for run in RUN_ROWS]
    renamed = {f"live_refresh:sales:{US}": STATE[0][1:], f"live_refresh:sales:{DE}": STATE[1][1:],
               f"max_window_hours:sales:{US}": STATE[2][1:], **{key: (value, at) for key, value, at in STATE[3:]}}
    assert {key: (value, at) for key, value, at in migrated.execute("SELECT * FROM rtsales_state")} == renamed


def test_the_new_tables_take_rows_beside_the_old_ones_and_the_file_checks_ok(migrated: sqlite3.Connection) -> None:
    for table, column in (("vendor_realtime_traffic", "glance_views"),
                          ("vendor_realtime_inventory", "highly_available_inventory")):
        columns = [name for _, name, *_ in migrated.execute(f"PRAGMA table_info({table})")]
        assert columns == ["marketplace_id", "asin", "hour_utc", column, "report_id", "updated_at"]
        migrated.execute(f"INSERT INTO {table} VALUES (?, 'B000000001', '2026-03-09T03:00:00Z', 7, 'r', 'now')", [US])
    hour = _ledger_rows()[0][1]  # a sales hour: the same marketplace and hour now exist once per kind
    for kind in ("traffic", "inventory"):
        migrated.execute("INSERT INTO vendor_rt_sales_hour_ledger (report_kind, marketplace_id, hour_utc, status, "
                         "updated_at) VALUES (?, ?, ?, 'MISSING', 'now')", [kind, US, hour])
    with pytest.raises(sqlite3.IntegrityError):
        migrated.execute("INSERT INTO vendor_rt_sales_hour_ledger (report_kind, marketplace_id, hour_utc, status, "
                         "updated_at) VALUES ('sales', ?, ?, 'MISSING', 'now')", [US, hour])
    # SQLite 3.40's quick_check misreads a WITHOUT ROWID table whose key starts with its last column:
    # the migration puts report_kind first so that the check a user runs says ok.
    assert migrated.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    assert migrated.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert migrated.execute("PRAGMA foreign_key_check").fetchall() == []


def test_opening_the_migrated_file_again_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    _version_7(path)
    first = open_db(path).conn
    before = first.execute("SELECT * FROM vendor_rt_sales_hour_ledger ORDER BY 1, 2, 3").fetchall()
    first.close()
    again = open_db(path).conn
    assert schema_version(again) == len(MIGRATIONS)
    assert again.execute("SELECT * FROM vendor_rt_sales_hour_ledger ORDER BY 1, 2, 3").fetchall() == before
    assert again.execute("SELECT COUNT(*) FROM rtsales_state WHERE key LIKE '%:sales:sales:%'").fetchone()[0] == 0
