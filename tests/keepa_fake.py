"""A small fake of Keepa's token model for pytest-httpx, advancing on the injected clock.

Tokens refill `rate` at a time once a minute, never past an hour's worth; a
request runs while the balance is positive and may push it negative; at zero or
below the answer is 429 NOT_ENOUGH_TOKEN. Every answer carries the token fields.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from pytest_httpx import HTTPXMock

KEY = "keepa-test-key-0123456789abcdef"
BASE = "https://api.keepa.com"
MINUTE = timedelta(minutes=1)


@dataclass
class Seen:
    endpoint: str
    at: datetime
    balance_before: float
    cost: int
    status_code: int


class FakeKeepa:
    def __init__(self, clock: Any, *, balance: float, rate: int = 20,
                 refill_in: timedelta = timedelta(seconds=30)):
        self.clock = clock
        self.balance = balance
        self.rate = rate
        self.next_refill = clock.now() + refill_in
        self.lowest = balance
        self.seen: list[Seen] = []

    def install(self, httpx_mock: HTTPXMock) -> FakeKeepa:
        httpx_mock.add_callback(self, url=re.compile(re.escape(BASE) + r"/.*"), is_reusable=True,
                                is_optional=True)
        return self

    def calls(self, endpoint: str) -> list[Seen]:
        return [s for s in self.seen if s.endpoint == endpoint]

    def _refill(self) -> None:
        while self.clock.now() >= self.next_refill:
            self.balance = min(self.balance + self.rate, max(self.balance, 60 * self.rate))
            self.next_refill += MINUTE

    def _envelope(self, consumed: int) -> dict[str, Any]:
        now = self.clock.now()
        return {"timestamp": int(now.timestamp() * 1000), "tokensLeft": self.balance,
                "refillIn": math.ceil((self.next_refill - now).total_seconds() * 1000),
                "refillRate": self.rate, "tokenFlowReduction": 0.0, "tokensConsumed": consumed,
                "processingTimeInMs": 3}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self._refill()
        assert request.url.params["key"] == KEY
        endpoint = request.url.path.rsplit("/", 1)[-1]
        asins = request.url.params.get("asin", "").split(",") if endpoint == "product" else []
        before = self.balance
        if asins and self.balance <= 0:
            self.seen.append(Seen(endpoint, self.clock.now(), before, len(asins), 429))
            return httpx.Response(429, json={**self._envelope(0), "error": {"type": "NOT_ENOUGH_TOKEN"}})
        self.balance -= len(asins)
        self.lowest = min(self.lowest, self.balance)
        self.seen.append(Seen(endpoint, self.clock.now(), before, len(asins), 200))
        body = self._envelope(len(asins))
        if asins:
            body["products"] = [{"asin": a, "title": f"Title of {a}",
                                 "stats": {"current": [-1, -1, -1, 1000 + i]}} for i, a in enumerate(asins)]
        return httpx.Response(200, json=body)


def asin(n: int) -> str:
    return f"B{n:09d}"
