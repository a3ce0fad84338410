"""Which hours of a report kind may be asked for at an instant: the settings and the kind's schema.

SAFETY_LAG_MINUTES and MAX_DATA_AGE_HOURS apply to every kind; a kind's schema may ask for
more (traffic: the window ends at least 60 minutes before the request; inventory: it starts
at most 168 hours before it and spans at most 24 hours). The stricter one wins. Ages are
measured from the run's deadline, so a request sent late in a run is covered too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rtsales.clock import HOUR, floor_hour
from rtsales.config import Settings
from rtsales.kinds import KINDS
from rtsales.sync.ledger import newest_wanted_hour, oldest_fetchable_hour


@dataclass(frozen=True)
class Reach:
    settings: Settings
    deadline: datetime  # the latest instant a request of this run may be sent
    fill: bool = False  # fill-day: any hour Amazon still serves, not only the lookback

    def lag(self, kind: str) -> timedelta:
        """How long after an hour's end it is first asked for."""
        least = KINDS[kind].limits.min_end_age or timedelta(0)
        return max(timedelta(minutes=self.settings.safety_lag_minutes), least)

    def newest(self, now: datetime, kind: str) -> datetime:
        """The newest hour of `kind` that may be asked for at `now`."""
        return newest_wanted_hour(now, self.lag(kind))

    def max_age(self, kind: str | None) -> timedelta:
        """MAX_DATA_AGE_HOURS, or the kind's schema limit when that is shorter (None: any kind)."""
        configured = timedelta(hours=self.settings.max_data_age_hours)
        schema = KINDS[kind].limits.max_data_age if kind else None
        return configured if schema is None else min(configured, schema)

    def fetchable(self, now: datetime, kind: str | None = None) -> datetime:
        """The oldest hour of `kind` (None: MAX_DATA_AGE_HOURS alone) that no request of this run
        may be refused for its age."""
        return oldest_fetchable_hour(max(now, self.deadline), self.max_age(kind))

    def oldest(self, now: datetime, kind: str) -> datetime:
        """The oldest hour of `kind` to claim: the lookback (fill-day: any hour still fetchable)."""
        lookback = floor_hour(now - timedelta(days=self.settings.lookback_days))
        fetchable = self.fetchable(now, kind)
        return fetchable if self.fill else max(lookback, fetchable)

    def max_hours(self, kind: str) -> int:
        """The widest window: MAX_WINDOW_HOURS, or the kind's schema limit when that is smaller."""
        schema = KINDS[kind].window_limit_hours
        return min(self.settings.max_window_hours, schema or self.settings.max_window_hours)

    def age_reason(self, kind: str) -> str:
        """The last_error of an hour retired for its age."""
        if self.max_age(kind) < timedelta(hours=self.settings.max_data_age_hours):
            return f"older than the {self.max_age(kind) / HOUR:g} h of {kind} data Amazon's schema allows"
        return f"older than the {self.settings.max_data_age_hours} h of data Amazon serves (MAX_DATA_AGE_HOURS)"
