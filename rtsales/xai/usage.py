"""The xAI daily cap and counters: one row per UTC day in `xai_daily_usage`.

The cap is spent like money. `take_call` checks and increments in one guarded
UPDATE inside BEGIN IMMEDIATE, so two processes can never both take the last
call; `give_back` returns a call that xAI certainly did not bill. Tokens and
the cache hit/miss/fallback counters live on the same row. Days turn at
00:00 UTC, so a new day simply starts a new row.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlite_utils import Database

from rtsales.clock import iso, to_utc
from rtsales.store import transaction

API = "xai"  # the name of its cooldown and its worker lock
DAY = timedelta(days=1)
COUNTERS = ("cache_hits", "cache_misses", "fallbacks")


@dataclass(frozen=True)
class TokenUsage:
    prompt: int = 0
    completion: int = 0
    reasoning: int = 0


@dataclass(frozen=True)
class DailyUsage:
    day: str
    calls: int = 0
    tokens: TokenUsage = field(default_factory=TokenUsage)
    cache_hits: int = 0
    cache_misses: int = 0
    fallbacks: int = 0


def day_key(now: datetime) -> str:
    """The UTC day an instant falls in: 'YYYY-MM-DD'."""
    return to_utc(now).strftime("%Y-%m-%d")


def next_reset(now: datetime) -> datetime:
    """The next 00:00 UTC strictly after `now`."""
    return to_utc(now).replace(hour=0, minute=0, second=0, microsecond=0) + DAY


def _ensure_row(conn: sqlite3.Connection, day: str, now: datetime) -> None:
    conn.execute("INSERT INTO xai_daily_usage (day_utc, updated_at) VALUES (?, ?) "
                 "ON CONFLICT(day_utc) DO NOTHING", [day, iso(now)])


def take_call(db: Database, day: str, limit: int, now: datetime) -> bool:
    """Take one call from `day`'s cap; False, and nothing changed, when none is left."""
    with transaction(db) as conn:
        _ensure_row(conn, day, now)
        taken = conn.execute("UPDATE xai_daily_usage SET calls = calls + 1, updated_at = ? "
                             "WHERE day_utc = ? AND calls < ?", [iso(now), day, limit]).rowcount
    return taken == 1


def give_back(db: Database, day: str, now: datetime) -> None:
    """Return a call taken on `day` that xAI certainly did not bill."""
    with transaction(db) as conn:
        conn.execute("UPDATE xai_daily_usage SET calls = calls - 1, updated_at = ? "
                     "WHERE day_utc = ? AND calls > 0", [iso(now), day])


def record_tokens(db: Database, day: str, tokens: TokenUsage, now: datetime) -> None:
    with transaction(db) as conn:
        _ensure_row(conn, day, now)
        conn.execute("UPDATE xai_daily_usage SET prompt_tokens = prompt_tokens + ?, "
                     "completion_tokens = completion_tokens + ?, reasoning_tokens = reasoning_tokens + ?, "
                     "updated_at = ? WHERE day_utc = ?",
                     [tokens.prompt, tokens.completion, tokens.reasoning, iso(now), day])


def bump(db: Database, day: str, counter: str, now: datetime) -> None:
    """Add one to a cache_hits / cache_misses / fallbacks counter of `day`."""
    if counter not in COUNTERS:
        raise ValueError(f"unknown counter {counter!r}")
    with transaction(db) as conn:
        _ensure_row(conn, day, now)
        conn.execute(f"UPDATE xai_daily_usage SET {counter} = {counter} + 1, updated_at = ? "
                     "WHERE day_utc = ?", [iso(now), day])


_COLUMNS = ("day_utc, calls, prompt_tokens, completion_tokens, reasoning_tokens, "
            "cache_hits, cache_misses, fallbacks")


def _usage(row: tuple[int | str, ...]) -> DailyUsage:
    day, calls, prompt, completion, reasoning, hits, misses, fallbacks = row
    return DailyUsage(day=str(day), calls=int(calls), tokens=TokenUsage(int(prompt), int(completion), int(reasoning)),
                      cache_hits=int(hits), cache_misses=int(misses), fallbacks=int(fallbacks))


def usage_for(db: Database, day: str) -> DailyUsage:
    """Everything counted on `day`; zeros for a day with no activity."""
    row = db.conn.execute(f"SELECT {_COLUMNS} FROM xai_daily_usage WHERE day_utc = ?", [day]).fetchone()
    return _usage(row) if row else DailyUsage(day=day)


def cache_counters(db: Database, since_day: str) -> list[dict[str, int | str]]:
    """Cache hits and misses per UTC day from `since_day` on, newest first."""
    rows = db.conn.execute(f"SELECT {_COLUMNS} FROM xai_daily_usage WHERE day_utc >= ? "
                           "ORDER BY day_utc DESC", [since_day]).fetchall()
    return [{"day": u.day, "hits": u.cache_hits, "misses": u.cache_misses} for u in map(_usage, rows)]
