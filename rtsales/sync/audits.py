"""Audits: re-fetch recent hours to catch Amazon's late revisions.

Starting an audit records a run and marks its hours with the run's id: APPLIED hours
stay APPLIED, with their rows, until the scheduler re-fetches them (at audit priority);
FAILED hours go back to MISSING. When a window is applied, the hours that really
changed are added to the run that marked them, inside the apply transaction.

Here `kind` is the audit's period (daily, weekly) and `report_kind` the report it
re-fetches (sales, traffic, inventory): each report kind is audited on its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from rtsales.clock import HOUR, hour_key, iso, parse_instant
from rtsales.store import transaction
from rtsales.sync.ledger import LANE, LEDGER, HourStatus, Window, reopen

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


@dataclass(frozen=True)
class AuditStart:
    run_id: int
    kind: str
    marketplace_id: str
    hours: int
    report_kind: str


def audit_hours(kind: str, newest: datetime, daily_hours: int, oldest: datetime) -> list[str]:
    """The hours an audit re-fetches, never older than Amazon serves (`oldest`)."""
    span = daily_hours if kind == "daily" else 7 * 24
    return [hour_key(newest - i * HOUR) for i in range(span) if newest - i * HOUR >= oldest]


def is_due(db: Database, marketplace_id: str, kind: str, now: datetime, *, report_kind: str) -> bool:
    row = db.conn.execute("SELECT MAX(started_at) FROM vendor_rt_sales_audit_runs WHERE report_kind = ? AND "
                          "marketplace_id = ? AND kind = ?", [report_kind, marketplace_id, kind]).fetchone()
    return row[0] is None or parse_instant(row[0]) + PERIODS[kind] <= now


def start_audit(db: Database, marketplace_id: str, kind: str, keys: list[str], now: datetime, *,
                report_kind: str) -> AuditStart:
    with transaction(db) as conn:
        run_id = conn.execute("INSERT INTO vendor_rt_sales_audit_runs (kind, marketplace_id, started_at, hours, "
                              "report_kind) VALUES (?, ?, ?, 0, ?)", [kind, marketplace_id, iso(now), report_kind]
                              ).lastrowid
        assert run_id is not None
        moved = mark_for_refetch(conn, marketplace_id, keys, run_id, kind=report_kind)
        moved += reopen(conn, marketplace_id, keys, now, kind=report_kind, audit_run_id=run_id,
                        sources=(HourStatus.FAILED,))
        conn.execute("UPDATE vendor_rt_sales_audit_runs SET hours = ? WHERE id = ?", [moved, run_id])
        if moved == 0:
            conn.execute("UPDATE vendor_rt_sales_audit_runs SET finished_at = ? WHERE id = ?", [iso(now), run_id])
    return AuditStart(run_id, kind, marketplace_id, moved, report_kind)


def mark_for_refetch(conn: sqlite3.Connection, marketplace_id: str, keys: list[str], run_id: int, *,
                     kind: str) -> int:
    """APPLIED hours of `keys` wait for the scheduler's audit re-fetch; they stay APPLIED meanwhile."""
    marks = ",".join("?" * len(keys))
    return conn.execute(f"UPDATE {LEDGER} SET audit_run_id = ?, next_retry_utc = NULL "
                        f"WHERE {LANE} AND status = 'APPLIED' AND hour_utc IN ({marks})",
                        [run_id, kind, marketplace_id, *keys]).rowcount


def record_changes(conn: sqlite3.Connection, window: Window, changes: Mapping[str, tuple[int, float]],
                   now: datetime, inconclusive: Sequence[str] = ()) -> None:
    """Credit changed (and inconclusive) hours to the audit runs that re-opened them; close finished runs."""
    keys = window.keys()
    marks = ",".join("?" * len(keys))
    lane = [window.kind, window.marketplace_id]
    owners = conn.execute(f"SELECT hour_utc, audit_run_id FROM {LEDGER} WHERE "
                          f"{LANE} AND hour_utc IN ({marks}) AND audit_run_id IS NOT NULL",
                          [*lane, *keys]).fetchall()
    for run_id in {run for _, run in owners}:
        mine = [h for h, run in owners if run == run_id and h in changes]
        unsure = sum(1 for h, run in owners if run == run_id and h in inconclusive)
        conn.execute("UPDATE vendor_rt_sales_audit_runs SET hours_changed = hours_changed + ?, "
                     "units_delta = units_delta + ?, revenue_delta = ROUND(revenue_delta + ?, 2), "
                     "hours_inconclusive = hours_inconclusive + ? WHERE id = ?",
                     [len(mine), sum(changes[h][0] for h in mine), sum(changes[h][1] for h in mine), unsure, run_id])
    conn.execute(f"UPDATE {LEDGER} SET audit_run_id = NULL WHERE {LANE} AND hour_utc IN ({marks})", [*lane, *keys])
    for (run_id,) in {(run,) for _, run in owners}:
        left = conn.execute(f"SELECT COUNT(*) FROM {LEDGER} WHERE audit_run_id = ?",
                            [run_id]).fetchone()[0]
        if left == 0:
            conn.execute("UPDATE vendor_rt_sales_audit_runs SET finished_at = ? WHERE id = ?", [iso(now), run_id])


RUN_COLUMNS = ("id", "marketplace_id", "started_at", "finished_at", "hours", "hours_changed", "units_delta",
               "revenue_delta", "hours_inconclusive", "report_kind")
_SELECT_RUNS = f"SELECT {', '.join(RUN_COLUMNS)} FROM vendor_rt_sales_audit_runs"


def latest_runs(db: Database, marketplace_id: str, *, report_kind: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind in PERIODS:
        row = db.conn.execute(f"{_SELECT_RUNS} WHERE report_kind = ? AND marketplace_id = ? AND kind = ? "
                              f"ORDER BY started_at DESC, id DESC LIMIT 1", [report_kind, marketplace_id, kind]
                              ).fetchone()
        if row:
            out[kind] = dict(zip(RUN_COLUMNS, row, strict=True))
    return out


def runs_by_id(db: Database, run_ids: list[int]) -> list[dict[str, Any]]:
    """The audit runs with these ids, as dicts of RUN_COLUMNS."""
    if not run_ids:
        return []
    rows = db.execute(f"{_SELECT_RUNS} WHERE id IN ({','.join('?' * len(run_ids))})", run_ids)
    return [dict(zip(RUN_COLUMNS, row, strict=True)) for row in rows]
