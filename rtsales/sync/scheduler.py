"""What the next createReport is spent on: the one place that decides, in priority order.

1. reports already in flight (the engine resumes them before asking here);
2. hours never fetched (MISSING, or FAILED and due), newest first;
3. the live refresh: every hour still inside SETTLE_HOURS of its end, coalesced with the newest
   unfetched hours into one report per marketplace, at most every LIVE_REFRESH_MINUTES (slower,
   and evenly for every marketplace, when the budget cannot pay for that);
4. the settle fetch: hours that left the live window with provisional numbers, once;
5. audits: hours an audit asked to re-fetch.

A re-fetch (3-5, and fill-day's hours) claims APPLIED hours, which keep their rows and their
data_state while it is in flight. The engine asks `plan()` and spends the budget in its order.

A plan is made per lane: one report kind of one marketplace, against that kind's Horizon (its
own newest hour, oldest hour and window size, from its schema's limits). Every lane draws on
the same createReport budget: Amazon's usage plans are per operation, not per report type.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlite_utils import Database

from rtsales.clock import HOUR, floor_hour, iso, parse_hour, parse_instant
from rtsales.quota import SPAPI_PLANS, learned_rates
from rtsales.store import transaction
from rtsales.kinds import KINDS
from rtsales.sync.ledger import LANE, LEDGER, REFETCHABLE_SQL, Window, claimable, claimable_params, coalesce, split

PRIORITY = ("fill", "gap", "live", "settle", "audit")
LIVE_JITTER = timedelta(minutes=2)  # cron starts a little late or early; a refresh 14 min after the last is due
MAX_LIVE_MINUTES = 24 * 60
CONFIRM_AFTER = timedelta(hours=1)  # an empty answer is re-asked no sooner (CANCELLED may mean "too often")


@dataclass(frozen=True)
class Job:
    purpose: str  # fill | gap | live | settle | audit
    window: Window
    refetch: bool = True  # may claim APPLIED hours (they keep their rows while it is in flight)
    live: bool = False  # this report is the marketplace's live refresh

    def pieces(self, cap: int) -> list[Job]:
        return [replace(self, window=piece) for piece in split(self.window, cap)]


@dataclass(frozen=True)
class Horizon:
    """The instants one lane's plan is made against."""

    kind: str
    now: datetime
    oldest: datetime  # the oldest hour that may be asked for (lookback, data age)
    newest: datetime  # the newest hour that should exist by now
    settle: timedelta
    max_hours: int

    def live_start(self) -> datetime:
        """The oldest hour still inside SETTLE_HOURS of its end (its end + settle is after now)."""
        first = floor_hour(self.now - self.settle - HOUR)
        return max(first if first + HOUR + self.settle > self.now else first + HOUR, self.oldest)

    def windows(self, marketplace_id: str, rows: list[tuple[str, int | None]]) -> list[Window]:
        """`rows` (hour, cap; newest first) as this lane's windows."""
        return coalesce(marketplace_id, rows, self.max_hours, kind=self.kind)


def live_interval(refresh_minutes: int, lanes: int, rate: float, budget_percent: int) -> timedelta:
    """How often each lane's (kind and marketplace's) live window can be refreshed within the
    createReport budget.

    Live refreshes take at most half of the budget; the rest is for gaps, settle fetches and
    audits. Every lane gets the same interval, so a short budget slows all of them evenly.
    Never longer than a day (LIVE_REFRESH_MINUTES' own limit), whatever rate Amazon names."""
    per_hour = max(rate, 1e-9) * 3600 * budget_percent / 100 / 2
    needed = max(1, lanes) * 60 / refresh_minutes
    return timedelta(minutes=min(refresh_minutes * max(1.0, needed / per_hour), MAX_LIVE_MINUTES))


@dataclass(frozen=True)
class LiveDue:
    """Whether a lane's live refresh is due (its interval has passed), or may ride along early
    (half of it has): a new hour's first fetch then takes the refresh with it, so a lane whose
    refresh slipped off the hour (a budget ran out) comes back in phase and costs one report an
    hour, not two."""

    due: bool
    early: bool


