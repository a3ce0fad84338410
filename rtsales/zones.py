"""Time zones people name on the command line (`--tz`): validated once, and UTC hours shown in them.

Only for display and for a business day's bounds: everything stored stays in UTC.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rtsales.clock import parse_instant
from rtsales.errors import UsageError


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or a one-line usage error (exit 2)."""
    try:
        return ZoneInfo(name)
    # OSError: ZoneInfo opens the name as a file path ("Europe" is a directory, a long name too long)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        shown = name if len(name) <= 60 else f"{name[:57]}..."
        raise UsageError(f"unknown time zone {shown!r}", hint="use an IANA name such as Europe/Berlin or UTC") from None


def local(instant: str, tz: ZoneInfo) -> datetime:
    return parse_instant(instant).astimezone(tz)


def local_iso(instant: str, tz: ZoneInfo) -> str:
    """'2026-03-08T00:00:00-05:00': the instant in `tz`, with its offset (for --json and --csv)."""
    return local(instant, tz).isoformat()


def local_label(instant: str, tz: ZoneInfo) -> str:
    """'2026-03-08 00:00 EST': date, hour and the zone's abbreviation, which also tells apart the
    two 01:00s of the night the clocks go back."""
    return local(instant, tz).strftime("%Y-%m-%d %H:%M %Z")
