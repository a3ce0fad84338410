"""Amazon's real answers, end to end: CANCELLED, 400s, 403s and the age of the data.

Each test drives the real sync path against the simulator, with a Meddler in between
where an answer has to be shaped exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from rtsales.clock import iso, parse_instant
from rtsales.simulator import Simulator
from rtsales.simulator.cron import SimulatedCron
from rtsales.sync.operator import fill_day, run_audit
from rtsales.views.status import collect_status
from tests.clocks import SteppingClock
from tests.e2e.conftest import START, US
from tests.e2e.meddler import GENERIC_400, Meddler, first_n

DAY = "2026-03-08"
NO_AUDITS = {"ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "false"}


def _meddled(c: SimulatedCron) -> Meddler:
    c.transport = Meddler(c.sim.transport())
    return c.transport


def _running(c: SimulatedCron) -> SteppingClock:
    """A clock that moves while an operator command waits for its reports, as in production."""
    clock = SteppingClock(c.clock.now())
    c.sim.clock = clock
    return clock


def _day_rows(c: SimulatedCron, day: str = DAY) -> list[tuple[object, ...]]:
    return c.db.conn.execute("SELECT hour_utc, asin, ordered_units, ordered_revenue FROM vendor_realtime_sales "
                             "WHERE marketplace_id = ? AND hour_utc LIKE ? ORDER BY 1, 2", [US, f"{day}%"]).fetchall()


def _ledger(c: SimulatedCron, where: str = "1") -> list[tuple[object, ...]]:
    return c.db.conn.execute(f"SELECT hour_utc, status, data_state, inconclusive FROM vendor_rt_sales_hour_ledger "
                             f"WHERE {where} ORDER BY hour_utc").fetchall()


def test_cancelled_fill_day_keeps_the_day_and_says_inconclusive(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS)
    c.settle(5)
    before = _day_rows(c)
    assert len(before) > 24
    _meddled(c).cancel_reports = True  # Amazon cancels the re-fetch ("asked too often")
    clock = _running(c)
    report = fill_day(c.db, c.settings, clock, DAY, "UTC", (US,), transport=c.transport)
    hours = report["marketplaces"][0]["hours"]
    assert _day_rows(c) == before  # not one row deleted or replaced
    with_rows = {hour for hour, *_ in before}
    assert {h["status"] for h in hours} == {"APPLIED"} and not any(h["changed"] for h in hours)
    assert {h["hour_utc"] for h in hours if h["inconclusive"]} == with_rows  # hours without rows stay empty
    status = collect_status(c.db, c.settings, clock.now(), US)["marketplaces"][0]
    assert status["inconclusive"] >= len(with_rows) > 18  # (and a live refresh this run resumed, cancelled too)
    fill_day(c.db, c.settings, clock, DAY, "UTC", (US,), transport=c.sim.transport())
    assert not any(flag for *_, flag in _ledger(c, f"hour_utc LIKE '{DAY}%'"))  # a real answer clears it


def test_cancelled_audit_keeps_rows_counts_inconclusive_and_the_next_audit_retries(
        cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS)
    c.settle(5)
    stored = c.db.conn.execute("SELECT COUNT(*), SUM(ordered_units) FROM vendor_realtime_sales").fetchone()
    _meddled(c).cancel_reports = True
    report = run_audit(c.db, c.settings, _running(c), "daily", (US,), transport=c.transport)
    marked = c.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE inconclusive = 1").fetchone()[0]
    assert report["marketplaces"][0]["hours_inconclusive"] >= 35  # of 48: quiet hours have no rows to keep
    assert marked >= report["marketplaces"][0]["hours_inconclusive"]  # (plus a live refresh it resumed)
    assert c.db.conn.execute("SELECT COUNT(*), SUM(ordered_units) FROM vendor_realtime_sales").fetchone() == stored
    assert c.pending() == 0
    c.clock.instant = c.sim.clock.now()
    c.sim.clock = c.clock
    creates = len(c.transport.created)
    for _ in range(8):  # two hours of cron: inconclusive hours are not re-asked in a loop
        c.cycle()
    recent = iso(c.clock.now() - timedelta(hours=6))  # the live window and the hours settling below it
    assert [w for w in c.transport.created[creates:] if w[1] < recent] == []
    c.transport.cancel_reports = False
    again = run_audit(c.db, c.settings, _running(c), "weekly", (US,), transport=c.transport)
    assert again["marketplaces"][0]["hours_inconclusive"] == 0
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE inconclusive = 1"
                             ).fetchone()[0] == 0


def test_a_first_fetch_cancelled_is_confirmed_before_it_is_final(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS)
    meddler = _meddled(c)
    meddler.cancel_reports = True  # a throttling cancel on the very first gap fill
    c.cycle()
    c.cycle()
    assert {state for _, status, state, _ in _ledger(c, "status = 'APPLIED'")} == {"provisional"}
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_realtime_sales").fetchone()[0] == 0
    meddler.cancel_reports = False
    c.settle(12)
    for _ in range(4 * 5):  # settle hours plus the re-ask delay
        c.cycle()
    settled, lookback = START - timedelta(hours=4), iso(c.clock.now() - timedelta(days=7))
    wrong = c.mismatches(US, settled)
    assert wrong and all(hour < lookback for hour in wrong)  # every real sales hour in the lookback has its rows
    finals = _ledger(c, f"status = 'APPLIED' AND hour_utc < '{iso(settled)}' AND hour_utc >= '{lookback}'")
    assert finals and {state for _, _, state, _ in finals} == {"final"}
    edge = _ledger(c, f"hour_utc < '{lookback}'")  # left the lookback before its check: still provisional
    assert all(state == "provisional" for hour, _, state, _ in edge if hour in wrong)


def test_a_generic_400_fails_the_window_without_learning_a_cap(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS)
    meddler = _meddled(c)
    meddler.on_create = first_n(99, 400, GENERIC_400)
    c.cycle(advance=False)
    failed = c.db.conn.execute("SELECT DISTINCT window_cap, last_error, next_retry_utc FROM "
                               "vendor_rt_sales_hour_ledger WHERE status = 'FAILED'").fetchall()
    assert failed and all(cap is None and "Invalid input" in error for cap, error, _ in failed)
    assert all(parse_instant(retry) > c.clock.now() for *_, retry in failed)  # backoff, not a tight loop
    assert c.db.conn.execute("SELECT COUNT(*) FROM rtsales_state WHERE key LIKE 'max_window_hours:%'"
                             ).fetchone()[0] == 0
    assert max(meddler.window_hours()) == 24  # never split


def test_a_gap_fill_with_one_generic_400_costs_one_report_more(cron: Callable[..., SimulatedCron],
                                                                tmp_path: Path) -> None:
    plain = SimulatedCron(tmp_path / "twin.db", (US,), START, settings=NO_AUDITS)
    c = cron((US,), settings=NO_AUDITS)
    _meddled(c).on_create = first_n(1, 400, GENERIC_400)
    for _ in range(6):  # the failed window waits for its backoff (15 min), then goes out again
        plain.cycle()
        c.cycle()
    assert c.pending() == plain.pending() <= 1
    assert len(c.transport.created) <= plain.sim.log.count("createReport") + 1  # the one refused, at most


def test_a_range_400_splits_and_the_cap_is_reprobed_a_day_later(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS, simulator=Simulator(seed=1, max_window_hours=12))
    c.settle(10)
    assert c.sim.log.count("createReport", 400) == 1
    learned = c.db.conn.execute("SELECT value, updated_at FROM rtsales_state WHERE key = ?",
                                [f"max_window_hours:sales:{US}"]).fetchone()
    assert learned[0] == "12"
    report = collect_status(c.db, c.settings, c.clock.now(), US)["marketplaces"][0]
    assert report["window_cap"]["hours"] == 12
    c.sim.max_window = timedelta(hours=24)  # Amazon relents
    for _ in range(4 * 25):  # a day passes with no range error
        c.cycle()
    c.db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'MISSING', data_state = 'none'")
    c.cycle()  # one full-size window probes the cap and succeeds
    assert c.sim.log.count("createReport", 400) == 1
    assert max(c.transport.window_hours() if c.transport else [24]) == 24
    assert c.db.conn.execute("SELECT COUNT(*) FROM rtsales_state WHERE key = ?",
                             [f"max_window_hours:sales:{US}"]).fetchone()[0] == 0


def test_a_cap_still_refused_after_a_day_is_learned_again_with_one_400(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS, simulator=Simulator(seed=1, max_window_hours=12))
    c.settle(10)
    for _ in range(4 * 25):
        c.cycle()
    assert c.sim.log.count("createReport", 400) == 1  # small windows in steady state: no probe needed
    c.db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'MISSING', data_state = 'none'")
    c.cycle()
    assert c.sim.log.count("createReport", 400) == 2  # one probe, the rest of the run split before sending
    assert c.db.conn.execute("SELECT value FROM rtsales_state WHERE key = ?",
                             [f"max_window_hours:sales:{US}"]).fetchone()[0] == "12"


def test_a_window_in_the_future_is_a_clock_problem_not_a_cap(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS)
    meddler = _meddled(c)
    meddler.on_create = first_n(99, 400, {"errors": [{"code": "InvalidInput", "message":
                                          "dataEndTime 2026-03-10T13:00:00Z is in the future."}]})
    c.cycle()
    assert c.db.conn.execute("SELECT COUNT(*) FROM rtsales_state WHERE key LIKE 'max_window_hours:%'"
                             ).fetchone()[0] == 0
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE window_cap IS NOT NULL"
                             ).fetchone()[0] == 0


def test_no_window_starts_beyond_the_data_age_and_aged_hours_become_unavailable(
        cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS)
    meddler = _meddled(c)
    meddler.on_create = first_n(99, 500, {"errors": [{"code": "InternalFailure", "message": "down"}]})
    c.cycle()  # every window FAILED
    meddler.on_create = None
    c.clock.advance(timedelta(days=2))  # cron was off for two days
    back = c.clock.now()
    first = len(meddler.created)
    c.settle(10)
    assert parse_instant(min(start for _, start, _ in meddler.created[first:])) >= back - timedelta(hours=168)
    counts = dict(c.db.conn.execute("SELECT status, COUNT(*) FROM vendor_rt_sales_hour_ledger GROUP BY 1"))
    assert counts.get("UNAVAILABLE", 0) >= 47 and set(counts) <= {"APPLIED", "REQUESTED", "UNAVAILABLE"}
    assert c.pending() == 0  # (REQUESTED: a live refresh of hours already held)
    report = collect_status(c.db, c.settings, c.clock.now(), US)["marketplaces"][0]
    assert report["ledger"]["UNAVAILABLE"] == counts["UNAVAILABLE"]
    creates = len(meddler.created)
    for _ in range(4):
        c.cycle()
    newest_gone = c.db.conn.execute("SELECT MAX(hour_utc) FROM vendor_rt_sales_hour_ledger "
                                    "WHERE status = 'UNAVAILABLE'").fetchone()[0]
    assert all(start > newest_gone for _, start, _ in meddler.created[creates:])  # never asked again


def test_a_403_with_a_fresh_token_is_a_configuration_error(cron: Callable[..., SimulatedCron]) -> None:
    from rtsales.errors import AccessDeniedError
    c = cron((US,), settings=NO_AUDITS)
    meddler = _meddled(c)
    denied = {"errors": [{"code": "Unauthorized", "message": "Access to the resource is forbidden"}]}
    meddler.on_create = first_n(99, 403, denied)
    try:
        c.cycle()
    except AccessDeniedError as exc:
        assert exc.exit_code == 78 and "Brand Analytics" in (exc.hint or "")
    else:
        raise AssertionError("a repeated 403 must end the run")
    assert len(meddler.created) == 2 and c.sim.log.count("lwa") == 2
    assert c.db.conn.execute("SELECT SUM(attempts), COUNT(*) FROM vendor_rt_sales_hour_ledger "
                             "WHERE status != 'MISSING'").fetchone() == (None, 0)
    status = collect_status(c.db, c.settings, c.clock.now(), US)
    assert not status["ok"] and "Brand Analytics" in status["marketplaces"][0]["diagnosis"]
    meddler.on_create = None
    c.cycle()
    assert collect_status(c.db, c.settings, c.clock.now(), US)["marketplaces"][0]["access_error"] is None


def test_a_403_that_a_new_token_cures_is_not_an_error(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS)
    meddler = _meddled(c)
    meddler.on_create = first_n(1, 403, {"errors": [{"code": "Unauthorized", "message": "token expired"}]})
    c.settle(4)
    assert c.pending() == 0 and len(meddler.created) == c.sim.log.count("createReport") + 1
    assert collect_status(c.db, c.settings, c.clock.now(), US)["marketplaces"][0]["access_error"] is None


def test_hours_amazon_refuses_for_their_age_end_unavailable_not_failed_forever(
        cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,), settings=NO_AUDITS, simulator=Simulator(seed=2, max_data_age_hours=100))
    c.settle(30)  # Amazon serves less than MAX_DATA_AGE_HOURS says: its "out of range" answers teach which
    counts = dict(c.db.conn.execute("SELECT status, COUNT(*) FROM vendor_rt_sales_hour_ledger GROUP BY 1"))
    assert set(counts) <= {"APPLIED", "REQUESTED", "UNAVAILABLE"} and 60 <= counts["UNAVAILABLE"] <= 70
    assert c.pending() == 0
    oldest_served = iso(c.clock.now() - timedelta(hours=100))
    assert c.db.conn.execute("SELECT MIN(hour_utc) FROM vendor_rt_sales_hour_ledger WHERE status = 'APPLIED'"
                             ).fetchone()[0] >= oldest_served[:13]
    refused = c.sim.log.count("createReport", 400)
    assert refused <= 8  # older hours retire at once, the edge window is halved: not one request per hour
    for _ in range(16):
        c.cycle()
    assert c.sim.log.count("createReport", 400) <= refused + 1  # at most the edge, as it ages meanwhile
    assert c.pending() <= 1
