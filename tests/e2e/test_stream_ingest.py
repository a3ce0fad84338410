"""A document that cannot be applied after it was stashed: the window fails from DOWNLOADED, the stash goes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from rtsales.simulator import Faults
from rtsales.simulator.cron import SimulatedCron
from tests.e2e.conftest import START, US


def test_truncated_download_fails_the_window_drops_the_stash_and_is_refetched(
        cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings={"ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "false"})
    c.cycle()  # seven reports created
    c.sim.set_faults(Faults(p_truncated=1.0))
    c.cycle()  # every download is cut short: stashed, then refused while streaming
    failed = c.db.conn.execute("SELECT COUNT(*), MIN(last_error) FROM vendor_rt_sales_hour_ledger "
                               "WHERE status = 'FAILED'").fetchone()
    assert failed[0] == 167 and "truncated" in failed[1]
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_documents").fetchone()[0] == 0
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_realtime_sales").fetchone()[0] == 0
    c.sim.set_faults(Faults())
    c.settle(12)
    assert c.pending() == 0
    assert c.mismatches(US, START - timedelta(hours=4)) == []
