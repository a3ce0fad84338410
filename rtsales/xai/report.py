"""`rtsales xai quota`: today's calls, tokens and cache counters, read-only and key-free.

Plain data in, plain data out; `render.xai_quota` draws it, `--json` prints it.
Kept apart from the client so that reading the quota never imports httpx.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from rtsales.clock import format_duration, iso
from rtsales.config import Settings
from rtsales.quota import active_cooldown
from rtsales.xai.cache import entry_count
from rtsales.xai.usage import API, day_key, next_reset, usage_for


def _cooldown(db: Database, now: datetime, longest: timedelta) -> dict[str, Any] | None:
    cooldown = active_cooldown(db, API, now, longest)
    if cooldown is None:
        return None
    return {"reason": cooldown.reason, "until_utc": iso(cooldown.until),
            "seconds_left": int((cooldown.until - now).total_seconds()),
            "ends_in": format_duration((cooldown.until - now).total_seconds())}


def quota_report(db: Database, settings: Settings, now: datetime) -> dict[str, Any]:
    usage = usage_for(db, day_key(now))
    reset = next_reset(now)
    return {
        "ok": True, "now_utc": iso(now), "day_utc": usage.day,
        "calls_today": usage.calls, "daily_limit": settings.xai_daily_limit,
        "calls_left": max(0, settings.xai_daily_limit - usage.calls),
        "resets_at_utc": iso(reset), "seconds_to_reset": int((reset - now).total_seconds()),
        "resets_in": format_duration((reset - now).total_seconds()),
        "tokens_today": {"prompt": usage.tokens.prompt, "completion": usage.tokens.completion,
                         "reasoning": usage.tokens.reasoning},
        "cache_entries": entry_count(db), "cache_hits_today": usage.cache_hits,
        "cache_misses_today": usage.cache_misses, "fallbacks_today": usage.fallbacks,
        "model": settings.xai_model, "fallback_answer": settings.xai_fallback_answer,
        "cooldown": _cooldown(db, now, timedelta(minutes=settings.quota_cooldown_max_minutes)),
    }
