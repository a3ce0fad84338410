"""Writing a window's rows, for any report kind: the rows and the ledger's move to APPLIED in
ONE transaction. The kind (`rtsales.kinds`) names the table and its columns; nothing here
knows sales from traffic or inventory.

A re-applied hour replaces that hour's rows wholesale, so an ASIN that vanished
from Amazon's numbers vanishes here too. Per-hour digests of the rows before
and after (count, the sum of the kind's first number (units, glance views, sellable
units), revenue for sales, and an order-independent hash of every (ASIN, *numbers))
tell audits which hours actually changed: the rows
already stored are read once, the new rows are digested batch by batch as they
stream in, so a fresh million-row window costs no extra pass over the table.

A streamed document is parsed inside the transaction: a bad row anywhere, or a
duplicate (hour, ASIN) that the primary key refuses, rolls every row back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby, repeat
from operator import and_

from sqlite_utils import Database

from rtsales.amazon.document import Columns, ReportStream
from rtsales.clock import HOUR, iso, parse_hour, parse_instant
from rtsales.errors import ReportParseError
from rtsales.kinds import KINDS, Kind
from rtsales.store import transaction
from rtsales.sync.audits import record_changes
from rtsales.sync.ledger import LANE, LEDGER, HourStatus, Window, transition

_MASK = (1 << 64) - 1


@dataclass(frozen=True)
class ApplyResult:
    hours: int
    rows_written: int
    hours_changed: int
    units_delta: int
    revenue_delta: float
    hours_inconclusive: int = 0


@dataclass
class Digest:
    """One hour's rows in brief; equal digests mean the same rows (up to a 64-bit hash).

    hash() is salted per process, so digests are compared within one apply and never stored."""

    rows: int = 0
    units: int = 0  # the kind's first number
    revenue: float = 0.0  # its second (sales: revenue), or 0
    hashes: int = 0

    def add(self, rows: int, units: int, revenue: float, hashes: int) -> None:
        self.rows += rows
        self.units += units
        self.revenue += revenue
        self.hashes = (self.hashes + hashes) & _MASK

    def same_rows(self, other: Digest) -> bool:
        return (self.rows, self.units, self.hashes) == (other.rows, other.units, other.hashes)


def _stored_digests(conn: sqlite3.Connection, kind: Kind, window: Window) -> dict[str, Digest]:
    digests: dict[str, Digest] = {}
    cursor = conn.execute(f"SELECT hour_utc, asin, {', '.join(kind.columns)} FROM {kind.table} "
                          "WHERE marketplace_id = ? AND hour_utc >= ? AND hour_utc < ?",
                          [window.marketplace_id, iso(window.start), iso(window.end)])
    while rows := cursor.fetchmany(10_000):
        _digest(tuple(zip(*rows, strict=True)), digests)
    return digests


def _digest(batch: Columns, digests: dict[str, Digest], compare: Container[str] | None = None) -> None:
    """Add a batch's rows to their hours' digests, one run of equal hours at a time (C-speed loops).

    Row hashes are summed only for hours in `compare` (None: all): an hour with no
    stored rows before has changed if it has any row now, whatever the hash."""
    first = 0
    hours, asins, *values = batch
    for hour, run in groupby(hours):
        last = first + len(list(run))
        numbers = [column[first:last] for column in values]
        hashes = _row_hashes(asins[first:last], numbers) if compare is None or hour in compare else 0
        digest = digests.get(hour) or digests.setdefault(hour, Digest())
        digest.add(last - first, sum(numbers[0]), sum(numbers[1]) if len(numbers) > 1 else 0.0, hashes)
        first = last


def _row_hashes(asins: Sequence[str], numbers: Sequence[Sequence[int | float]]) -> int:
    """The sum of a keyed hash of each row (asin, *numbers).

    The tuple hash alone will not do: it has no final mixing, so sums of it collide
    whenever two rows swap a value (about one seed in eight). Its 8 bytes are hashed
    again by SipHash (the bytes hash), which does mix; all of it in C-speed loops."""
    weak = map(and_, map(hash, zip(asins, *numbers, strict=True)), repeat(_MASK))
    blobs: Iterator[bytes] = map(int.to_bytes, weak, repeat(8), repeat("little"))  # type: ignore[arg-type]
    return sum(map(hash, blobs))


def _changes(before: dict[str, Digest], after: dict[str, Digest]) -> dict[str, tuple[int, float]]:
    """(units delta, revenue delta) of every hour whose rows differ."""
    empty = Digest()
    changes = {}
    for hour in before.keys() | after.keys():
        old, new = before.get(hour, empty), after.get(hour, empty)
        if not old.same_rows(new):
            changes[hour] = (new.units - old.units, round(round(new.revenue, 2) - round(old.revenue, 2), 2))
    return changes


def _insert_sql(kind: Kind) -> str:
    columns = ["marketplace_id", "asin", "hour_utc", *kind.columns, *(["currency_code"] if kind.currency else []),
               "report_id", "updated_at"]
    return f"INSERT INTO {kind.table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _insert(conn: sqlite3.Connection, kind: Kind, marketplace_id: str, document: ReportStream | None,
            report_id: str, stamp: str, before: dict[str, Digest]) -> tuple[int, dict[str, Digest]]:
    """One executemany per batch as the document is read, digesting each batch; returns (rows, digests)."""
    digests: dict[str, Digest] = {}
    written = 0
    if document is None:
        return written, digests
    sql = _insert_sql(kind)
    for batch in document.batches:
        hours, asins, *values = batch
        n = len(asins)
        currency = [repeat(document.currency_code, n)] if kind.currency else []
        _execute(conn, sql, batch, zip(repeat(marketplace_id, n), asins, hours, *values, *currency,
                                       repeat(report_id, n), repeat(stamp, n)))
        _digest(batch, digests, compare=before)
        written += n
    return written, digests


def _execute(conn: sqlite3.Connection, sql: str, batch: Columns, rows: Iterator[tuple[object, ...]]) -> None:
    before = conn.total_changes
    try:
        conn.executemany(sql, rows)
    except sqlite3.IntegrityError:  # the rows before the refused one went in, so it is the next one
        bad = conn.total_changes - before
        raise ReportParseError(f"report document: duplicate row for one hour and ASIN "
                               f"(sample: {batch[0][bad]} {batch[1][bad]})") from None


def apply_window(db: Database, window: Window, report_id: str, document: ReportStream | None,
                 expected: HourStatus, now: datetime, settle: timedelta) -> ApplyResult:
    """Replace the window's rows of its kind with `document` and mark it APPLIED, in one transaction.

    `document` None is a CANCELLED report, which Amazon sends for "no data" and also for
    "asked too often": it never deletes a stored row. Hours that had rows keep them and are
    marked inconclusive; hours without rows are applied empty, provisionally (see `_grade`)."""
    kind = KINDS[window.kind]
    with transaction(db) as conn:
        before = _stored_digests(conn, kind, window)
        kept = [k for k in window.keys() if k in before] if document is None else []
        if document is not None:
            conn.execute(f"DELETE FROM {kind.table} WHERE marketplace_id = ? AND hour_utc >= ? "
                         "AND hour_utc < ?", [window.marketplace_id, iso(window.start), iso(window.end)])
        written, after = _insert(conn, kind, window.marketplace_id, document, report_id, iso(now), before)
        changes = _changes(before, after) if document is not None else {}
        record_changes(conn, window, changes, now, inconclusive=kept)
        grades = _grade(conn, window, settle, cancelled=document is None, kept=kept)
        transition(conn, window.marketplace_id, window.keys(), expected, HourStatus.APPLIED, now, kind=window.kind,
                   last_error=None, next_retry_utc=None, window_cap=None)
        _set_grades(conn, window, grades)
        conn.execute("DELETE FROM vendor_rt_sales_documents WHERE report_id = ?", [report_id])
    return ApplyResult(window.hours, written, len(changes), sum(u for u, _ in changes.values()),
                       round(sum(r for _, r in changes.values()), 2), len(kept))


def _grade(conn: sqlite3.Connection, window: Window, settle: timedelta, *, cancelled: bool,
           kept: Sequence[str]) -> dict[str, tuple[str, int]]:
    """hour -> (data_state, inconclusive) after this answer.

    A real answer is final when its report was requested after the hour settled. An empty
    CANCELLED answer is final only when it confirms an earlier empty answer and was itself
    requested after the hour settled: a throttling cancel never leaves an hour empty for
    good. Hours whose rows a CANCELLED kept keep their data_state."""
    marks = ",".join("?" * window.hours)
    rows = conn.execute(f"SELECT hour_utc, data_state, requested_at FROM {LEDGER} "
                        f"WHERE {LANE} AND hour_utc IN ({marks})", [window.kind, window.marketplace_id, *window.keys()])
    grades: dict[str, tuple[str, int]] = {}
    for key, state, requested_at in rows:
        settled = requested_at is not None and parse_instant(requested_at) >= parse_hour(key) + HOUR + settle
        if key in kept:
            grades[key] = (state, 1)
        elif cancelled:
            grades[key] = ("final" if settled and state != "none" else "provisional", 0)
        else:
            grades[key] = ("final" if settled else "provisional", 0)
    return grades


def _set_grades(conn: sqlite3.Connection, window: Window, grades: dict[str, tuple[str, int]]) -> None:
    conn.executemany(f"UPDATE {LEDGER} SET data_state = ?, inconclusive = ? WHERE {LANE} AND hour_utc = ?",
                     [(state, flag, window.kind, window.marketplace_id, key) for key, (state, flag) in grades.items()])


def stash_document(db: Database, window: Window, report_id: str, body: bytes, now: datetime) -> None:
    """Keep the downloaded (still gzip) body and move the window to DOWNLOADED, atomically."""
    with transaction(db) as conn:
        conn.execute("INSERT OR REPLACE INTO vendor_rt_sales_documents VALUES (?, ?, ?, ?)",
                     [report_id, window.marketplace_id, body, iso(now)])
        transition(conn, window.marketplace_id, window.keys(), HourStatus.REQUESTED,
                   HourStatus.DOWNLOADED, now, kind=window.kind)


def stashed_document(db: Database, report_id: str) -> bytes | None:
    row = db.conn.execute("SELECT body FROM vendor_rt_sales_documents WHERE report_id = ?",
                          [report_id]).fetchone()
    return bytes(row[0]) if row else None


def discard_stash(conn: sqlite3.Connection, window: Window) -> None:
    """Drop the stored documents of these hours' reports (they could not be applied; the hours are refetched)."""
    keys = window.keys()
    conn.execute(f"DELETE FROM vendor_rt_sales_documents WHERE report_id IN (SELECT report_id FROM "
                 f"{LEDGER} WHERE {LANE} AND hour_utc IN ({','.join('?' * len(keys))}) "
                 f"AND report_id IS NOT NULL)", [window.kind, window.marketplace_id, *keys])
