"""classify_refusal: what Amazon's 400 (or FATAL) text says is wrong with a window's dates."""

from __future__ import annotations

import pytest

from rtsales.sync.windows import Refusal, classify_refusal


@pytest.mark.parametrize(("message", "refusal"), [
    ("createReport: HTTP 400 InvalidInput: The date range between dataStartTime and dataEndTime cannot exceed "
     "24 hours.", Refusal.TOO_LONG),
    ("The requested date range exceeds the maximum of 14 days", Refusal.TOO_LONG),
    ("dataStartTime 2026-03-01T00:00:00Z is out of range: it may be at most 168 hours before the time of the "
     "request.", Refusal.TOO_OLD),
    ("Report data older than 30 days is not available", Refusal.TOO_OLD),
    ("dataEndTime 2026-03-10T13:00:00Z is in the future (now is 2026-03-10T12:55:00Z).", Refusal.FUTURE),
    ("The report data for the requested date range is not yet available.", Refusal.FUTURE),
    ("createReport: HTTP 400 400: Invalid input", Refusal.OTHER),
    ("createReport: HTTP 400 InvalidInput: Could not match input arguments", Refusal.OTHER),
    ("", Refusal.OTHER),
])
def test_only_date_errors_are_read_as_date_errors(message: str, refusal: Refusal) -> None:
    assert classify_refusal(message) is refusal
