"""Real-time: the live refresh, the settle fetch, the scheduler's order, and known data never hidden."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from rtsales.amazon.client import SpApiClient
from rtsales.clock import HOUR, iso, parse_hour
from rtsales.simulator import Simulator
from rtsales.simulator.cron import SimulatedCron
from rtsales.sync import ingest
from rtsales.sync.operator import fill_day, run_audit
from rtsales.views.sales import sales_summary
from rtsales.views.status import collect_status
from tests.clocks import SteppingClock
from tests.e2e.conftest import CA, US, Crash
from tests.e2e.test_crash_quota_lock import _kill_once
from tests.e2e.meddler import Meddler

NO_AUDITS = {"ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "false"}


def _steady(c: SimulatedCron, extra_cycles: int = 8) -> None:
    c.settle(10)
    for _ in range(extra_cycles):
        c.cycle()


def _views(c: SimulatedCron, now: Any) -> tuple[str, str]:
    """What readers see: status's last applied hour and the end of `sales`'s window."""
    status = collect_status(c.db, c.settings, now, US)["marketplaces"][0]
    return status["last_applied_hour"], sales_summary(c.db, [US], now, 24, "asin")["until_utc"]


class Throttled(httpx.BaseTransport):
    """Every getReport answered 429 (outside traffic ate the quota) after `after` requests pass."""

    def __init__(self, inner: httpx.BaseTransport, watch: Callable[[], None]) -> None:
        self.inner, self.watch = inner, watch

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.watch()
        if request.method == "GET" and "/reports/" in request.url.path:
            return httpx.Response(429, json={"errors": [{"code": "QuotaExceeded", "message": "slow down"}]})
        return self.inner.handle_request(request)


@pytest.mark.parametrize("answer", ["done", "throttled", "cancelled"])
@pytest.mark.parametrize("refetch", ["audit", "fill-day"])
def test_a_refetch_never_moves_what_readers_see_backwards(cron: Callable[..., SimulatedCron], refetch: str,
                                                          answer: str) -> None:
    c = cron((US,), settings=NO_AUDITS)
    _steady(c)
    clock = SteppingClock(c.clock.now())
    c.sim.clock = clock
    before, seen = _views(c, clock.now()), []
    rows = c.db.conn.execute("SELECT COUNT(*) FROM vendor_realtime_sales").fetchone()[0]
    watch = lambda: seen.append(_views(c, clock.now()))  # noqa: E731 - every reader, at every request
    meddler = Meddler(c.sim.transport())
    meddler.cancel_reports = answer == "cancelled"
    transport: httpx.BaseTransport = Throttled(meddler, watch) if answer == "throttled" else meddler
    if answer != "throttled":
        meddler.on_create = lambda _: watch()  # type: ignore[func-returns-value]
    if refetch == "audit":
        run_audit(c.db, c.settings, clock, "weekly", (US,), transport=transport)
    else:
        day = iso(parse_hour(before[0]) - timedelta(hours=30))[:10]
        fill_day(c.db, c.settings, clock, day, "UTC", (US,), transport=transport)
    seen.append(_views(c, clock.now()))
    assert seen and all(view >= before for view in seen), (before, seen)
    if answer != "done":
        assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_realtime_sales").fetchone()[0] == rows
    status = collect_status(c.db, c.settings, clock.now(), US)
    assert status["ok"] or "Cooldown" in status["marketplaces"][0]["diagnosis"]


def test_a_revision_inside_the_live_window_reaches_the_database_at_the_next_refresh(
        cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS, simulator=Simulator(seed=0, revision_hours=2.5))
    _steady(c, 4)
    for _ in range(12):  # three hours: every run must find each live hour as Amazon showed it when asked
        c.cycle()  # applies the live refresh made 15 minutes ago, makes the next one
        asked = c.clock.now() - timedelta(minutes=30)  # the report this cycle applied, made one cycle earlier
        live = [k for (k,) in c.db.conn.execute(
            "SELECT hour_utc FROM vendor_rt_sales_hour_ledger WHERE data_state = 'provisional' AND hour_utc >= ?",
            [iso(asked - timedelta(hours=3))])]
        assert live
        for key in live:  # what Amazon showed when that report was made (queued + processed)
            seen = c.sim.truth.observed(US, parse_hour(key), at=asked + c.sim.reports.processing)
            assert c.stored(US, key) == {a: (s.units, s.revenue_cents) for a, s in seen.items()}, key


def test_the_settle_fetch_makes_each_hour_final_and_rides_in_the_live_refresh(
        cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS)
    _steady(c, 4)
    first = c.clock.now() - timedelta(hours=3)  # hours still provisional then
    for _ in range(4 * 8):
        c.cycle()
    settled = iso(c.clock.now() - timedelta(hours=4, minutes=30))
    hours = c.db.conn.execute("SELECT hour_utc, data_state, requested_at FROM vendor_rt_sales_hour_ledger "
                              "WHERE hour_utc >= ? AND hour_utc < ?", [iso(first), settled]).fetchall()
    assert len(hours) >= 6
    for key, state, requested_at in hours:
        assert state == "final" and requested_at >= iso(parse_hour(key) + HOUR + timedelta(hours=3)), key
        assert c.stored(US, key) == c.truth(US, key), key
    assert c.sim.log.count("createReport") <= 4 * 8 + 4 * 14  # one report per run, the settle fetch inside it


def test_the_scheduler_fills_gaps_before_the_live_refresh_and_audits_last(
        cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings={"QUOTA_BUDGET_PERCENT": "100"})
    _steady(c, 2)
    meddler = Meddler(c.sim.transport())
    c.transport = meddler
    c.db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'MISSING', data_state = 'none' "
                      "WHERE hour_utc IN (SELECT hour_utc FROM vendor_rt_sales_hour_ledger ORDER BY hour_utc "
                      "DESC LIMIT 2 OFFSET 20)")  # a hole, 20 hours back
    c.db.conn.execute("DELETE FROM vendor_rt_sales_audit_runs")  # the daily audit is due again
    c.clock.advance(timedelta(minutes=15))
    hole = [k for (k,) in c.db.conn.execute("SELECT hour_utc FROM vendor_rt_sales_hour_ledger WHERE status = "
                                            "'MISSING' ORDER BY hour_utc")]
    now = c.clock.now()
    c.cycle()
    windows = [(start, end) for _, start, end in meddler.created]
    # Never-fetched hours first, newest first: the hour that just ended, with the live window riding along ...
    assert parse_hour(windows[0][1]) > now - HOUR and parse_hour(windows[0][0]) <= now - timedelta(hours=3)
    assert windows[1] == (hole[0], iso(parse_hour(hole[-1]) + HOUR))  # ... then the hole, older
    assert len(windows) >= 3 and all(end <= windows[1][0] or start >= windows[1][1]  # audits last, around it
                                      for start, end in windows[2:])
    assert len(windows) == len(set(windows))  # no hour asked twice


def test_a_short_budget_slows_every_marketplace_evenly(cron: Callable[..., SimulatedCron]) -> None:
    many = (US, CA, "A1AM78C64UM0Y8", "A2Q3Y263D00KWC")
    c = cron(many, settings={**NO_AUDITS, "QUOTA_BUDGET_PERCENT": "20"})  # 12 reports an hour; 16 wanted
    c.settle(60)
    start = c.sim.log.count("createReport")
    status = collect_status(c.db, c.settings, c.clock.now())
    assert status["live_refresh"]["effective_minutes"] > 15
    for _ in range(4 * 6):
        c.cycle()
    per_mp = {mp: 0 for mp in many}
    for entry in [e for e in c.sim.log.entries if e.operation == "createReport"][start:]:
        if entry.marketplace_id in per_mp:
            per_mp[entry.marketplace_id] += 1
    made = c.sim.log.count("createReport") - start
    assert made < 4 * 6 * len(many)  # slower than every 15 minutes
    assert max(per_mp.values()) - min(per_mp.values()) <= 1, per_mp  # evenly
    assert c.sim.log.count(status=429) == 0 and c.pending() <= len(many)  # the newest hours in flight


KILL_POINTS: dict[str, tuple[Any, str, bool]] = {
    "after_create": (SpApiClient, "create_report", True),
    "after_poll": (SpApiClient, "get_report", True),
    "mid_apply": (ingest, "record_changes", False),
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_crash_at_each_step_of_a_live_refresh_loses_nothing(cron: Callable[..., SimulatedCron],
                                                              monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    c = cron((US,), settings=NO_AUDITS)
    _steady(c, 2)
    before = c.db.conn.execute("SELECT COUNT(*) FROM vendor_realtime_sales").fetchone()[0]
    held = c.db.conn.execute("SELECT hour_utc FROM vendor_rt_sales_hour_ledger WHERE data_state != 'none'"
                             ).fetchall()
    fired = _kill_once(monkeypatch, *KILL_POINTS[point])
    with pytest.raises(Crash):
        c.run_command("sync")
    assert fired == [1]
    assert c.db.conn.execute("SELECT hour_utc FROM vendor_rt_sales_hour_ledger WHERE data_state != 'none'"
                             ).fetchall() == held  # nothing hidden by the dead run
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_realtime_sales").fetchone()[0] >= before - 30
    for _ in range(8):
        c.clock.advance(timedelta(minutes=15))
        c.run_command("sync-next")
    assert c.pending() <= 1  # the newest hour, asked this run
    assert c.mismatches(US, c.clock.now() - timedelta(hours=4)) == []


def test_a_failed_hour_waiting_for_its_retry_does_not_stall_the_live_refresh_above_it(
        cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS)
    _steady(c, 2)
    c.cycle()  # the live refresh made last run is applied now; the next is made
    c.cycle()
    failed = iso(parse_hour(c.db.conn.execute("SELECT MAX(hour_utc) FROM vendor_rt_sales_hour_ledger").fetchone()[0])
                 - timedelta(hours=2))
    c.db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', data_state = 'none', "
                      "next_retry_utc = ? WHERE hour_utc = ?", [iso(c.clock.now() + timedelta(hours=2)), failed])
    c.db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'APPLIED' WHERE status = 'REQUESTED'")
    meddler = Meddler(c.sim.transport())
    c.transport = meddler
    c.cycle()
    assert meddler.created and meddler.created[-1][1] > failed  # the hours above it were refreshed


def test_a_live_refresh_that_slipped_off_the_hour_rides_with_the_next_new_hour(
        cron: Callable[..., SimulatedCron]) -> None:
    """A lane whose refresh slipped to :25 (a budget ran out) would cost two reports an hour for good:
    the new hour's fetch at :07 and the refresh at :37. Past half its interval, the refresh rides
    along with the new hour instead, and the lane is back to one report an hour."""
    c = cron((US,), settings={**NO_AUDITS, "LIVE_REFRESH_MINUTES": "60"})
    c.settle(20)
    while c.clock.now().minute != 7:  # cron at :07, :22, :37, :52; a new hour is due at :07
        c.cycle()
    slipped = c.clock.now() - timedelta(minutes=42)
    c.db.conn.execute("UPDATE rtsales_state SET value = ? WHERE key = ?", [iso(slipped), f"live_refresh:sales:{US}"])
    before = c.sim.log.count("createReport")
    for _ in range(8):  # two hours of cron
        c.cycle()
    assert c.sim.log.count("createReport") - before == 2
    assert c.pending() == 0
