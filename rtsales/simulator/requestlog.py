"""The request log: one entry per handled request, plus counters per operation and status."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LogEntry:
    at: str  # simulated time, ISO-8601 UTC
    operation: str  # lwa, createReport, getReport, getReportDocument, download, control, unknown
    method: str
    path: str
    status: int
    marketplace_id: str | None = None
    fault: str | None = None  # a name of faults.PROBABILITIES, or several comma-joined
    request_id: str = ""
    client: str | None = None  # short fingerprint of the access token: tells processes apart


class RequestLog:
    """Thread-safe, append-only record of what the simulator answered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LogEntry] = []
        self._counts: Counter[tuple[str, int]] = Counter()

    def record(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)
            self._counts[(entry.operation, entry.status)] += 1

    @property
    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def count(self, operation: str | None = None, status: int | None = None) -> int:
        """How many requests matched (None matches anything)."""
        with self._lock:
            return sum(n for (op, st), n in self._counts.items()
                       if operation in (None, op) and status in (None, st))

    def counts(self) -> dict[str, dict[str, int]]:
        """{operation: {status: n}}."""
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for (op, status), n in sorted(self._counts.items()):
                out.setdefault(op, {})[str(status)] = n
            return out

    def to_json(self) -> dict[str, Any]:
        return {"entries": [asdict(entry) for entry in self.entries], "counts": self.counts()}
