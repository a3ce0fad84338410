"""The Keepa token status: parsed from every response, kept in SQLite, projected forward.

Keepa refills `refillRate` tokens once a minute, the first time `refillIn` ms
after the response, and lets unused tokens expire after an hour, so the balance
never grows past 60 refills. From one stored status the balance at any later
instant, and the instant a balance is reached, follow exactly: no polling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from rtsales.clock import parse_instant, to_utc
from rtsales.errors import KeepaError
from rtsales.store import transaction

MINUTE = timedelta(minutes=1)
FRESH_FOR = timedelta(seconds=60)
REFILLS_KEPT = 60  # tokens expire after an hour of minute refills

_FIELDS = ("tokensLeft", "refillIn", "refillRate")


@dataclass(frozen=True)
class TokenStatus:
    tokens_left: int
    refill_in_ms: int
    refill_rate: int
    token_flow_reduction: float
    tokens_consumed: int
    server_timestamp_ms: int | None
    observed_at: datetime  # our clock when the response arrived: projections use it

    @property
    def effective_rate(self) -> float:
        # Whether refillRate already nets out tracking's flow reduction is not documented;
        # subtracting it can only under-estimate the refill, never over-spend.
        return max(0.0, self.refill_rate - self.token_flow_reduction)

    @property
    def cap(self) -> float:
        return REFILLS_KEPT * self.effective_rate

    def age(self, now: datetime) -> timedelta:
        return now - self.observed_at

    def is_fresh(self, now: datetime) -> bool:
        return self.age(now) < FRESH_FOR


def from_body(body: dict[str, Any], observed_at: datetime) -> TokenStatus:
    """The token fields every Keepa JSON body carries; KeepaError when they are missing."""
    if any(not isinstance(body.get(name), (int, float)) for name in _FIELDS):
        raise KeepaError("Keepa response has no token status (tokensLeft, refillIn, refillRate)")
    timestamp = body.get("timestamp")
    return TokenStatus(
        tokens_left=int(body["tokensLeft"]),
        refill_in_ms=max(0, int(body["refillIn"])),
        refill_rate=int(body["refillRate"]),
        token_flow_reduction=float(body.get("tokenFlowReduction") or 0.0),
        tokens_consumed=int(body.get("tokensConsumed") or 0),
        server_timestamp_ms=int(timestamp) if isinstance(timestamp, (int, float)) else None,
        observed_at=to_utc(observed_at),
    )


def _first_refill(status: TokenStatus) -> datetime:
    return status.observed_at + timedelta(milliseconds=status.refill_in_ms)


def refills_by(status: TokenStatus, when: datetime) -> int:
    first = _first_refill(status)
    return 0 if when < first else 1 + (when - first) // MINUTE


def projected_balance(status: TokenStatus, when: datetime) -> float:
    """The balance at `when` if nobody spends meanwhile (capped by the hourly expiry)."""
    grown = status.tokens_left + refills_by(status, when) * status.effective_rate
    return min(grown, max(float(status.tokens_left), status.cap))


def next_refill(status: TokenStatus, when: datetime) -> datetime:
    return _first_refill(status) + refills_by(status, when) * MINUTE


def reached_at(status: TokenStatus, when: datetime, target: float) -> datetime | None:
    """The first refill instant at which the balance reaches `target`; None if it never can."""
    if projected_balance(status, when) >= target:
        return when
    if status.effective_rate <= 0 or target > max(status.cap, status.tokens_left):
        return None
    refills = math.ceil((target - status.tokens_left) / status.effective_rate)
    return _first_refill(status) + (refills - 1) * MINUTE


def load(db: Database) -> TokenStatus | None:
    row = db.conn.execute(
        "SELECT tokens_left, refill_in_ms, refill_rate, token_flow_reduction, tokens_consumed, "
        "server_timestamp_ms, observed_at FROM keepa_token_status WHERE id = 1").fetchone()
    if row is None:
        return None
    left, refill_in, rate, reduction, consumed, server_ms, observed = row
    return TokenStatus(left, refill_in, rate, reduction, consumed, server_ms, parse_instant(observed))


def save(db: Database, status: TokenStatus) -> None:
    """Keep the newest status; an older one (another process was faster) is ignored."""
    with transaction(db) as conn:
        conn.execute(
            "INSERT INTO keepa_token_status VALUES (1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "tokens_left = excluded.tokens_left, refill_in_ms = excluded.refill_in_ms, "
            "refill_rate = excluded.refill_rate, token_flow_reduction = excluded.token_flow_reduction, "
            "tokens_consumed = excluded.tokens_consumed, server_timestamp_ms = excluded.server_timestamp_ms, "
            "observed_at = excluded.observed_at WHERE excluded.observed_at >= keepa_token_status.observed_at",
            [status.tokens_left, status.refill_in_ms, status.refill_rate, status.token_flow_reduction,
             status.tokens_consumed, status.server_timestamp_ms, _stamp(status.observed_at)])


def _stamp(value: datetime) -> str:
    # Microseconds always written, so text order is time order and refill math keeps its ms.
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
