"""The hour ledger: one row per (report kind, marketplace, UTC hour) and its state machine.

MISSING -> REQUESTED -> DOWNLOADED -> APPLIED, or FAILED (last_error,
next_retry_utc) and back to claimable, or UNAVAILABLE (older than Amazon serves:
terminal, never retried). A FAILED hour whose retry lies further ahead than the
backoff cap was failed before the clock went back: it is claimable now. Every transition is one guarded UPDATE
(`WHERE status = expected`) whose row count is checked: a row that is not in
the expected state raises LedgerConflict, and the caller's transaction rolls back.

Beside the status, `data_state` says what the hour's stored rows are worth: none,
provisional (Amazon may still revise them, or an empty answer not yet confirmed) or
final (fetched after the hour settled). `inconclusive` marks an hour whose last
re-fetch came back CANCELLED and kept the rows it had.

Every function here works on one report kind (`kind`, a `rtsales.kinds` name), passed
by keyword or carried by the Window, so no query can mix one kind's hours with another's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from rtsales.clock import HOUR, floor_hour, hour_key, iso, later, parse_hour
from rtsales.errors import RtsalesError


class HourStatus(StrEnum):
    MISSING = "MISSING"
    REQUESTED = "REQUESTED"
    DOWNLOADED = "DOWNLOADED"
    APPLIED = "APPLIED"
    FAILED = "FAILED"
    UNAVAILABLE = "UNAVAILABLE"


S = HourStatus
TRANSITIONS: dict[HourStatus, frozenset[HourStatus]] = {
    S.MISSING: frozenset({S.REQUESTED, S.UNAVAILABLE}),
    # REQUESTED -> MISSING: a claim released by a 429, or a report Amazon no longer has.
    # REQUESTED -> UNAVAILABLE: Amazon refused a one-hour window for its age.
    S.REQUESTED: frozenset({S.DOWNLOADED, S.APPLIED, S.FAILED, S.MISSING, S.UNAVAILABLE}),
    S.DOWNLOADED: frozenset({S.APPLIED, S.FAILED}),
    # APPLIED -> REQUESTED: a re-fetch (live refresh, settle fetch, audit, fill-day) claims an hour
    # that keeps its rows and its data_state meanwhile; a failed re-fetch gives it back as APPLIED.
    S.APPLIED: frozenset({S.REQUESTED, S.MISSING}),
    S.FAILED: frozenset({S.REQUESTED, S.MISSING, S.UNAVAILABLE}),
    S.UNAVAILABLE: frozenset({S.MISSING}),  # only fill-day, on an hour inside MAX_DATA_AGE_HOURS again
}
# Two parameters, `claimable_params(now)`: the retry is due, or beyond any backoff rtsales sets.
CLAIMABLE_SQL = "(status = 'MISSING' OR (status = 'FAILED' AND (next_retry_utc <= ? OR next_retry_utc > ?)))"
REFETCHABLE_SQL = ("(status IN ('MISSING', 'APPLIED') OR (status = 'FAILED' AND "
                   "(next_retry_utc <= ? OR next_retry_utc > ?)))")
LEDGER = "vendor_rt_sales_hour_ledger"  # every kind's hours; the name predates traffic and inventory
LANE = "report_kind = ? AND marketplace_id = ?"  # every query's first two parameters: kind, marketplace

def lane_key(kind: str, marketplace_id: str) -> str:
    """'kind:marketplace': what a learned window cap or a live refresh belongs to."""
    return f"{kind}:{marketplace_id}"


BACKOFF_BASE = timedelta(minutes=15)
BACKOFF_CAP = timedelta(hours=6)


def claimable_params(now: datetime) -> list[str]:
    """The values CLAIMABLE_SQL's two placeholders take at `now`."""
    return [iso(now), iso(later(now, BACKOFF_CAP))]


def far_retries(conn: sqlite3.Connection, marketplace_id: str, now: datetime, *, kind: str) -> int:
    """FAILED hours whose retry lies beyond the backoff cap (claimable all the same): a clock set back."""
    return conn.execute(f"SELECT COUNT(*) FROM {LEDGER} WHERE {LANE} AND status = 'FAILED' "
                        f"AND next_retry_utc > ?", [kind, marketplace_id, iso(later(now, BACKOFF_CAP))]).fetchone()[0]


