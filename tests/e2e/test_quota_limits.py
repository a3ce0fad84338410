"""Quota at the limits: the largest cooldown settings and absurd stored counts still leave a cooldown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from rtsales.clock import iso
from rtsales.simulator import Faults
from rtsales.simulator.cron import SimulatedCron
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


# -- the applied rate: x-amzn-RateLimit-Limit, learned and persisted --------------------------------

BUDGET = 590  # seconds of simulated time per run: no refill lands exactly on the deadline
PACED = {"RUN_BUDGET_SECONDS": str(BUDGET), "MAX_WINDOW_HOURS": "2",  # 83 windows: more than any run can create
         "ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "false",
         "QUOTA_BUDGET_PERCENT": "100"}  # the whole applied rate: this is about learning it


def _catch_up(cron: Callable[..., SimulatedCron], create_rate: float, runs: int) -> tuple[SimulatedCron, list[int]]:
    """`runs` back-to-back syncs on a running clock; createReport calls the simulator saw in each."""
    from rtsales.sync.engine import SyncRun
    from rtsales.simulator import USAGE_PLANS, Simulator, UsagePlan
    from tests.clocks import SteppingClock
    plans = {**USAGE_PLANS, "createReport": UsagePlan(create_rate, 15)}
    c = cron((US,), simulator=Simulator(seed=4, usage_plans=plans), settings=PACED)
    clock = SteppingClock(c.clock.now())  # sleeping moves time: the pacer waits for refills
    c.sim.clock = clock
    seen = []
    for _ in range(runs):
        before, start = c.sim.log.count("createReport"), clock.now()
        SyncRun(c.db, c.settings, clock, c.sim.transport()).run()  # a new process each time
        assert clock.now() <= start + timedelta(seconds=BUDGET)
        seen.append(c.sim.log.count("createReport") - before)
    return c, seen


@pytest.mark.parametrize(("rate", "per_run"), [(0.05, 15 + 29), (0.0167, 15 + 9), (0.005, 15 + 2)])
def test_catch_up_runs_at_the_applied_rate_without_429(cron: Callable[..., SimulatedCron], rate: float,
                                                       per_run: int) -> None:
    c, seen = _catch_up(cron, rate, runs=1)
    assert seen == [per_run]  # the burst, then one call per 1/rate seconds of the run's 590
    assert c.sim.log.count(status=429) == 0
    learned = c.db.conn.execute("SELECT value FROM rtsales_state WHERE key = 'rate:spapi:createReport'").fetchone()
    assert learned is not None and float(learned[0]) == rate


def test_a_later_run_starts_at_the_learned_rate(cron: Callable[..., SimulatedCron]) -> None:
    c, seen = _catch_up(cron, 0.005, runs=3)
    assert seen[0] == 15 + 2 and all(n <= 3 for n in seen[1:])  # the bucket is empty: only refills
    assert c.sim.log.count(status=429) == 0  # the defaults would have refilled 3x too fast
