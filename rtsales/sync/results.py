"""What one sync cycle did: per marketplace, and for the run as a whole.

`SyncResult` also says how the run ended (`outcome`), the exit code that tells cron
the truth about it, and the `Summary` the run history keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rtsales.sync.runs import Summary
from rtsales.sync.windows import Tally


@dataclass
class MarketplaceOutcome:
    marketplace_id: str
    state: str = "worked"  # worked | lock_busy | lock_lost
    holder: str | None = None
    stolen_from: str | None = None
    tally: Tally = field(default_factory=Tally)
    ledger: dict[str, int] = field(default_factory=dict)
    newest_age_minutes: int | None = None  # how long ago the newest hour held of the run's first kind ended
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> {ledger, newest_age_minutes}


@dataclass
class SyncResult:
    started_at: str
    marketplaces: list[MarketplaceOutcome] = field(default_factory=list)
    skipped: str | None = None  # cooldown | lock_busy
    cooldown_until: str | None = None
    quota_hit: str | None = None
    out_of_tokens: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    audits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """How the run ended (the run history's outcome): skipped, every lease lost, every window it
        tried failed (failures) or some (partial), a 429 before anything succeeded, or ok."""
        if self.skipped:
            return self.skipped
        if not any(m.state == "worked" for m in self.marketplaces):
            return "lock_lost"
        done = sum(m.tally.hours_applied + m.tally.reports_created for m in self.marketplaces)
        if self.hours_failed:
            return "partial" if done else "failures"
        if self.quota_hit and not done:
            return "cooldown"
        return "ok" if self.calls or self.out_of_tokens else "nothing_to_do"

    @property
    def exit_code(self) -> int:
        """1 when the run tried and nothing succeeded; 75 (cron retries) when it was skipped, lost
        every lease or was stopped by a 429 before anything succeeded; else 0."""
        return _EXIT_CODES.get(self.outcome, 0)

    @property
    def hours_failed(self) -> int:
        return sum(m.tally.hours_failed for m in self.marketplaces)

    def first_error(self) -> str | None:
        """The line the run history keeps: the 429, or the first window's error."""
        errors = [e for m in self.marketplaces for e in m.tally.errors]
        if self.hours_failed and errors:
            return f"{self.hours_failed} hour(s) failed: {errors[0]}"
        return self.quota_hit

    def summary(self) -> Summary:
        return Summary(self.outcome, self.exit_code, dict(self.calls), 1 if self.quota_hit else 0,
                            sum(m.tally.hours_applied for m in self.marketplaces), self.hours_failed,
                            self.first_error())


_EXIT_CODES = {"failures": 1, "cooldown": 75, "lock_busy": 75, "lock_lost": 75}