class LedgerConflict(RtsalesError):
    """A row was not in the state this process expected: someone else moved it."""


@dataclass(frozen=True)
class Window:
    """Contiguous hours of one kind and marketplace requested as one report: [start, end)."""

    marketplace_id: str
    start: datetime
    hours: int
    kind: str

    @property
    def end(self) -> datetime:
        return self.start + self.hours * HOUR

    @property
    def lane(self) -> str:
        return lane_key(self.kind, self.marketplace_id)

    def keys(self) -> list[str]:
        return [hour_key(self.start + i * HOUR) for i in range(self.hours)]


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


def transition(conn: sqlite3.Connection, marketplace_id: str, hours: Sequence[str],
               expected: HourStatus, new: HourStatus, now: datetime, *, kind: str, **fields: Any) -> None:
    """Move `hours` from `expected` to `new`, setting `fields`; all or nothing."""
    if new not in TRANSITIONS[expected]:
        raise ValueError(f"illegal ledger transition {expected} -> {new}")
    sets = ", ".join(["status = ?", "updated_at = ?", *(
        f"{name} = {name} + ?" if name == "attempts" else f"{name} = ?" for name in fields)])
    sql = (f"UPDATE {LEDGER} SET {sets} WHERE {LANE} "
           f"AND status = ? AND hour_utc IN ({_placeholders(len(hours))})")
    params = [new.value, iso(now), *fields.values(), kind, marketplace_id, expected.value, *hours]
    changed = conn.execute(sql, params).rowcount
    if changed != len(hours):
        raise LedgerConflict(f"ledger conflict for {kind} {marketplace_id}: {len(hours) - changed} of "
                             f"{len(hours)} hours were not {expected} (moving to {new})")


def backoff(attempts: int) -> timedelta:
    # the exponent is capped first: 2**attempts of a hand-edited attempts column would never finish
    return min(BACKOFF_BASE * (2 ** min(max(0, attempts - 1), 16)), BACKOFF_CAP)


def newest_wanted_hour(now: datetime, safety_lag: timedelta) -> datetime:
    """The last full hour that ended at least `safety_lag` ago."""
    return floor_hour(now - safety_lag) - HOUR


def ceil_hour(value: datetime) -> datetime:
    floor = floor_hour(value)
    return floor if floor == value else floor + HOUR


def oldest_fetchable_hour(now: datetime, max_age: timedelta) -> datetime:
    """The first hour whose window may still be asked for: no request starts earlier than max_age."""
    return ceil_hour(now - max_age)


def seed(conn: sqlite3.Connection, marketplace_id: str, now: datetime, oldest: datetime,
         safety_lag: timedelta, *, kind: str) -> int:
    """Insert MISSING rows for every wanted hour from `oldest` on; never touch existing rows."""
    newest = newest_wanted_hour(now, safety_lag)
    cursor, rows = oldest, []
    while cursor <= newest:
        rows.append((kind, marketplace_id, hour_key(cursor), iso(now)))
        cursor += HOUR
    before = conn.total_changes
    conn.executemany(f"INSERT OR IGNORE INTO {LEDGER} "
                     "(report_kind, marketplace_id, hour_utc, status, updated_at) VALUES (?, ?, ?, 'MISSING', ?)", rows)
    return conn.total_changes - before


def expire_aged(conn: sqlite3.Connection, marketplace_id: str, oldest: datetime, now: datetime,
                reason: str, *, kind: str) -> int:
    """MISSING and FAILED hours older than `oldest` become UNAVAILABLE: Amazon no longer serves them."""
    moved = 0
    for status in (S.MISSING, S.FAILED):
        keys = [k for (k,) in conn.execute(f"SELECT hour_utc FROM {LEDGER} WHERE {LANE} AND status = ? "
                                           f"AND hour_utc < ?", [kind, marketplace_id, status.value, iso(oldest)])]
        if keys:
            transition(conn, marketplace_id, keys, status, S.UNAVAILABLE, now, kind=kind, next_retry_utc=None,
                       last_error=reason[:500])
            moved += len(keys)
    return moved


