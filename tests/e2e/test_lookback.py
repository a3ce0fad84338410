"""The lookback bounds the work: a shrunk LOOKBACK_DAYS takes effect at the next run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rtsales.clock import iso
from rtsales.simulator.cron import SimulatedCron, simulator_settings
from tests.e2e.conftest import START, US
from tests.e2e.meddler import Meddler


def test_a_shrunk_lookback_claims_nothing_older_and_forgets_unfetched_hours(
        cron: Callable[..., SimulatedCron], tmp_path: Path) -> None:
    c = cron((US,), settings={"ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "false"})
    c.cycle()
    c.db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'MISSING', data_state = 'none', "
                      "report_id = NULL WHERE status = 'REQUESTED' AND hour_utc < '2026-03-07'")  # never fetched
    c.db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', next_retry_utc = ? "
                      "WHERE status = 'REQUESTED' AND hour_utc < '2026-03-08'", [iso(START)])
    c.settings = simulator_settings(tmp_path / "e2e.db", (US,), c.clock.now(),
                                    {"LOOKBACK_DAYS": "2", "ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "false"})
    meddler = c.transport = Meddler(c.sim.transport())
    c.settle(6)
    lookback_start = "2026-03-08T12:00:00Z"
    assert meddler.created and min(start for _, start, _ in meddler.created) >= lookback_start
    left = dict(c.db.conn.execute("SELECT status, COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE hour_utc < ? "
                                  "GROUP BY 1", [lookback_start]))
    assert "MISSING" not in left  # the never-fetched hours were forgotten
    assert left.get("FAILED", 0) > 0  # a FAILED hour outside the lookback is kept, shown, never claimed
