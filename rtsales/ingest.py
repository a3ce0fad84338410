"""Writing a window's sales: the rows and the ledger's move to APPLIED in ONE transaction.

A re-applied hour replaces that hour's rows wholesale, so an ASIN that vanished
from Amazon's numbers vanishes here too. Per-hour fingerprints taken before and
after tell audits which hours actually changed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from rtsales.audits import record_changes
from rtsales.clock import iso
from rtsales.ledger import HourStatus, Window, transition
from rtsales.spapi.parse import SalesDocument
from rtsales.store import transaction

_FINGERPRINT_SQL = """
    SELECT hour_utc, COUNT(*), SUM(ordered_units), ROUND(SUM(ordered_revenue), 2),
           group_concat(asin || ':' || ordered_units || ':' || ordered_revenue, ',')
    FROM (SELECT * FROM vendor_realtime_sales WHERE marketplace_id = ? AND hour_utc >= ? AND hour_utc < ?
          ORDER BY hour_utc, asin)
    GROUP BY hour_utc"""


@dataclass(frozen=True)
class ApplyResult:
    hours: int
    rows_written: int
    hours_changed: int
    units_delta: int
    revenue_delta: float


def _fingerprints(conn: sqlite3.Connection, window: Window) -> dict[str, tuple[int, float, str]]:
    rows = conn.execute(_FINGERPRINT_SQL, [window.marketplace_id, iso(window.start), iso(window.end)])
    return {hour: (units or 0, revenue or 0.0, detail) for hour, _n, units, revenue, detail in rows}


def _changes(before: dict[str, tuple[int, float, str]], after: dict[str, tuple[int, float, str]]
             ) -> dict[str, tuple[int, float]]:
    """(units delta, revenue delta) of every hour whose rows differ."""
    empty = (0, 0.0, "")
    return {h: (after.get(h, empty)[0] - before.get(h, empty)[0],
                round(after.get(h, empty)[1] - before.get(h, empty)[1], 2))
            for h in before.keys() | after.keys() if before.get(h) != after.get(h)}


def apply_window(db: Database, window: Window, report_id: str, document: SalesDocument | None,
                 expected: HourStatus, now: datetime) -> ApplyResult:
    """Replace the window's sales with `document` (None: Amazon had no data) and mark it APPLIED."""
    rows = document.rows if document else []
    currency = document.currency_code if document else ""
    stamp = iso(now)
    with transaction(db) as conn:
        before = _fingerprints(conn, window)
        conn.execute("DELETE FROM vendor_realtime_sales WHERE marketplace_id = ? AND hour_utc >= ? "
                     "AND hour_utc < ?", [window.marketplace_id, iso(window.start), iso(window.end)])
        conn.executemany(
            "INSERT INTO vendor_realtime_sales VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ((window.marketplace_id, r.asin, r.hour_utc, r.ordered_units, r.ordered_revenue,
              currency, report_id, stamp) for r in rows))
        changes = _changes(before, _fingerprints(conn, window))
        record_changes(conn, window.marketplace_id, window.keys(), changes, now)
        transition(conn, window.marketplace_id, window.keys(), expected, HourStatus.APPLIED, now,
                   last_error=None, next_retry_utc=None, window_cap=None)
        conn.execute("DELETE FROM vendor_rt_sales_documents WHERE report_id = ?", [report_id])
    return ApplyResult(window.hours, len(rows), len(changes), sum(u for u, _ in changes.values()),
                       round(sum(r for _, r in changes.values()), 2))


def stash_document(db: Database, window: Window, report_id: str, body: bytes, now: datetime) -> None:
    """Keep the downloaded (still gzip) body and move the window to DOWNLOADED, atomically."""
    with transaction(db) as conn:
        conn.execute("INSERT OR REPLACE INTO vendor_rt_sales_documents VALUES (?, ?, ?, ?)",
                     [report_id, window.marketplace_id, body, iso(now)])
        transition(conn, window.marketplace_id, window.keys(), HourStatus.REQUESTED,
                   HourStatus.DOWNLOADED, now)


def stashed_document(db: Database, report_id: str) -> bytes | None:
    row = db.conn.execute("SELECT body FROM vendor_rt_sales_documents WHERE report_id = ?",
                          [report_id]).fetchone()
    return bytes(row[0]) if row else None