def is_claimable(conn: sqlite3.Connection, window: Window, now: datetime, refetch: bool = False) -> bool:
    """Every hour of the window can still be claimed (nothing retired or taken it meanwhile)."""
    keys = window.keys()
    return conn.execute(f"SELECT COUNT(*) FROM {LEDGER} WHERE {LANE} AND hour_utc IN "
                        f"({_placeholders(len(keys))}) AND {REFETCHABLE_SQL if refetch else CLAIMABLE_SQL}",
                        [window.kind, window.marketplace_id, *keys, *claimable_params(now)]).fetchone()[0] == len(keys)


def claimable(conn: sqlite3.Connection, marketplace_id: str, now: datetime,
              oldest: datetime | None = None, *, kind: str) -> list[tuple[str, int | None]]:
    """(hour_utc, window_cap) of claimable rows from `oldest` on, newest first."""
    return list(conn.execute(
        f"SELECT hour_utc, window_cap FROM {LEDGER} WHERE {LANE} AND hour_utc >= ? "
        f"AND {CLAIMABLE_SQL} ORDER BY hour_utc DESC",
        [kind, marketplace_id, iso(oldest) if oldest else "", *claimable_params(now)]))


def prune_unfetched(conn: sqlite3.Connection, marketplace_id: str, oldest: datetime, *, kind: str) -> int:
    """Forget never-fetched hours older than the lookback (it shrank, or time moved on): they are
    never claimed, and a wider lookback seeds them again."""
    return conn.execute(f"DELETE FROM {LEDGER} WHERE {LANE} AND hour_utc < ? AND status = 'MISSING' "
                        f"AND data_state = 'none'", [kind, marketplace_id, iso(oldest)]).rowcount


def coalesce(marketplace_id: str, rows: Sequence[tuple[str, int | None]], max_hours: int, *,
             kind: str) -> list[Window]:
    """Group hours (newest first) into as few contiguous windows as the caps allow."""
    windows: list[Window] = []
    start: datetime | None = None
    size, cap = 0, max_hours
    for key, row_cap in rows:
        hour = parse_hour(key)
        limit = min(cap, row_cap or max_hours)
        if start is not None and hour == start - HOUR and size < limit:
            start, size, cap = hour, size + 1, limit
            continue
        if start is not None:
            windows.append(Window(marketplace_id, start, size, kind))
        start, size, cap = hour, 1, min(max_hours, row_cap or max_hours)
    if start is not None:
        windows.append(Window(marketplace_id, start, size, kind))
    return windows


def split(window: Window, cap: int) -> list[Window]:
    """`window` cut into pieces of at most `cap` hours, newest first (the order work is done in)."""
    pieces, end = [], window.end
    while end > window.start:
        start = max(window.start, end - cap * HOUR)
        pieces.append(Window(window.marketplace_id, start, int((end - start) / HOUR), window.kind))
        end = start
    return pieces


def claim(conn: sqlite3.Connection, window: Window, now: datetime, refetch: bool = False) -> None:
    """Move a window's hours to REQUESTED (no report yet), guarded per source state. A re-fetch
    may claim APPLIED hours too: they keep their rows and data_state while it is in flight."""
    keys = window.keys()
    states = dict(conn.execute(
        f"SELECT hour_utc, status FROM {LEDGER} WHERE {LANE} "
        f"AND hour_utc IN ({_placeholders(len(keys))}) AND {REFETCHABLE_SQL if refetch else CLAIMABLE_SQL}",
        [window.kind, window.marketplace_id, *keys, *claimable_params(now)]))
    if len(states) != len(keys):
        raise LedgerConflict(f"ledger conflict for {window.kind} {window.marketplace_id}: window "
                             f"{hour_key(window.start)} is no longer claimable")
    for status in {S(v) for v in states.values()}:
        transition(conn, window.marketplace_id, [k for k in keys if states[k] == status],
                   status, S.REQUESTED, now, kind=window.kind, report_id=None)


def give_back(conn: sqlite3.Connection, marketplace_id: str, keys: Sequence[str], expected: HourStatus,
              fallback: HourStatus, now: datetime, *, kind: str, **fields: Any) -> list[str]:
    """End a fetch that brought nothing: hours that hold data go back to APPLIED (their rows were
    never touched), the others to `fallback` (MISSING or FAILED). Returns the hours that hold data."""
    marks = _placeholders(len(keys))
    held = [k for (k,) in conn.execute(f"SELECT hour_utc FROM {LEDGER} WHERE {LANE} AND hour_utc IN "
                                       f"({marks}) AND data_state != 'none'", [kind, marketplace_id, *keys])]
    rest = [k for k in keys if k not in set(held)]
    if held:
        transition(conn, marketplace_id, held, expected, S.APPLIED, now, kind=kind, **fields)
    if rest:
        transition(conn, marketplace_id, rest, expected, fallback, now, kind=kind, **fields)
    return held


