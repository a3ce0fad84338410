"""The one source of "now" and the time formats rtsales stores.

`RTSALES_NOW` (through Settings) gives a FrozenClock: time stands still for the
whole run and sleeping is a no-op, so tests and replays never wait for real time.
Settings keep "now" between EARLIEST and LATEST, so adding any configured duration
to it stays far from datetime's limits; `later` saturates for the rest.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

HOUR = timedelta(hours=1)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # the range RTSALES_NOW may take
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


class Clock(Protocol):
    frozen: bool

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real UTC time."""

    frozen = False

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FrozenClock:
    """A fixed instant that only moves when told to (tests, demo, RTSALES_NOW)."""

    frozen = True

    def __init__(self, instant: datetime):
        self.instant = to_utc(instant)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.instant

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def advance(self, delta: timedelta) -> None:
        self.instant += delta


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp has no time zone; add 'Z' for UTC")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first UTC instant Python has
        raise ValueError(f"timestamp out of range: {value.isoformat()}") from None


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant with a zone ('2026-01-02T03:04:05Z')."""
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"not an ISO-8601 timestamp: {text!r}") from None
    return to_utc(value)


def later(instant: datetime, delta: timedelta) -> datetime:
    """`instant + delta` (delta >= 0), or the last instant Python can hold instead of an OverflowError."""
    try:
        return instant + delta
    except OverflowError:
        return _LAST


def iso(value: datetime) -> str:
    """Second-precision UTC text, the form every timestamp column stores."""
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def show_instant(instant: datetime | str | None, now: datetime | str) -> str:
    """An instant for people: '16:52 UTC' on now's UTC day, '2026-12-04 16:52 UTC' on any other.

    A bare time of another day reads as today's: after the clock went back by days, a
    cooldown three days away showed as "until 16:52 UTC". Text that is not an instant
    (a hand edit) is shown as it is; None is '?'.
    """
    if instant is None:
        return "?"
    try:
        value = to_utc(instant) if isinstance(instant, datetime) else parse_instant(instant)
        today = to_utc(now) if isinstance(now, datetime) else parse_instant(now)
    except ValueError:
        return str(instant)
    return value.strftime("%H:%M UTC" if value.date() == today.date() else "%Y-%m-%d %H:%M UTC")


def format_duration(seconds: float) -> str:
    """'45s', '3m 05s', '2h 10m': how long a wait is, for people."""
    seconds = 0 if math.isnan(seconds) else round(min(max(seconds, 0.0), 1e12))  # round(inf) would raise
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def floor_hour(value: datetime) -> datetime:
    return to_utc(value).replace(minute=0, second=0, microsecond=0)


def hour_key(value: datetime) -> str:
    """The `hour_utc` column form: 'YYYY-MM-DDTHH:00:00Z'."""
    return iso(floor_hour(value))


def parse_hour(text: str) -> datetime:
    value = parse_instant(text)
    if value != floor_hour(value):
        raise ValueError(f"not a whole UTC hour: {text!r}")
    return value


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    """Whole hours h with start <= h < end."""
    out: list[datetime] = []
    cursor = floor_hour(start)
    if cursor < start:
        cursor += HOUR
    while cursor < end:
        out.append(cursor)
        cursor += HOUR
    return out
