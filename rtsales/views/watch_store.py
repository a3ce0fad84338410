"""What `rtsales watch` remembers: the events it has reported, so that a cron line mails each once.

An event is a marketplace, an ASIN, a kind of flag and the hour it started. A flag found
now is the same event as a stored one of the same marketplace, ASIN and kind whose hours
overlap or touch its own: an event that goes on, or whose first hour moved when Amazon
revised an hour, is not new again. Remembering moves the stored event's last hour on and
inserts the new ones, in one short transaction: the only write `watch` makes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlite_utils import Database

from rtsales.clock import HOUR, hour_key, iso, parse_hour
from rtsales.errors import StoreError
from rtsales.store import transaction

TABLE = "rtsales_watch_flags"


class Reportable(Protocol):
    marketplace_id: str
    asin: str
    kind: str
    start_hour: str
    last_hour: str
    new: bool

    def evidence(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Remembered:
    """An event reported before: its hours so far."""

    marketplace_id: str
    asin: str
    kind: str
    start_hour: str
    last_hour: str

    def same_event(self, flag: Reportable) -> bool:
        """Same ASIN and kind, and hours that overlap or touch (the hour before the flag's first counts)."""
        return ((self.marketplace_id, self.asin, self.kind) == (flag.marketplace_id, flag.asin, flag.kind)
                and self.start_hour <= flag.last_hour
                and self.last_hour >= hour_key(parse_hour(flag.start_hour) - HOUR))


def remembered(db: Database, marketplace_id: str, since: datetime) -> list[Remembered]:
    """The marketplace's reported events that lasted into `since` or later."""
    rows = db.execute(f"SELECT marketplace_id, asin, kind, start_hour, last_hour FROM {TABLE} "
                      "WHERE marketplace_id = ? AND last_hour >= ?", [marketplace_id, hour_key(since)])
    return [Remembered(*row) for row in rows]


def flagged_hours(events: Iterable[Remembered]) -> dict[str, list[tuple[datetime, datetime]]]:
    """ASIN -> the [first, last] hours of its reported events: hours a baseline leaves out."""
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for event in events:
        spans[event.asin].append((parse_hour(event.start_hour), parse_hour(event.last_hour)))
    return dict(spans)


def mark_new(flags: Sequence[Reportable], known: Sequence[Remembered]) -> list[tuple[Reportable, Remembered]]:
    """Set each flag's `new`; returns the (flag, stored event) pairs of the ones seen before."""
    seen = []
    for flag in flags:
        match = next((event for event in known if event.same_event(flag)), None)
        flag.new = match is None
        if match is not None:
            seen.append((flag, match))
    return seen


def remember(db: Database, flags: Sequence[Reportable], seen: Sequence[tuple[Reportable, Remembered]],
             now: datetime) -> None:
    """Insert the new flags and move the last hour of the events that go on, in one transaction."""
    inserts = [(f.marketplace_id, f.asin, f.kind, f.start_hour, f.last_hour, iso(now), iso(now),
                json.dumps(f.evidence(), default=str)) for f in flags if f.new]
    updates = [(flag.last_hour, iso(now), event.marketplace_id, event.asin, event.kind, event.start_hour)
               for flag, event in seen if flag.last_hour > event.last_hour]
    if not inserts and not updates:
        return  # nothing to write: no transaction, so a read-only file is no trouble
    try:
        with transaction(db) as conn:
            conn.executemany(f"INSERT OR IGNORE INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)", inserts)
            conn.executemany(f"UPDATE {TABLE} SET last_hour = ?, updated_at = ? WHERE marketplace_id = ? "
                             "AND asin = ? AND kind = ? AND start_hour = ?", updates)
    except StoreError as exc:
        raise StoreError(exc.message, hint=f"{exc.hint}; or look without remembering: rtsales watch --no-record",
                         exit_code=exc.exit_code) from exc
