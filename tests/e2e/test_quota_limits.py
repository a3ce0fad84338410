"""Quota at the limits: the largest cooldown settings and absurd stored counts still leave a cooldown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from rtsales.clock import iso
from rtsales.simcron import SimulatedCron
from rtsales.simulator import Faults
from tests.e2e.conftest import US

LARGEST = {"QUOTA_COOLDOWN_MINUTES": "10080", "QUOTA_COOLDOWN_MAX_MINUTES": "10080"}  # a week each


@pytest.mark.parametrize("hits", [10**6, 2**63 - 1])
def test_a_429_always_leaves_a_cooldown(cron: Callable[..., SimulatedCron], hits: int) -> None:
    c = cron((US,), faults=Faults(p429=1.0), settings=LARGEST)
    c.db.conn.execute("INSERT INTO api_cooldowns VALUES ('spapi', 'quota', ?, ?, ?)",
                      [iso(c.clock.now() - timedelta(days=30)), hits, iso(c.clock.now() - timedelta(days=30))])
    result = c.cycle(advance=False)
    assert result.quota_hit and c.sim.log.count(status=429) == 1
    until = c.db.conn.execute("SELECT until_utc FROM api_cooldowns WHERE api = 'spapi'").fetchone()[0]
    assert until == iso(c.clock.now() + timedelta(days=7))
    quiet = len(c.sim.log.entries)
    assert c.cycle().skipped == "cooldown" and len(c.sim.log.entries) == quiet  # honoured: no request at all
