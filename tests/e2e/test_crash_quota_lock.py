"""Kills at every step, 429 at every call, busy and stale locks: nothing lost, quota honoured."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from rtsales import lock
from rtsales.amazon.client import SpApiClient
from rtsales.clock import iso
from rtsales.simulator.cron import SimulatedCron
from rtsales.store import open_db
from rtsales.sync import ingest, windows
from rtsales.sync.engine import SyncRun
from tests.e2e.conftest import START, US, Crash

KILL_POINTS: dict[str, tuple[Any, str, bool]] = {  # (owner, attribute, let the call finish first)
    "after_create": (SpApiClient, "create_report", True),
    "after_poll": (SpApiClient, "get_report", True),
    "after_download": (windows, "stash_document", True),
    "mid_apply": (ingest, "record_changes", False),  # inside the apply transaction
}


def _kill_once(monkeypatch: pytest.MonkeyPatch, owner: Any, attr: str, call_first: bool) -> list[int]:
    original, fired = getattr(owner, attr), []

    def dying(*args: Any, **kwargs: Any) -> Any:
        if fired:
            return original(*args, **kwargs)
        fired.append(1)
        if call_first:
            original(*args, **kwargs)
        raise Crash(attr)

    monkeypatch.setattr(owner, attr, dying)
    return fired


def kill_a_sync(c: SimulatedCron, monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    """Run `sync` and kill it at `point` of KILL_POINTS; it must really have died there."""
    fired = _kill_once(monkeypatch, *KILL_POINTS[point])
    with pytest.raises(Crash):
        c.run_command("sync")
    assert fired == [1]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_at_each_step_loses_nothing(cron: Callable[..., SimulatedCron], monkeypatch: pytest.MonkeyPatch,
                                           point: str) -> None:
    c = cron((US,))
    if point != "after_create":
        c.cycle()  # reports exist; the kill comes while collecting them
    kill_a_sync(c, monkeypatch, point)
    holder = lock.current(c.db, US)
    assert holder is not None  # a killed process leaves its lease behind
    c.clock.advance(timedelta(minutes=15))  # the next cron run: the dead lease has expired
    for _ in range(8):
        c.run_command("sync-next")  # another process (another owner name)
        c.clock.advance(timedelta(minutes=15))
    assert c.pending() <= 2
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE hour_utc < ? "
                             "AND data_state = 'none'", [iso(START - timedelta(hours=3))]).fetchone()[0] == 0
    assert c.mismatches(US, START - timedelta(hours=4)) == []
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_documents").fetchone()[0] <= 1


class QuotaOnce(httpx.BaseTransport):
    """Outside traffic: the first request to one operation is answered 429, as Amazon would."""

    def __init__(self, inner: httpx.BaseTransport, fragment: str, method: str = "GET"):
        self.inner, self.fragment, self.method, self.hit = inner, fragment, method, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.hit and request.method == self.method and self.fragment in request.url.path:
            self.hit = 1
            return httpx.Response(429, json={"errors": [{"code": "QuotaExceeded", "message": "slow down"}]})
        return self.inner.handle_request(request)


CALLS = {"createReport": ("/reports/2021-06-30/reports", "POST"),
         "getReport": ("/reports/2021-06-30/reports/", "GET"),
         "getReportDocument": ("/documents/", "GET"),
         "download": ("/_sim/documents/", "GET")}


@pytest.mark.parametrize("operation", CALLS)
def test_429_at_each_call_stops_run_and_cooldown_is_honoured(cron: Callable[..., SimulatedCron],
                                                             operation: str, tmp_path: Any) -> None:
    c = cron((US,))
    if operation != "createReport":
        c.cycle()
    seen_before = len(c.sim.log.entries)
    transport = QuotaOnce(c.sim.transport(), *CALLS[operation])
    result = SyncRun(c.db, c.settings, c.clock.__class__(c.clock.now()), transport).run()
    assert transport.hit == 1 and result.quota_hit and operation in result.quota_hit
    after = [e.operation for e in c.sim.log.entries[seen_before:] if e.operation != "lwa"]
    assert len(after) <= 3, after  # stopped at once: only what preceded the 429 in this run
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE status = 'REQUESTED' "
                             "AND report_id IS NULL").fetchone()[0] == 0  # released, still claimable
    until = c.db.conn.execute("SELECT until_utc FROM api_cooldowns WHERE api = 'spapi'").fetchone()[0]
    assert until == iso(c.clock.now() + timedelta(minutes=30))

    other = open_db(c.settings.db_path)  # a second process
    quiet = len(c.sim.log.entries)
    second = SyncRun(other, c.settings, c.clock.__class__(c.clock.now() + timedelta(minutes=29)),
                     c.sim.transport()).run()
    assert second.skipped == "cooldown" and second.exit_code == 75
    assert len(c.sim.log.entries) == quiet  # not one request, not even LWA

    c.clock.advance(timedelta(minutes=30))
    c.settle(10)
    assert c.pending() == 0 and c.mismatches(US, START - timedelta(hours=4)) == []


def test_cooldown_doubles_when_first_call_after_it_hits_429(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,))
    for minutes in (30, 60):
        transport = QuotaOnce(c.sim.transport(), *CALLS["createReport"])
        SyncRun(c.db, c.settings, c.clock.__class__(c.clock.now()), transport).run()
        until = c.db.conn.execute("SELECT until_utc FROM api_cooldowns").fetchone()[0]
        assert until == iso(c.clock.now() + timedelta(minutes=minutes))
        c.clock.advance(timedelta(minutes=minutes))
    c.cycle()  # success resets
    assert c.db.conn.execute("SELECT consecutive_hits FROM api_cooldowns").fetchone()[0] == 0


def test_busy_lock_skips_with_75_and_stale_lock_is_stolen(cron: Callable[..., SimulatedCron],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    c = cron((US,))
    lock.acquire(c.db, US, "sync:424242", c.clock.now(), timedelta(minutes=15))
    busy = c.cycle(advance=False)
    assert busy.skipped == "lock_busy" and busy.exit_code == 75
    assert c.sim.log.entries == []
    c.clock.advance(timedelta(minutes=15))
    stolen = c.cycle()
    assert stolen.skipped is None and stolen.marketplaces[0].stolen_from == "sync:424242"
    assert "stole expired lock" in caplog.text
    assert lock.current(c.db, US) is None  # released at the end of the run


def test_one_busy_marketplace_does_not_stop_the_other(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US, "A2EUQ1WTGCTBG2"))
    lock.acquire(c.db, US, "sync:424242", c.clock.now(), timedelta(minutes=15))
    result = c.cycle()
    assert result.exit_code == 0
    assert {m.marketplace_id: m.state for m in result.marketplaces} == {US: "lock_busy", "A2EUQ1WTGCTBG2": "worked"}
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE marketplace_id = ?",
                             [US]).fetchone()[0] == 0


