"""How far the host clock is from Amazon's, read from the `Date` headers of SP-API answers.

A host clock ahead of Amazon's makes Amazon refuse windows whose dataEndTime is "in
the future". The SP-API client measures every answer; the engine keeps the latest
measure in rtsales_state (one write per run); `status` (and `doctor`) warn when it
is large and recent. Positive seconds: the host is ahead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from rtsales.clock import iso, parse_instant
from rtsales.store import transaction

KEY = "spapi_clock_skew_seconds"  # rtsales_state; updated_at is when it was measured
WARN_OVER = timedelta(minutes=2)  # Date has whole seconds and the answer takes a moment: smaller is noise
FRESH_FOR = timedelta(days=1)  # an older measure may no longer hold (NTP fixed it, or it broke later)


def measure(date_header: str | None, now: datetime) -> float | None:
    """Seconds the host clock (`now`, when the answer arrived) is ahead of the server's `Date`."""
    if not date_header:
        return None
    from email.utils import parsedate_to_datetime  # only the client measures; status and doctor only read

    try:
        stamp = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if stamp.tzinfo is None:  # '-0000' means "zone unknown": no comparison possible
        return None
    return round((now - stamp).total_seconds())


def save(db: Database, seconds: float, now: datetime) -> None:
    with transaction(db) as conn:
        conn.execute("INSERT OR REPLACE INTO rtsales_state VALUES (?, ?, ?)", [KEY, str(round(seconds)), iso(now)])


def recent(db: Database, now: datetime) -> int | None:
    """The last measured skew when it is worth a warning: over WARN_OVER and measured within FRESH_FOR."""
    row = db.execute("SELECT value, updated_at FROM rtsales_state WHERE key = ?", [KEY]).fetchone()
    if row is None:
        return None
    try:
        seconds, measured = int(float(row[0])), parse_instant(row[1])
    except ValueError:  # a hand edit: nothing to say
        return None
    if abs(seconds) <= WARN_OVER.total_seconds() or now - measured > FRESH_FOR:
        return None
    return seconds


def describe(seconds: int) -> str:
    """'host clock ahead of Amazon by about 10 min'."""
    side = "ahead of" if seconds > 0 else "behind"
    return f"host clock {side} Amazon by about {round(abs(seconds) / 60)} min"
