"""Test clocks beyond rtsales.clock.FrozenClock."""

from __future__ import annotations

from datetime import datetime, timedelta


class SteppingClock:
    """A clock that is not frozen: sleeping moves it forward at once, so waits cost no real time."""

    frozen = False

    def __init__(self, instant: datetime):
        self.instant = instant
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.instant

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.instant += timedelta(seconds=seconds)

    def advance(self, delta: timedelta) -> None:
        self.instant += delta
