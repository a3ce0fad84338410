"""Writing a window's sales: the rows and the ledger's move to APPLIED in ONE transaction.

A re-applied hour replaces that hour's rows wholesale, so an ASIN that vanished
from Amazon's numbers vanishes here too. Per-hour digests of the rows before
and after (count, units, revenue and an order-independent hash of every
(ASIN, units, revenue)) tell audits which hours actually changed: the rows
already stored are read once, the new rows are digested as they stream in, so a
fresh million-row window costs no extra pass over the table.

A streamed document is parsed inside the transaction: a bad row anywhere, or a
duplicate (hour, ASIN) that the primary key refuses, rolls every row back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from rtsales.audits import record_changes
from rtsales.clock import iso
from rtsales.errors import ReportParseError
from rtsales.ledger import HourStatus, Window, transition
from rtsales.spapi.parse import Row, SalesDocument, SalesStream
from rtsales.store import transaction

_MASK = (1 << 64) - 1
_INSERT = "INSERT INTO vendor_realtime_sales VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


@dataclass(frozen=True)
class ApplyResult:
    hours: int
    rows_written: int
    hours_changed: int
    units_delta: int
    revenue_delta: float


@dataclass
class Digest:
    """One hour's rows in brief; equal digests mean the same rows (up to a 64-bit hash).

    hash() is salted per process, so digests are compared within one apply and never stored."""

    rows: int = 0
    units: int = 0
    revenue: float = 0.0
    hashes: int = 0

    def add(self, rows: int, units: int, revenue: float, hashes: int) -> None:
        self.rows += rows
        self.units += units
        self.revenue += revenue
        self.hashes = (self.hashes + hashes) & _MASK

    def same_rows(self, other: Digest) -> bool:
        return (self.rows, self.units, self.hashes) == (other.rows, other.units, other.hashes)


def _stored_digests(conn: sqlite3.Connection, window: Window) -> dict[str, Digest]:
    digests: dict[str, Digest] = {}
    rows = conn.execute("SELECT hour_utc, asin, ordered_units, ordered_revenue FROM vendor_realtime_sales "
                        "WHERE marketplace_id = ? AND hour_utc >= ? AND hour_utc < ?",
                        [window.marketplace_id, iso(window.start), iso(window.end)])
    for hour, asin, units, revenue in rows:
        digest = digests.get(hour) or digests.setdefault(hour, Digest())
        digest.add(1, units, revenue, hash((asin, units, revenue)))
    return digests


def _changes(before: dict[str, Digest], after: dict[str, Digest]) -> dict[str, tuple[int, float]]:
    """(units delta, revenue delta) of every hour whose rows differ."""
    empty = Digest()
    changes = {}
    for hour in before.keys() | after.keys():
        old, new = before.get(hour, empty), after.get(hour, empty)
        if not old.same_rows(new):
            changes[hour] = (new.units - old.units, round(round(new.revenue, 2) - round(old.revenue, 2), 2))
    return changes


def _insert_rows(conn: sqlite3.Connection, marketplace_id: str, rows: Iterable[Row], currency: str,
                 report_id: str, stamp: str) -> tuple[int, dict[str, Digest]]:
    """executemany over the rows as they come, digesting each hour on the way; returns (rows, digests)."""
    digests: dict[str, Digest] = {}
    last: list[Row] = []
    try:
        conn.executemany(_INSERT, _feed(marketplace_id, rows, currency, report_id, stamp, digests, last))
    except sqlite3.IntegrityError:
        hour, asin = last[0][:2] if last else ("?", "?")
        raise ReportParseError(f"report document: duplicate row for one hour and ASIN (sample: {hour} {asin})"
                               ) from None
    return sum(d.rows for d in digests.values()), digests


def _feed(marketplace_id: str, rows: Iterable[Row], currency: str, report_id: str, stamp: str,
          digests: dict[str, Digest], last: list[Row]) -> Iterator[tuple[object, ...]]:
    """The table rows. Per-hour sums stay in locals and go to `digests` when the hour changes;
    `last[0]` is the row most recently handed out (for the duplicate message)."""
    hour, n, units_sum, revenue_sum, hashes = None, 0, 0, 0.0, 0
    last[:] = [("", "", 0, 0.0)]
    for row in rows:
        last[0] = row
        row_hour, asin, units, revenue = row
        if row_hour != hour:
            if hour is not None:
                digests.setdefault(hour, Digest()).add(n, units_sum, revenue_sum, hashes)
            hour, n, units_sum, revenue_sum, hashes = row_hour, 0, 0, 0.0, 0
        n += 1
        units_sum += units
        revenue_sum += revenue
        hashes += hash((asin, units, revenue))
        yield marketplace_id, asin, row_hour, units, revenue, currency, report_id, stamp
    if hour is not None:
        digests.setdefault(hour, Digest()).add(n, units_sum, revenue_sum, hashes)


def apply_window(db: Database, window: Window, report_id: str, document: SalesDocument | SalesStream | None,
                 expected: HourStatus, now: datetime) -> ApplyResult:
    """Replace the window's sales with `document` (None: Amazon had no data) and mark it APPLIED."""
    rows: Iterable[Row] = document.rows if document else ()
    currency = document.currency_code if document else ""
    with transaction(db) as conn:
        before = _stored_digests(conn, window)
        conn.execute("DELETE FROM vendor_realtime_sales WHERE marketplace_id = ? AND hour_utc >= ? "
                     "AND hour_utc < ?", [window.marketplace_id, iso(window.start), iso(window.end)])
        written, after = _insert_rows(conn, window.marketplace_id, rows, currency, report_id, iso(now))
        changes = _changes(before, after)
        record_changes(conn, window.marketplace_id, window.keys(), changes, now)
        transition(conn, window.marketplace_id, window.keys(), expected, HourStatus.APPLIED, now,
                   last_error=None, next_retry_utc=None, window_cap=None)
        conn.execute("DELETE FROM vendor_rt_sales_documents WHERE report_id = ?", [report_id])
    return ApplyResult(window.hours, written, len(changes), sum(u for u, _ in changes.values()),
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


def discard_stash(conn: sqlite3.Connection, marketplace_id: str, keys: list[str]) -> None:
    """Drop the stored documents of these hours' reports (they could not be applied; the hours are refetched)."""
    marks = ",".join("?" * len(keys))
    conn.execute(f"DELETE FROM vendor_rt_sales_documents WHERE report_id IN (SELECT report_id FROM "
                 f"vendor_rt_sales_hour_ledger WHERE marketplace_id = ? AND hour_utc IN ({marks}) "
                 f"AND report_id IS NOT NULL)", [marketplace_id, *keys])
