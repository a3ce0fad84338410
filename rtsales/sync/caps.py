"""Window caps learned from Amazon's "range too long" refusals, per lane ('kind:marketplace').

A learned cap is a hypothesis: one older than PROBE_AFTER is dropped when loaded, so the next
window goes out full size and either succeeds or teaches the cap again. Only caps learned in a
run are saved at its end: re-saving loaded ones would give them a fresh date and keep them
from ever expiring.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlite_utils import Database

from rtsales.clock import iso, parse_instant
from rtsales.store import transaction

log = logging.getLogger(__name__)
PROBE_AFTER = timedelta(days=1)
PREFIX = "max_window_hours:"  # rtsales_state key: PREFIX + lane


def load(db: Database, now: datetime) -> dict[str, int]:
    """lane -> cap of every cap younger than PROBE_AFTER; older ones are deleted."""
    caps = {}
    rows = db.conn.execute("SELECT key, value, updated_at FROM rtsales_state WHERE key LIKE ? || '%'",
                           [PREFIX]).fetchall()
    for key, value, learned_at in rows:
        lane = key.removeprefix(PREFIX)
        if parse_instant(learned_at) + PROBE_AFTER <= now:
            log.info("window cap %s h for %s is a day old: probing a full-size window", value, lane)
            with transaction(db) as conn:
                conn.execute("DELETE FROM rtsales_state WHERE key = ?", [key])
        else:
            caps[lane] = int(value)
    return caps


def save(db: Database, caps: Mapping[str, int], loaded: Mapping[str, int], now: datetime) -> None:
    """Store the caps that differ from what was `loaded` (learned in this run)."""
    learned = {lane: hours for lane, hours in caps.items() if loaded.get(lane) != hours}
    with transaction(db) as conn:
        for lane, hours in learned.items():
            conn.execute("INSERT OR REPLACE INTO rtsales_state VALUES (?, ?, ?)", [PREFIX + lane, str(hours), iso(now)])
