"""`rtsales sync` end to end against the simulator, time advanced per cron cycle."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

from rtsales.clock import iso
from rtsales.simulator.cron import SimulatedCron
from tests.e2e.conftest import CA, START, US, fatal_gap_fill


def _ledger(cron: SimulatedCron, mp: str = US) -> dict[str, int]:
    return dict(cron.db.conn.execute("SELECT status, COUNT(*) FROM vendor_rt_sales_hour_ledger "
                                     "WHERE marketplace_id = ? GROUP BY status", [mp]).fetchall())


def _held(cron: SimulatedCron, mp: str = US) -> int:
    """Hours whose numbers the database holds (a live refresh in flight does not hide them)."""
    return cron.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE marketplace_id = ? "
                                "AND data_state != 'none'", [mp]).fetchone()[0]


GAP = 167  # 2026-03-03T13:00 (168 h before the run's deadline) .. 2026-03-10T11:00 (ended 5 min before)


def test_seven_day_gap_two_marketplaces_minimum_reports_no_429(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US, CA))
    c.cycle()
    assert c.sim.log.count("createReport") == 2 * math.ceil(GAP / 24)  # the live window rides in the newest
    c.cycle()
    assert _held(c, US) == _held(c, CA) == GAP
    assert c.sim.log.count(status=429) == 0
    assert c.mismatches(US, START - timedelta(hours=4)) == []
    assert c.mismatches(CA, START - timedelta(hours=4)) == []


def test_more_windows_than_burst_spread_over_runs_without_429(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US, CA, "A1AM78C64UM0Y8"))  # 21 windows > createReport burst of 15
    c.cycle()
    assert c.sim.log.count("createReport") == 15  # the budget's burst, no more
    assert c.clock.slept == []  # a frozen clock never waits for a refill
    c.settle(20)
    assert c.sim.log.count(status=429) == 0
    assert c.pending() == 0


def test_steady_state_one_live_refresh_per_run_carries_new_and_settling_hours(
        cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings={"ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "false"})
    c.settle(10)
    for _ in range(8):
        c.cycle()
    before = c.sim.log.count("createReport")
    for _ in range(4 * 6):  # six hours of cron
        c.cycle()
    assert c.sim.log.count("createReport") - before == 24  # one report per run: 96 a day, 7 % of the plan
    assert c.sim.log.count(status=429) == 0
    assert c.pending() == 0  # every hour up to the newest is held
    settled = iso(c.clock.now() - timedelta(hours=4, minutes=30))
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE hour_utc < ? "
                             "AND data_state != 'final'", [settled]).fetchone()[0] == 0  # settle fetches rode along


def test_cancelled_window_is_applied_as_zero_rows(cron: Callable[..., SimulatedCron]) -> None:
    from rtsales.simulator import Simulator
    from tests.conftest import at
    quiet = (at("2026-03-03T00:00:00Z"), at("2026-03-11T00:00:00Z"))
    c = cron((US,), simulator=Simulator(seed=3, quiet_windows=[quiet]))
    c.cycle()
    c.cycle()
    assert _held(c) == GAP and set(_ledger(c)) <= {"APPLIED", "REQUESTED"}  # (a live refresh in flight)
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_realtime_sales").fetchone()[0] == 0
    assert c.sim.log.count("getReportDocument") == 0


def test_fatal_window_is_split_and_retried_later(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,))
    fatal_gap_fill(c)
    creates = c.sim.log.count("createReport")
    c.settle(40)
    assert c.pending() == 0
    assert c.sim.log.count("createReport") - creates >= 2 * 7  # every window came back as halves
    assert c.mismatches(US, START - timedelta(hours=4)) == []


def test_too_large_window_is_split_and_remembered(cron: Callable[..., SimulatedCron]) -> None:
    from rtsales.simulator import Simulator
    c = cron((US,), simulator=Simulator(seed=1, max_window_hours=12))
    c.settle(10)
    assert c.pending() == 0
    assert c.db.conn.execute("SELECT value FROM rtsales_state WHERE key = ?",
                             [f"max_window_hours:sales:{US}"]).fetchone()[0] == "12"
    rejected = c.sim.log.count("createReport", 400)
    assert rejected == 1  # the rest of that run's windows were split before sending
    c.db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'MISSING'")
    c.cycle()
    assert c.sim.log.count("createReport", 400) == rejected  # learned: no more oversized windows


def test_late_revisions_and_vanished_asins_fixed_by_daily_audit(cron: Callable[..., SimulatedCron]) -> None:
    from rtsales.simulator import Simulator
    c = cron((US,), simulator=Simulator(seed=0, revision_hours=12))  # many hours still unsettled when fetched
    c.cycle()
    c.cycle()
    recent = [k for (k,) in c.db.conn.execute("SELECT hour_utc FROM vendor_rt_sales_hour_ledger "
                                              "ORDER BY hour_utc DESC LIMIT 12")]
    stale = [k for k in recent if c.stored(US, k) != c.truth(US, k)]
    assert stale, "the simulator should have revised at least one recent hour"
    vanished = {(k, a) for k in stale for a in c.stored(US, k) if a not in c.truth(US, k)}
    assert vanished, "at least one ASIN seen early must vanish from the final numbers"
    for _ in range(4 * 26):  # a bit more than a day of cron
        c.cycle()
    assert all(c.stored(US, k) == c.truth(US, k) for k in stale)
    assert all(asin not in c.stored(US, k) for k, asin in vanished)
    audits = c.db.conn.execute("SELECT kind, hours, hours_changed, finished_at FROM vendor_rt_sales_audit_runs "
                               "WHERE hours > 0").fetchall()
    assert audits and audits[0][0] == "daily" and audits[0][2] >= len(stale) and audits[0][3]
    assert c.sim.log.count(status=429) == 0


def test_report_gone_from_amazon_is_requested_again(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,))
    c.cycle()
    c.db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET report_id = '99999999999' "
                      "WHERE hour_utc = (SELECT MAX(hour_utc) FROM vendor_rt_sales_hour_ledger)")
    c.db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET report_id = '99999999999' WHERE report_id = "
                      "(SELECT report_id FROM vendor_rt_sales_hour_ledger WHERE report_id != '99999999999' "
                      "ORDER BY hour_utc DESC LIMIT 1)")
    c.cycle()  # getReport 404 -> those hours go back to MISSING and are requested again
    assert c.sim.log.count("getReport", 404) == 1
    c.settle(5)
    assert c.pending() == 0 and c.mismatches(US, START - timedelta(hours=4)) == []


def test_fill_day_waits_for_its_reports_on_a_real_clock_and_reports_changes(
        cron: Callable[..., SimulatedCron]) -> None:
    from rtsales.sync.operator import fill_day
    from tests.clocks import SteppingClock
    c = cron((US,))
    c.cycle()
    c.cycle()
    bad = "2026-03-08T20:00:00Z"
    rows = c.db.conn.execute("UPDATE vendor_realtime_sales SET ordered_units = ordered_units + 100 WHERE hour_utc = ?",
                             [bad]).rowcount
    clock = SteppingClock(c.clock.now())  # a running clock: sleeping moves time, as in production
    c.sim.clock = clock
    seen: list[tuple[int, int]] = []
    report = fill_day(c.db, c.settings, clock, "2026-03-08", "UTC", (US,), transport=c.sim.transport(),
                      on_progress=lambda done, total: seen.append((done, total)))
    hours = {h["hour_utc"]: h for h in report["marketplaces"][0]["hours"]}
    assert {h["status"] for h in hours.values()} == {"APPLIED"} and len(hours) == 24
    assert hours[bad]["changed"] and hours[bad]["units_after"] == hours[bad]["units_before"] - 100 * rows
    assert sum(h["changed"] for h in hours.values()) == 1  # the other hours were already right
    assert seen[-1] == (24, 24) and seen[0][0] < 24
    assert c.sim.log.count(status=429) == 0
