"""A transport between rtsales and the simulator that can change Amazon's answers in flight.

It records every createReport body (to check the windows asked for) and can answer a
createReport itself (a generic or a range 400, a 403) or turn a report's DONE into
CANCELLED, so one test can shape exactly the answer it is about.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from rtsales.clock import parse_instant

Answer = Callable[[httpx.Request], httpx.Response | None]  # None: let the simulator answer

GENERIC_400 = {"errors": [{"code": "400", "message": "Invalid input", "details": "Invalid input"}]}


class Meddler(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.created: list[tuple[str, str, str]] = []  # (marketplace, dataStartTime, dataEndTime) sent
        self.on_create: Answer | None = None
        self.cancel_reports = False  # every DONE report is answered CANCELLED instead

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/reports"):
            body = json.loads(request.read())
            self.created.append((body["marketplaceIds"][0], body["dataStartTime"], body.get("dataEndTime", "")))
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
