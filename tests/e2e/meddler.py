"""A transport between rtsales and the simulator that can change Amazon's answers in flight.

It records every createReport body (to check the windows asked for, and with `sent` the
report type and the simulated instant of each request) and can answer a
createReport itself (a generic or a range 400, a 403) or turn a report's DONE into
CANCELLED, so one test can shape exactly the answer it is about.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from rtsales.clock import parse_instant

Answer = Callable[[httpx.Request], httpx.Response | None]  # None: let the simulator answer

GENERIC_400 = {"errors": [{"code": "400", "message": "Invalid input", "details": "Invalid input"}]}


@dataclass(frozen=True)
class Sent:
    """One createReport as rtsales sent it, answered or not."""

    report_type: str
    marketplace_id: str
    start: datetime
    end: datetime
    at: datetime | None  # the simulated instant it was sent (None: the Meddler was given no `now`)


class Meddler(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, now: Callable[[], datetime] | None = None) -> None:
        self.inner = inner
        self.now = now  # the simulator's time (e.g. `sim.now`): when a createReport was sent, as Amazon sees it
        self.created: list[tuple[str, str, str]] = []  # (marketplace, dataStartTime, dataEndTime) sent
        self.sent: list[Sent] = []
        self.on_create: Answer | None = None
        self.cancel_reports = False  # every DONE report is answered CANCELLED instead

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/reports"):
            body = json.loads(request.read())
            self.created.append((body["marketplaceIds"][0], body["dataStartTime"], body.get("dataEndTime", "")))
            self.sent.append(Sent(body["reportType"], body["marketplaceIds"][0], parse_instant(body["dataStartTime"]),
                                  parse_instant(body["dataEndTime"]), self.now() if self.now else None))
            answer = self.on_create(request) if self.on_create else None
            if answer is not None:
                return answer
        response = self.inner.handle_request(request)
        if self.cancel_reports and request.method == "GET" and "/reports/" in request.url.path:
            data = json.loads(response.read())
            if data.get("processingStatus") == "DONE":
                data["processingStatus"] = "CANCELLED"
                data.pop("reportDocumentId", None)
                return httpx.Response(200, json=data)
        return response

    def oldest_start(self) -> str:
        return min(start for _, start, _ in self.created)

    def window_hours(self) -> list[float]:
        return [(parse_instant(end) - parse_instant(start)).total_seconds() / 3600
                for _, start, end in self.created]


def first_n(n: int, status: int, body: dict[str, object]) -> Answer:
    """Answer the next `n` createReports with `status` and `body`, then let the simulator answer."""
    left = [n]

    def answer(_: httpx.Request) -> httpx.Response | None:
        if left[0] <= 0:
            return None
        left[0] -= 1
        return httpx.Response(status, json=body)
    return answer