def attach_report(conn: sqlite3.Connection, window: Window, report_id: str, now: datetime) -> None:
    """Record the created report on a claimed window; counts one attempt per hour."""
    keys = window.keys()
    changed = conn.execute(
        f"UPDATE {LEDGER} SET report_id = ?, attempts = attempts + 1, updated_at = ?, requested_at = ? "
        f"WHERE {LANE} AND status = 'REQUESTED' AND report_id IS NULL AND hour_utc IN "
        f"({_placeholders(len(keys))})", [report_id, iso(now), iso(now), window.kind, window.marketplace_id, *keys]
    ).rowcount
    if changed != len(keys):
        raise LedgerConflict(f"ledger conflict for {window.kind} {window.marketplace_id}: report {report_id} "
                             f"could not be attached to {len(keys) - changed} of {len(keys)} hours")


def in_flight(conn: sqlite3.Connection, marketplace_id: str, *, kind: str) -> list[tuple[str | None, str, list[str]]]:
    """(report_id, status, hours) of REQUESTED and DOWNLOADED rows, grouped by report."""
    groups: dict[tuple[str | None, str], list[str]] = {}
    for key, status, report_id in conn.execute(
            f"SELECT hour_utc, status, report_id FROM {LEDGER} WHERE {LANE} "
            "AND status IN ('REQUESTED', 'DOWNLOADED') ORDER BY hour_utc", [kind, marketplace_id]):
        groups.setdefault((report_id, status), []).append(key)
    return [(rid, status, keys) for (rid, status), keys in groups.items()]


def window_of(marketplace_id: str, keys: Sequence[str], *, kind: str) -> Window:
    first = parse_hour(min(keys))
    return Window(marketplace_id, first, int((parse_hour(max(keys)) - first) / HOUR) + 1, kind)


def reopen(conn: sqlite3.Connection, marketplace_id: str, keys: Sequence[str], now: datetime, *, kind: str,
           audit_run_id: int | None = None, sources: Sequence[HourStatus] = (S.APPLIED, S.FAILED)) -> int:
    """Put APPLIED and FAILED hours back to MISSING now (audits, fill-day); returns hours re-opened."""
    moved = 0
    for status in sources:
        rows = [k for (k,) in conn.execute(
            f"SELECT hour_utc FROM {LEDGER} WHERE {LANE} AND status = ? "
            f"AND hour_utc IN ({_placeholders(len(keys))})", [kind, marketplace_id, status.value, *keys])]
        if rows:
            transition(conn, marketplace_id, rows, status, S.MISSING, now, kind=kind, next_retry_utc=None,
                       audit_run_id=audit_run_id)
            moved += len(rows)
    return moved


def newest_held_hour(db: Any, marketplace_id: str, *, kind: str) -> str | None:
    """The newest hour whose numbers the database holds, whatever fetch of it is in flight: what every
    reader (status, sales, --check) calls "the last applied hour", so a re-fetch never moves it back."""
    # One index probe per data_state (ix_ledger_data), not a walk over the marketplace's hours.
    row = db.execute(f"SELECT MAX(h) FROM (SELECT MAX(hour_utc) AS h FROM {LEDGER} WHERE {LANE} AND "
                     f"data_state = 'final' UNION ALL SELECT MAX(hour_utc) FROM {LEDGER} WHERE {LANE} "
                     f"AND data_state = 'provisional')", [kind, marketplace_id, kind, marketplace_id]).fetchone()
    return row[0] if row else None


def ledger_counts(conn: sqlite3.Connection, marketplace_id: str, *, kind: str) -> dict[str, int]:
    counts = {state.value: 0 for state in HourStatus}
    for state, n in conn.execute(f"SELECT status, COUNT(*) FROM {LEDGER} WHERE {LANE} GROUP BY status",
                                 [kind, marketplace_id]):
        counts[state] = n
    return counts
