"""Spending quota like money: persisted cooldowns per API and token buckets per operation.

Both live in the database so every process, and every later cron run, honours
them. A cooldown doubles when the first call after one hits 429 again (capped)
and resets on success. Buckets refill continuously at the documented rate until
Amazon names the rate it applies (x-amzn-RateLimit-Limit; it may differ): that
learned rate is kept in rtsales_state ('rate:<api>:<operation>') and used from
then on; the burst stays the documented one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlite_utils import Database

from rtsales.clock import Clock, format_duration, iso, later, parse_instant, show_instant
from rtsales.errors import SpApiQuotaError
from rtsales.store import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cooldown:
    api: str
    reason: str
    until: datetime
    consecutive_hits: int


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # requests per second
    burst: int


# Amazon's documented defaults for the Reports API 2021-06-30.
SPAPI_PLANS: dict[str, UsagePlan] = {
    "createReport": UsagePlan(rate=0.0167, burst=15),
    "getReport": UsagePlan(rate=2.0, burst=15),
    "getReportDocument": UsagePlan(rate=0.0167, burst=15),
}


MAX_HITS = 1_000_000  # a stored count beyond this (a hand edit) doubles no further anyway
MAX_WAIT_SECONDS = 86_400.0  # a longer wait for one token is re-checked after a day, never overflows


def doubled(base: timedelta, doublings: int, cap: timedelta) -> timedelta:
    """min(base * 2**doublings, cap), decided before multiplying: 2**doublings may be astronomically large."""
    factor = 2 ** min(max(doublings, 0), 64)  # 2**64 times any positive base is past every cap
    return cap if base.total_seconds() * factor >= cap.total_seconds() else base * factor


def usable_rate(rate: float) -> bool:
    """A rate a bucket can refill at: finite and above zero."""
    return math.isfinite(rate) and rate > 0


def learned_rates(db: Database, api: str) -> dict[str, float]:
    """operation -> the applied rate Amazon last named for it; a garbled value is skipped."""
    prefix = f"rate:{api}:"
    rates: dict[str, float] = {}
    for key, value in db.conn.execute("SELECT key, value FROM rtsales_state WHERE key LIKE 'rate:%'"):
        try:
            rate = float(value)
        except ValueError:
            continue
        if key.startswith(prefix) and usable_rate(rate):
            rates[key.removeprefix(prefix)] = rate
    return rates


def _save_rate(db: Database, api: str, operation: str, rate: float, now: datetime) -> None:
    with transaction(db) as conn:
        conn.execute("INSERT OR REPLACE INTO rtsales_state VALUES (?, ?, ?)",
                     [f"rate:{api}:{operation}", repr(rate), iso(now)])


def _row(db: Database, api: str) -> Cooldown | None:
    row = db.conn.execute("SELECT reason, until_utc, consecutive_hits FROM api_cooldowns WHERE api = ?",
                          [api]).fetchone()
    return Cooldown(api, row[0], parse_instant(row[1]), row[2]) if row else None


_reported: set[tuple[str, datetime]] = set()  # far-off cooldowns already logged by this process


def active_cooldown(db: Database, api: str, now: datetime, longest: timedelta | None = None) -> Cooldown | None:
    """The cooldown in force, or None.

    One ending more than `longest` (the configured maximum) after now was stored before
    the clock went back by more than that: no cooldown rtsales sets lasts so long, so it
    counts as over, or every run would wait days for it.
    """
    cooldown = _row(db, api)
    if cooldown is None or cooldown.until <= now:
        return None
    if longest is not None and cooldown.until > later(now, longest):
        if (api, cooldown.until) not in _reported:  # checked before every request: say it once
            _reported.add((api, cooldown.until))
            log.warning("ignoring the stored %s cooldown until %s: it ends more than QUOTA_COOLDOWN_MAX_MINUTES "
                        "(%d min) from now (%s); clock set back?", api, show_instant(cooldown.until, now),
                        longest.total_seconds() // 60, show_instant(now, now))
        return None
    return cooldown



def start_cooldown(db: Database, api: str, now: datetime, base: timedelta, cap: timedelta,
                   reason: str = "quota") -> Cooldown:
    """Record a quota hit. Still on probation from the last cooldown (no success since)? Double it."""
    with transaction(db) as conn:
        row = conn.execute("SELECT consecutive_hits, until_utc FROM api_cooldowns WHERE api = ?",
                           [api]).fetchone()
        if row and now < parse_instant(row[1]) <= later(now, cap):
            return Cooldown(api, reason, parse_instant(row[1]), row[0])  # already cooling down
        hits = min(max(row[0] if row else 0, 0), MAX_HITS) + 1
        until = later(now, doubled(base, hits - 1, cap))
        conn.execute("INSERT INTO api_cooldowns VALUES (?, ?, ?, ?, ?) ON CONFLICT(api) DO UPDATE SET "
                     "reason = excluded.reason, until_utc = excluded.until_utc, "
                     "consecutive_hits = excluded.consecutive_hits, updated_at = excluded.updated_at",
                     [api, reason, iso(until), hits, iso(now)])
    return Cooldown(api, reason, until, hits)


def set_cooldown_until(db: Database, api: str, until: datetime, now: datetime, reason: str) -> None:
    """A cooldown whose end the API told us (e.g. Keepa's refill), not doubled."""
    with transaction(db) as conn:
        conn.execute("INSERT INTO api_cooldowns VALUES (?, ?, ?, 1, ?) ON CONFLICT(api) DO UPDATE SET "
                     "reason = excluded.reason, until_utc = excluded.until_utc, updated_at = excluded.updated_at",
                     [api, reason, iso(until), iso(now)])


def record_success(db: Database, api: str) -> None:
    """A successful call ends probation; cheap when there is nothing to reset."""
    with transaction(db) as conn:
        conn.execute("UPDATE api_cooldowns SET consecutive_hits = 0 WHERE api = ? AND consecutive_hits > 0",
                     [api])


def take_token(db: Database, operation: str, plan: UsagePlan, now: datetime) -> float:
    """Take one request token; return 0.0 on success or the seconds until one is available."""
    with transaction(db) as conn:
        row = conn.execute("SELECT tokens, updated_at FROM api_rate_buckets WHERE operation = ?",
                           [operation]).fetchone()
        tokens = float(plan.burst)
        if row:
            elapsed = max(0.0, (now - parse_instant(row[1])).total_seconds())
            tokens = min(float(plan.burst), row[0] + elapsed * plan.rate)
        if tokens < 1.0:
            # rounded up to whole microseconds (a clock's resolution) so the wait really refills one token
            return math.ceil(min((1.0 - tokens) / plan.rate, MAX_WAIT_SECONDS) * 1e6) / 1e6
        conn.execute("INSERT INTO api_rate_buckets VALUES (?, ?, ?) ON CONFLICT(operation) DO UPDATE SET "
                     "tokens = excluded.tokens, updated_at = excluded.updated_at",
                     [operation, tokens - 1.0, now.isoformat()])  # full precision: refill math
    return 0.0


class OutOfTokens(Exception):
    """This run may not wait for the next token (frozen clock or time budget): stop that work."""

    def __init__(self, operation: str, wait_seconds: float):
        super().__init__(f"{operation}: next token in {wait_seconds:.0f}s")
        self.operation = operation
        self.wait_seconds = wait_seconds


BUDGETED = frozenset({"createReport", "getReportDocument"})  # QUOTA_BUDGET_PERCENT applies to these


class Pacer:
    """Before every request: honour another process's cooldown, then take one persisted token.

    Waits for refills only when the clock and the run's time budget allow.
    """

    def __init__(self, db: Database, clock: Clock, deadline: datetime,
                 plans: dict[str, UsagePlan], on_wait: Callable[[], None] | None = None, api: str = "spapi",
                 share: float = 1.0, longest_cooldown: timedelta | None = None):
        self._db, self._clock, self._deadline = db, clock, deadline
        self._on_wait, self._api, self._longest = on_wait, api, longest_cooldown
        self._share = share  # cron's budget: this part of the plan's rate for the operations that cost reports
        learned = learned_rates(db, api)
        self._plans = {op: replace(plan, rate=learned.get(op, plan.rate)) for op, plan in plans.items()}
        self._confirmed: set[str] = set()  # operations whose rate this process has saved
        self.waited = 0.0

    def learn(self, operation: str, rate: float) -> None:
        """Amazon applied `rate` to `operation`: refill at it from now on, here and in later processes."""
        plan = self._plans.get(operation)
        if plan is None or not usable_rate(rate) or (operation in self._confirmed and rate == plan.rate):
            return  # no documented burst to keep, a nonsense figure, or nothing new
        self._plans[operation] = replace(plan, rate=rate)
        self._confirmed.add(operation)
        _save_rate(self._db, self._api, operation, rate, self._clock.now())

    def __call__(self, operation: str) -> None:
        now = self._clock.now()
        cooldown = active_cooldown(self._db, self._api, now, self._longest)
        if cooldown is not None:  # another process hit a 429 while this one was running
            raise CooldownStarted(operation, cooldown.until, now)
        plan = self._plans.get(operation)
        if plan is None:
            return
        if operation in BUDGETED:
            plan = replace(plan, rate=plan.rate * self._share)
        while (wait := take_token(self._db, operation, plan, self._clock.now())) > 0:
            if self._clock.frozen or wait > (self._deadline - self._clock.now()).total_seconds():
                raise OutOfTokens(operation, wait)
            log.debug("waiting %s for a %s token (usage plan)", format_duration(wait), operation)
            self._clock.sleep(wait)
            self.waited += wait
            if self._on_wait:
                self._on_wait()


class CooldownStarted(SpApiQuotaError):
    """The persisted cooldown began during this run (someone else's 429): stop like after our own."""

    def __init__(self, operation: str, until: datetime, now: datetime):
        super().__init__(f"{operation}: another process hit the SP-API quota; cooling down until "
                         f"{show_instant(until, now)}",
                         status=429, code="QuotaExceeded")


ACCESS_ERROR_KEY = "spapi_access_error"  # rtsales_state: a credentials or role refusal, kept until a run succeeds


def remember_access_error(db: Database, text: str | None, now: datetime) -> None:
    """Record why Amazon refused the last run (None: a run succeeded, forget it)."""
    with transaction(db) as conn:
        if text is None:
            conn.execute("DELETE FROM rtsales_state WHERE key = ?", [ACCESS_ERROR_KEY])
            return
        conn.execute("INSERT INTO rtsales_state VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                     "value = excluded.value", [ACCESS_ERROR_KEY, text, iso(now)])


def access_error(db: Database) -> dict[str, str] | None:
    """{"error", "since"} of the refusal that ended the last run, or None."""
    row = db.conn.execute("SELECT value, updated_at FROM rtsales_state WHERE key = ?", [ACCESS_ERROR_KEY]).fetchone()
    return {"error": row[0], "since": row[1]} if row else None