def plan(conn: sqlite3.Connection, marketplace_id: str, horizon: Horizon, *, live: LiveDue,
         focus: Collection[str] | None = None) -> list[Job]:
    """Every job this lane wants now, in priority order (the engine may stop anywhere)."""
    if focus is not None:  # fill-day: only its hours, every one of them, fetched or not
        return _focus(conn, marketplace_id, horizon, focus)
    gaps = claimable(conn, marketplace_id, horizon.now, horizon.oldest, kind=horizon.kind)
    fresh = any(parse_hour(key) >= horizon.live_start() for key, _ in gaps)
    wanted = _live_keys(conn, marketplace_id, horizon) if live.due or (live.early and fresh) else []
    settle = _settle_rows(conn, marketplace_id, horizon)
    wanted += _adjacent(wanted, [key for key, _ in settle])  # settle fetches ride along in the live refresh
    settle = [row for row in settle if row[0] not in wanted]
    jobs = _gaps_and_live(marketplace_id, gaps, set(wanted), horizon)
    jobs += [Job("settle", w) for w in horizon.windows(marketplace_id, settle)]
    jobs += [Job("audit", w) for w in horizon.windows(marketplace_id, _audit_rows(conn, marketplace_id, horizon))]
    return jobs


def _gaps_and_live(mp: str, gaps: list[tuple[str, int | None]], live: set[str], horizon: Horizon) -> list[Job]:
    """Never-fetched hours, newest first; the live window joins the newest of them in one report
    when they touch (an hour's first fetch is its first live refresh), else it is a report of its own."""
    if live and any(key in live for key, _ in gaps):
        rows = sorted(dict([*((k, None) for k in live), *gaps]).items(), reverse=True)
        return [Job("gap", w, refetch=bool(live & set(w.keys())), live=bool(live & set(w.keys())))
                for w in horizon.windows(mp, rows)]
    jobs = [Job("gap", w, refetch=False) for w in horizon.windows(mp, gaps)]
    newest_first = [(k, None) for k in sorted(live, reverse=True)]
    return jobs + [Job("live", w, live=True) for w in horizon.windows(mp, newest_first)]


def _adjacent(keys: list[str], older: list[str]) -> list[str]:
    """The run of `older` (newest first) that continues `keys` downwards without a hole."""
    run: list[str] = []
    wanted = set(older)
    while keys and (nxt := iso(parse_hour((run or keys)[-1]) - HOUR)) in wanted:
        run.append(nxt)
    return run


def _live_keys(conn: sqlite3.Connection, mp: str, horizon: Horizon) -> list[str]:
    """The live window, newest first, when no part of it is in flight (else the last refresh is pending)."""
    rows = conn.execute(f"SELECT hour_utc, status, {REFETCHABLE_SQL} FROM {LEDGER} WHERE {LANE} "
                        f"AND hour_utc >= ? AND hour_utc <= ? ORDER BY hour_utc DESC",
                        [*claimable_params(horizon.now), horizon.kind, mp, iso(horizon.live_start()),
                         iso(horizon.newest)]).fetchall()
    if any(status in ("REQUESTED", "DOWNLOADED") for _, status, _ in rows):
        return []
    keys = []
    for key, _, fetchable in rows:  # contiguous from the newest, and each hour claimable now: one report
        if not fetchable or (keys and parse_hour(keys[-1]) - HOUR != parse_hour(key)):
            break  # e.g. a FAILED hour waiting for its retry: the window stops above it
        keys.append(key)
    return keys


