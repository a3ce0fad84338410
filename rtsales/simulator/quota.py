"""SP-API usage plans as token buckets that refill in simulated time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # requests per second
    burst: int

    @property
    def header(self) -> str:
        """The `x-amzn-RateLimit-Limit` value."""
        return f"{self.rate:g}"


USAGE_PLANS: dict[str, UsagePlan] = {
    "createReport": UsagePlan(0.0167, 15),
    "getReport": UsagePlan(2.0, 15),
    "getReportDocument": UsagePlan(0.0167, 15),
    "getReports": UsagePlan(0.0222, 10),
}


@dataclass
class TokenBucket:
    """Starts full; refills continuously at `plan.rate`; a request takes one token."""

    plan: UsagePlan
    tokens: float = field(init=False)
    updated: datetime | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.plan.burst)

    def _refill(self, now: datetime) -> None:
        if self.updated is not None:
            elapsed = max(0.0, (now - self.updated).total_seconds())
            self.tokens = min(float(self.plan.burst), self.tokens + elapsed * self.plan.rate)
        if self.updated is None or now > self.updated:
            self.updated = now

    def take(self, now: datetime) -> bool:
        """Take one token if there is one; an empty bucket consumes nothing."""
        self._refill(now)
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True
