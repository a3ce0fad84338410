"""The hour ledger: one row per (marketplace, UTC hour) and its state machine.

MISSING -> REQUESTED -> DOWNLOADED -> APPLIED, or FAILED (last_error,
next_retry_utc) and back to claimable. Every transition is one guarded UPDATE
whose row count is checked: a row not in the expected state raises.
"""

from __future__ import annotations

from enum import StrEnum


class HourStatus(StrEnum):
    MISSING = "MISSING"
    REQUESTED = "REQUESTED"
    DOWNLOADED = "DOWNLOADED"
    APPLIED = "APPLIED"
    FAILED = "FAILED"


TRANSITIONS: dict[HourStatus, frozenset[HourStatus]] = {
    HourStatus.MISSING: frozenset({HourStatus.REQUESTED}),
    HourStatus.REQUESTED: frozenset({HourStatus.DOWNLOADED, HourStatus.APPLIED,
                                     HourStatus.FAILED, HourStatus.MISSING}),
    HourStatus.DOWNLOADED: frozenset({HourStatus.APPLIED, HourStatus.FAILED, HourStatus.MISSING}),
    HourStatus.APPLIED: frozenset({HourStatus.MISSING}),
    HourStatus.FAILED: frozenset({HourStatus.REQUESTED, HourStatus.MISSING}),
}