def _settle_rows(conn: sqlite3.Connection, mp: str, horizon: Horizon) -> list[tuple[str, int | None]]:
    """Settled hours whose numbers are still provisional."""
    settled_before = horizon.now - horizon.settle - HOUR
    rows = conn.execute(
        f"SELECT hour_utc, window_cap, updated_at FROM {LEDGER} WHERE {LANE} "
        f"AND status = 'APPLIED' AND data_state = 'provisional' AND inconclusive = 0 AND hour_utc >= ? "
        f"AND hour_utc <= ? "
        f"AND (next_retry_utc IS NULL OR next_retry_utc <= ?) ORDER BY hour_utc DESC",
        [horizon.kind, mp, iso(horizon.oldest), iso(settled_before), iso(horizon.now)]).fetchall()
    # Still provisional although settled: never asked since, or its only answer was empty (a CANCELLED
    # may mean "asked too often"), which is asked again, no sooner than CONFIRM_AFTER. Inconclusive hours
    # (a CANCELLED kept their rows) wait for the next audit instead of being asked every run.
    return [(key, cap) for key, cap, answered_at in rows
            if parse_instant(answered_at) + CONFIRM_AFTER <= horizon.now or not _empty(conn, horizon.kind, mp, key)]


def _empty(conn: sqlite3.Connection, kind: str, mp: str, key: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {KINDS[kind].table} WHERE marketplace_id = ? AND hour_utc = ? LIMIT 1",
                        [mp, key]).fetchone() is None


def _audit_rows(conn: sqlite3.Connection, mp: str, horizon: Horizon) -> list[tuple[str, int | None]]:
    return list(conn.execute(
        f"SELECT hour_utc, window_cap FROM {LEDGER} WHERE {LANE} AND status = 'APPLIED' "
        f"AND audit_run_id IS NOT NULL AND hour_utc >= ? AND (next_retry_utc IS NULL OR next_retry_utc <= ?) "
        f"ORDER BY hour_utc DESC", [horizon.kind, mp, iso(horizon.oldest), iso(horizon.now)]))


def _focus(conn: sqlite3.Connection, mp: str, horizon: Horizon, focus: Collection[str]) -> list[Job]:
    rows = [(k, cap) for k, cap in conn.execute(
        f"SELECT hour_utc, window_cap FROM {LEDGER} WHERE {LANE} AND hour_utc >= ? AND hour_utc <= ? "
        f"AND status IN ('MISSING', 'APPLIED') ORDER BY hour_utc DESC",
        [horizon.kind, mp, iso(horizon.oldest), iso(horizon.newest)]) if k in focus]
    return [Job("fill", w) for w in horizon.windows(mp, rows)]


def create_rate(db: Database) -> float:
    """createReport's rate: what Amazon last said it applies, else its documented default."""
    return learned_rates(db, "spapi").get("createReport", SPAPI_PLANS["createReport"].rate)


def _live_key(lane: str) -> str:
    """rtsales_state: when the lane's ('kind:marketplace') live window was last asked for."""
    return f"live_refresh:{lane}"


def live_due(db: Database, lane: str, now: datetime, interval: timedelta) -> LiveDue:
    """How long ago the lane's live window was last asked for, against `interval` (never: due)."""
    row = db.conn.execute("SELECT value FROM rtsales_state WHERE key = ?", [_live_key(lane)]).fetchone()
    if row is None:
        return LiveDue(True, True)
    last = parse_instant(row[0]) - LIVE_JITTER
    return LiveDue(last + interval <= now, last + interval / 2 <= now)


def fair_order(db: Database, lanes: Collection[str]) -> list[str]:
    """Lanes whose live window was refreshed longest ago first: when the budget runs out part-way
    through a run, the next run starts with the ones this run left out."""
    last = dict(db.conn.execute("SELECT key, value FROM rtsales_state WHERE key LIKE 'live_refresh:%'").fetchall())
    return sorted(lanes, key=lambda lane: last.get(_live_key(lane), ""))


def record_live(db: Database, lane: str, now: datetime) -> None:
    with transaction(db) as conn:
        conn.execute("INSERT INTO rtsales_state VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                     "value = excluded.value, updated_at = excluded.updated_at",
                     [_live_key(lane), iso(now), iso(now)])
