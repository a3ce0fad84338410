"""`rtsales keepa balance`: the projected token balance and what a request of cost N would meet.

A status younger than 60 s is projected and no call is made. An older one is
refreshed through the free /token endpoint under the `keepa` lease; if another
process holds the lease, or a Keepa cooldown is on, the projection is shown instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlite_utils import Database

from rtsales.clock import Clock, iso
from rtsales.config import Settings
from rtsales.errors import LockBusyError
from rtsales.keepa import status as token_status
from rtsales.keepa.budget import API, TokenBudget, keepa_lease
from rtsales.keepa.client import KeepaClient
from rtsales.keepa.policy import Policy, decide
from rtsales.keepa.status import TokenStatus, next_refill, projected_balance, reached_at
from rtsales.quota import active_cooldown


def _refreshed(db: Database, settings: Settings, clock: Clock,
               transport: httpx.BaseTransport | None) -> TokenStatus:
    with keepa_lease(db, settings, clock, "keepa balance"):
        client = KeepaClient(settings, clock, TokenBudget(db, settings, clock), transport)
        try:
            return client.token_status()
        finally:
            client.close()


def _current_status(db: Database, settings: Settings, clock: Clock,
                    transport: httpx.BaseTransport | None) -> tuple[TokenStatus, str]:
    cached = token_status.load(db)
    if cached is not None and cached.is_fresh(clock.now()):
        return cached, "cache"
    if cached is not None and active_cooldown(db, API, clock.now()) is not None:
        return cached, "projection (keepa cooldown)"  # not even the free /token call during a cooldown
    try:
        return _refreshed(db, settings, clock, transport), "keepa"
    except LockBusyError:
        if cached is None:
            raise
        return cached, "projection (keepa lease busy)"


def _seconds(later: datetime | None, now: datetime) -> float | None:
    return None if later is None else max(0.0, (later - now).total_seconds())


def balance_report(db: Database, settings: Settings, clock: Clock, cost: int = 1,
                   transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """Plain data for the balance command and its --json."""
    settings.require_keepa()
    status, source = _current_status(db, settings, clock, transport)
    now = clock.now()
    policy = Policy.from_settings(settings)
    balance = projected_balance(status, now)
    decision = decide(policy, balance, cost)
    run_at = now if decision.approved else reached_at(status, now, decision.needed)
    cooldown = active_cooldown(db, API, now)
    if cooldown is not None and run_at is not None:
        run_at = max(run_at, cooldown.until)
    return {
        "ok": True, "now_utc": iso(now), "source": source,
        "status_age_seconds": round(status.age(now).total_seconds(), 1),
        "policy": policy.name, "threshold": policy.floor(),
        "tokens_left": balance, "reported_tokens_left": status.tokens_left,
        "refill_rate": status.refill_rate, "token_flow_reduction": status.token_flow_reduction,
        "refill_in_seconds": _seconds(next_refill(status, now), now),
        "seconds_until_threshold": _seconds(reached_at(status, now, policy.floor()), now),
        "cost": cost, "can_run_now": decision.approved and cooldown is None,
        "wait_seconds": _seconds(run_at, now), "run_at_utc": iso(run_at) if run_at else None,
        "reason": decision.reason, "warning": decision.warning,
        "cooldown_until": iso(cooldown.until) if cooldown else None,
    }
