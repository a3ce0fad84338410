"""End-to-end fixtures: the real sync path against the in-process simulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rtsales.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, Faults
from rtsales.simulator.cron import SimulatedCron
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


def loopback_env(base_url: str, db_path: Path, **extra: str) -> dict[str, str]:
    """The settings of a real `rtsales` pointed at a simulator served on loopback (BackgroundServer)."""
    return {"LWA_CLIENT_ID": DEFAULT_CLIENT_ID, "LWA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "LWA_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN, "MARKETPLACE_IDS": US, "SPAPI_ENDPOINT": base_url,
            "LWA_TOKEN_URL": f"{base_url}/auth/o2/token", "RTSALES_DB": str(db_path), **extra}


def fatal_gap_fill(c: SimulatedCron) -> None:
    """A run whose every report ends FATAL, then one without faults that collects them: every window
    fails and is split (its hours FAILED, each with half the window's size as its cap)."""
    c.sim.set_faults(Faults(p_fatal=1.0))
    c.cycle()
    c.sim.set_faults(Faults())
    c.cycle()
    failed = c.db.conn.execute("SELECT DISTINCT window_cap, last_error FROM vendor_rt_sales_hour_ledger "
                               "WHERE status = 'FAILED'").fetchall()
    assert failed and all("FATAL" in error for _, error in failed)
    assert {cap for cap, _ in failed} <= {12, 11}  # halves of 24- and 23-hour windows
