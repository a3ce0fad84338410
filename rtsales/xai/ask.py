"""Answering a product question through the cache, the daily cap and the `xai` lock.

Order: cache (a hit is free, counts against nothing and needs no key) -> key
check -> cooldown -> take one call from today's cap (atomic) -> worker lock
`xai` -> one chat completion (its retries are the same call) -> tokens, cache
and success recorded.

The taken call is given back when xAI certainly did no billable work: the lock
was busy, the connection never opened, or xAI refused the request with a 4xx
(bad key, rate limit, credits used up). An answer, a 5xx, a timeout after
sending, or an interruption keeps it counted: the cap errs on the side of money.

When no call is allowed (cap reached, cooldown, credits just found used up) the
configured XAI_FALLBACK_ANSWER is returned, marked as a fallback with the
reason; without one the ask fails with exit 75.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlite_utils import Database

from rtsales.clock import Clock, format_duration, iso, show_instant
from rtsales.config import Settings
from rtsales.errors import (CooldownActiveError, LockBusyError, RtsalesError, UsageError,
                            XaiCreditsExhaustedError, XaiError, XaiQuotaExhaustedError)
from rtsales.lock import acquire, owner_name, release
from rtsales.quota import active_cooldown, record_success, start_cooldown
from rtsales.xai.cache import ProductFacts, cache_key, lookup, store
from rtsales.xai.client import Completion, XaiClient
from rtsales.xai.usage import API, bump, day_key, give_back, next_reset, record_tokens, take_call


@dataclass(frozen=True)
class AskResult:
    question: str
    answer: str
    source: str  # "cache", "xai" or "fallback"
    model: str | None  # the model that gave the answer; None for a fallback
    answered_at: str  # when xAI answered (a cached answer keeps its time)
    fallback_reason: str | None = None

    @property
    def from_cache(self) -> bool:
        return self.source == "cache"

    def as_dict(self) -> dict[str, Any]:
        return {"ok": True, **asdict(self), "from_cache": self.from_cache}


def ask(db: Database, settings: Settings, clock: Clock, question: str, facts: ProductFacts = ProductFacts(),
        transport: httpx.BaseTransport | None = None) -> AskResult:
    """Answer `question` (about the product in `facts`, if any) as cheaply as the rules allow."""
    question = question.strip()
    if not question:
        raise UsageError("the question is empty", hint='rtsales xai ask "Is this title a textbook?" --title ...')
    now, key = clock.now(), cache_key(question, facts)
    day = day_key(now)
    hit = lookup(db, key)
    if hit is not None:
        bump(db, day, "cache_hits", now)
        return AskResult(question, hit.answer, "cache", hit.model, hit.created_at)
    settings.require_xai()  # before counting the miss: a refused ask writes nothing
    bump(db, day, "cache_misses", now)
    refusal = _refusal(db, settings, now, day)
    if refusal is not None:
        return _fallback(db, settings, question, refusal, day, now)
    try:
        completion = _call(db, settings, clock, build_prompt(question, facts), day, transport)
    except XaiCreditsExhaustedError as exc:
        return _fallback(db, settings, question, _credits_cooldown(db, settings, clock.now(), exc), day, now)
    _remember(db, key, question, completion, day, clock.now())
    return AskResult(question, completion.answer, "xai", completion.model, iso(clock.now()))


def build_prompt(question: str, facts: ProductFacts) -> str:
    lines = [question]
    for label, value in (("Title", facts.title), ("Category", facts.category), ("Season", facts.season),
                         ("Price", None if facts.price is None else f"{facts.price:.2f}")):
        if value:
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def _refusal(db: Database, settings: Settings, now: datetime, day: str) -> RtsalesError | None:
    """Why no call may be made now, or None after taking one call from today's cap."""
    cooldown = active_cooldown(db, API, now, timedelta(minutes=settings.quota_cooldown_max_minutes))
    if cooldown is not None:
        return CooldownActiveError(f"xAI is cooling down until {show_instant(cooldown.until, now)}: {cooldown.reason}",
                                   hint=f"no xAI calls for {format_duration((cooldown.until - now).total_seconds())}; "
                                        "cron will retry")
    if take_call(db, day, settings.xai_daily_limit, now):
        return None
    return XaiQuotaExhaustedError(
        f"daily limit of {settings.xai_daily_limit} xAI calls reached for {day} (UTC)",
        hint=f"resets at 00:00 UTC, in {format_duration((next_reset(now) - now).total_seconds())}; "
             "set XAI_FALLBACK_ANSWER for a safe default, or raise XAI_DAILY_LIMIT")


def _fallback(db: Database, settings: Settings, question: str, reason: RtsalesError, day: str,
              now: datetime) -> AskResult:
    if settings.xai_fallback_answer is None:
        raise reason
    bump(db, day, "fallbacks", now)
    return AskResult(question, settings.xai_fallback_answer, "fallback", None, iso(now),
                     fallback_reason=reason.message)


def _call(db: Database, settings: Settings, clock: Clock, prompt: str, day: str,
          transport: httpx.BaseTransport | None) -> Completion:
    """One completion under the `xai` lease; gives the taken call back when xAI billed nothing."""
    owner = owner_name("xai")
    lease = acquire(db, API, owner, clock.now(), timedelta(minutes=settings.lock_ttl_minutes))
    if not lease.acquired:
        give_back(db, day, clock.now())
        raise LockBusyError(f"another rtsales process ({lease.holder}) is calling xAI",
                            hint=f"its lease ends by {show_instant(lease.expires_at, clock.now())}; try again then")
    client = XaiClient(settings, clock, transport)
    try:
        return client.complete(prompt)
    except XaiError as exc:
        if not exc.may_have_cost:
            give_back(db, day, clock.now())
        raise
    finally:
        client.close()
        release(db, API, owner)


def _credits_cooldown(db: Database, settings: Settings, now: datetime,
                      exc: XaiCreditsExhaustedError) -> XaiCreditsExhaustedError:
    cooldown = start_cooldown(db, API, now, timedelta(minutes=settings.quota_cooldown_minutes),
                              timedelta(minutes=settings.quota_cooldown_max_minutes), reason=exc.message)
    exc.message = f"{exc.message}; no xAI calls until {show_instant(cooldown.until, now)}"
    return exc


def _remember(db: Database, key: str, question: str, completion: Completion, day: str, now: datetime) -> None:
    # Tokens go to the day the call was taken from, even if the answer arrived after midnight.
    record_tokens(db, day, completion.tokens, now)
    store(db, key, question, completion.answer, completion.model, now)
    record_success(db, API)
