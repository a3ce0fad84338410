"""End-to-end fixtures: the real sync path against the in-process simulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rtsales.simcron import SimulatedCron
from tests.conftest import at

START = at("2026-03-10T12:07:00Z")
US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"


@pytest.fixture
def cron(tmp_path: Path) -> Callable[..., SimulatedCron]:
    def build(marketplaces: tuple[str, ...] = (US,), **kwargs: Any) -> SimulatedCron:
        return SimulatedCron(tmp_path / "e2e.db", marketplaces, kwargs.pop("start", START), **kwargs)
    return build


class Crash(BaseException):
    """Stands in for SIGKILL: no `except Exception` catches it, and no cleanup runs."""
