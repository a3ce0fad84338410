"""The clock set back by days: stored instants far in the future must not stall sync.

A cooldown, a dead run's lease or a FAILED hour's retry stored before the jump lies
further ahead than rtsales ever sets one. Each counts as expired (and is logged),
sync proceeds, and `status` says what sync will do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from rtsales.clock import iso
from rtsales.simulator import Faults
from rtsales.simulator.cron import SimulatedCron
from rtsales.sync.engine import SyncRun
from rtsales.views.status import collect_status
from tests.conftest import record_sync
from tests.e2e.conftest import START, US

DAYS_AHEAD = timedelta(days=3)


@pytest.fixture(autouse=True)
def logs_reach_caplog(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A CLI test earlier in the session may have stopped `rtsales` logs from propagating."""
    monkeypatch.setattr(logging.getLogger("rtsales"), "propagate", True)
    yield


def _status(c: SimulatedCron) -> dict:
    return collect_status(c.db, c.settings, c.clock.now())["marketplaces"][0]


def _store_cooldown(c: SimulatedCron, ahead: timedelta) -> None:
    c.db.conn.execute("INSERT OR REPLACE INTO api_cooldowns VALUES ('spapi', 'quota', ?, 1, ?)",
                      [iso(c.clock.now() + ahead), iso(c.clock.now())])


def test_a_cooldown_days_ahead_is_over(cron: Callable[..., SimulatedCron], caplog: pytest.LogCaptureFixture) -> None:
    c = cron((US,))
    _store_cooldown(c, DAYS_AHEAD)
    assert _status(c)["cooldown"] == {"reason": "none", "until_utc": None}  # status agrees with sync
    with caplog.at_level(logging.WARNING):
        result = c.cycle()
    assert result.skipped is None and result.exit_code == 0
    assert result.marketplaces[0].tally.reports_created > 0 and c.sim.log.count("createReport", 202) > 0
    assert "cooldown" in caplog.text and "QUOTA_COOLDOWN_MAX_MINUTES" in caplog.text


def test_a_cooldown_within_the_maximum_still_holds(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,))
    _store_cooldown(c, timedelta(hours=3))  # QUOTA_COOLDOWN_MAX_MINUTES is 240
    assert c.cycle().skipped == "cooldown"
    assert _status(c)["cooldown"]["reason"] == "quota"


def test_the_clock_set_back_after_a_429(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), start=START + DAYS_AHEAD)
    c.sim.set_faults(Faults(p429=1.0))
    assert c.cycle(advance=False).quota_hit
    c.sim.set_faults(Faults())
    c.clock.instant = START + timedelta(hours=2)  # NTP fixes a clock that ran days ahead
    result = c.cycle()
    assert result.skipped is None and c.sim.log.count("createReport", 202) > 0


def test_a_dead_lease_days_ahead_is_taken_over(cron: Callable[..., SimulatedCron],
                                               caplog: pytest.LogCaptureFixture) -> None:
    c = cron((US,))
    record_sync(c.db, c.clock.now() - timedelta(minutes=10))  # cron runs: only the lock is wrong
    c.db.conn.execute("INSERT INTO vendor_rt_sales_worker_lock VALUES (?, 'sync:999', ?)",
                      [US, iso(c.clock.now() + DAYS_AHEAD)])
    before = _status(c)
    assert before["lock"]["stale"] is True and before["cooldown"]["reason"] == "none"
    assert "sync is working" not in before["diagnosis"] and "takes it over" in before["diagnosis"]
    with caplog.at_level(logging.WARNING):
        result = c.cycle()
    assert result.skipped is None and result.marketplaces[0].stolen_from == "sync:999"
    assert result.marketplaces[0].tally.reports_created > 0
    assert "sync:999" in caplog.text and "LOCK_TTL_MINUTES" in caplog.text


def test_a_live_lease_within_its_ttl_still_blocks(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,))
    c.db.conn.execute("INSERT INTO vendor_rt_sales_worker_lock VALUES (?, 'sync:999', ?)",
                      [US, iso(c.clock.now() + timedelta(minutes=15))])
    assert c.cycle().skipped == "lock_busy"


def test_failed_hours_retrying_days_ahead_are_claimed(cron: Callable[..., SimulatedCron],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    c = cron((US,), settings={"ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "false"})
    c.settle(10)
    now = c.clock.now()
    failed = [k for (k,) in c.db.conn.execute(
        "SELECT hour_utc FROM vendor_rt_sales_hour_ledger WHERE status = 'APPLIED' ORDER BY hour_utc DESC LIMIT 5")]
    c.db.conn.execute(f"UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', attempts = 3, "
                      f"last_error = 'report FATAL', next_retry_utc = ? WHERE hour_utc IN ({','.join('?' * 5)})",
                      [iso(now + DAYS_AHEAD), *failed])
    status = _status(c)
    assert status["next_retry_utc"] is None and status["next_claimable_hour"] == failed[0]
    with caplog.at_level(logging.WARNING):
        SyncRun(c.db, c.settings, c.clock.__class__(now), c.sim.transport()).run()
    assert "5 FAILED hour(s)" in caplog.text
    states = dict(c.db.conn.execute(f"SELECT hour_utc, status FROM vendor_rt_sales_hour_ledger "
                                    f"WHERE hour_utc IN ({','.join('?' * 5)})", failed).fetchall())
    assert set(states.values()) <= {"REQUESTED", "DOWNLOADED", "APPLIED"}, states
    c.settle(10)
    assert c.db.conn.execute(f"SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE status != 'FAILED' "
                             f"AND data_state != 'none' AND hour_utc IN ({','.join('?' * 5)})",
                             failed).fetchone()[0] == 5  # (the newest may be in a live refresh again)
