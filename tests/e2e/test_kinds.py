"""Issue 16's guarantees for every report kind, end to end: the real sync path against the simulator.

Each test runs one kind (REPORT_TYPES=<kind>) or all three, with a short lookback to stay
fast: a gap fill equal to the simulator's truth, the live refresh and the settle fetch, a
daily audit, a crash at each step, CANCELLED and FATAL answers, the window limits of each
kind's schema, the createReport budget all kinds share, and one history of stock and sales.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from rtsales.clock import HOUR, iso, parse_hour
from rtsales.kinds import KINDS
from rtsales.simulator import Faults, Simulator
from rtsales.simulator.cron import SimulatedCron
from rtsales.sync.operator import fill_day, run_audit
from rtsales.views.status import collect_status
from tests.clocks import SteppingClock
from tests.e2e.conftest import CA, START, US, fatal_gap_fill
from tests.e2e.meddler import Meddler, Sent
from tests.e2e.test_crash_quota_lock import KILL_POINTS, kill_a_sync

ALL = "sales,traffic,inventory"
EACH = list(KINDS)
SHORT = {"LOOKBACK_DAYS": "2", "ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "false"}
SETTLED = START - timedelta(hours=4)  # hours fetched after this had settled (revision_hours=3)
Numbers = dict[str, tuple[int, ...]]


def _one_kind(cron: Callable[..., SimulatedCron], kind: str, **kwargs: Any) -> SimulatedCron:
    """A cron of `kind` alone for US, two days of lookback, no cron audits; a Meddler records what it asks."""
    c = cron((US,), settings={**SHORT, "REPORT_TYPES": kind, **kwargs.pop("settings", {})}, **kwargs)
    c.transport = Meddler(c.sim.transport(), now=c.sim.now)
    return c


def _meddler(c: SimulatedCron) -> Meddler:
    assert isinstance(c.transport, Meddler)
    return c.transport


def _hours(c: SimulatedCron, kind: str, where: str = "1", mp: str = US) -> list[str]:
    return [k for (k,) in c.db.conn.execute(f"SELECT hour_utc FROM vendor_rt_sales_hour_ledger WHERE report_kind = ? "
                                            f"AND marketplace_id = ? AND {where} ORDER BY hour_utc", [kind, mp])]


def _rows(c: SimulatedCron, kind: str) -> list[tuple[Any, ...]]:
    """Every row of the kind's table, report_id and all."""
    return c.db.conn.execute(f"SELECT * FROM {KINDS[kind].table} ORDER BY 1, 2, 3").fetchall()


def _observed(c: SimulatedCron, kind: str, key: str, at: datetime) -> Numbers:
    """asin -> the kind's numbers as a report made at `at` showed them (as `SimulatedCron.stored` reads them)."""
    hour = parse_hour(key)
    if kind == "sales":
        return {a: (s.units, s.revenue_cents) for a, s in c.sim.truth.observed(US, hour, at).items()}
    truth = c.sim.reports.traffic if kind == "traffic" else c.sim.reports.inventory
    return {a: (value,) for a, value in truth.observed(US, hour, at).items()}


def _running(c: SimulatedCron) -> SteppingClock:
    """A clock that moves while an operator command waits for its reports, as in production."""
    clock = SteppingClock(c.clock.now())
    c.sim.clock = clock
    return clock


def _back_to_cron(c: SimulatedCron) -> None:
    c.clock.instant = c.sim.clock.now()
    c.sim.clock = c.clock


def _asked(meddler: Meddler, since: int = 0) -> set[str]:
    return {sent.report_type for sent in meddler.sent[since:]}


# -- gap fill, live refresh, settle fetch ------------------------------------------------------------

@pytest.mark.parametrize(("kind", "hours"), [("sales", 48), ("traffic", 47), ("inventory", 48)])
def test_a_gap_fill_of_each_kind_equals_the_simulators_truth(cron: Callable[..., SimulatedCron], kind: str,
                                                             hours: int) -> None:
    c = _one_kind(cron, kind)
    c.cycle()
    c.cycle()
    held = _hours(c, kind, "data_state != 'none'")
    assert len(held) == hours and c.pending() == 0  # 12:00 two days ago .. the newest hour the kind allows
    assert held[-1] == ("2026-03-10T10:00:00Z" if kind == "traffic" else "2026-03-10T11:00:00Z")
    assert len([k for k in held if k < iso(SETTLED)]) >= 40
    assert c.mismatches(US, SETTLED, kind) == []
    assert _asked(_meddler(c)) == {KINDS[kind].report_type}
    assert c.sim.log.count(status=429) == 0 and c.sim.log.count("createReport", 400) == 0
    assert [k for k in KINDS if _rows(c, k)] == [kind]  # rows in its own table only


@pytest.mark.parametrize("kind", EACH)
def test_each_live_refresh_stores_what_amazon_showed_and_revisions_reach_the_database(
        cron: Callable[..., SimulatedCron], kind: str) -> None:
    c = _one_kind(cron, kind, simulator=Simulator(seed=0, revision_hours=2.5))
    c.settle(10)
    for _ in range(4):
        c.cycle()
    unsettled = 0
    for _ in range(12):  # three hours: every run must find each live hour as Amazon showed it when asked
        c.cycle()  # applies the live refresh made 15 minutes ago, makes the next one
        asked = c.clock.now() - timedelta(minutes=30)  # the report this cycle applied, made one cycle earlier
        live = _hours(c, kind, f"data_state = 'provisional' AND hour_utc >= '{iso(asked - timedelta(hours=3))}'")
        assert live
        for key in live:
            seen = _observed(c, kind, key, asked + c.sim.reports.processing)
            assert c.stored(US, key, kind) == seen, key
            unsettled += seen != c.truth(US, key, kind)  # a revision still to come: the next refresh must carry it
    assert unsettled > 0 or kind == "inventory"  # stock is never revised
    assert c.sim.log.count(status=429) == 0


@pytest.mark.parametrize("kind", EACH)
def test_the_settle_fetch_makes_each_hour_of_each_kind_final_and_true(cron: Callable[..., SimulatedCron],
                                                                     kind: str) -> None:
    c = _one_kind(cron, kind)
    c.settle(10)
    first = c.clock.now() - timedelta(hours=3)  # hours still provisional then
    for _ in range(4 * 8):
        c.cycle()
    settled = iso(c.clock.now() - timedelta(hours=4, minutes=30))
    hours = c.db.conn.execute("SELECT hour_utc, data_state, requested_at FROM vendor_rt_sales_hour_ledger "
                              "WHERE report_kind = ? AND hour_utc >= ? AND hour_utc < ?",
                              [kind, iso(first), settled]).fetchall()
    assert len(hours) >= 6
    for key, state, requested_at in hours:
        assert state == "final" and requested_at >= iso(parse_hour(key) + HOUR + timedelta(hours=3)), key
        assert c.stored(US, key, kind) == c.truth(US, key, kind), key
    assert c.mismatches(US, c.clock.now() - timedelta(hours=4), kind) == []


# -- audits --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", EACH)
def test_a_daily_audit_of_one_kind_refetches_it_and_a_cancelled_refetch_keeps_every_row(
        cron: Callable[..., SimulatedCron], kind: str) -> None:
    c = cron((US,), settings={**SHORT, "REPORT_TYPES": ALL})
    c.settle(5)
    bad = "2026-03-09T16:00:00Z"  # 20 hours back, long settled
    table, column = KINDS[kind].table, KINDS[kind].columns[0]
    assert c.db.conn.execute(f"UPDATE {table} SET {column} = {column} + 100 WHERE hour_utc = ?", [bad]).rowcount
    meddler = Meddler(c.sim.transport())
    report = run_audit(c.db, c.settings, _running(c), "daily", (US,), transport=meddler, kinds=(kind,))
    (run,) = report["marketplaces"]
    assert run["report_kind"] == kind and run["hours"] >= 40 and run["hours_changed"] >= 1 and run["finished_at"]
    assert c.stored(US, bad, kind) == c.truth(US, bad, kind)  # re-fetched and put right
    assert _asked(meddler) == {KINDS[kind].report_type}  # the other kinds were not asked for
    assert c.db.conn.execute("SELECT report_kind FROM vendor_rt_sales_audit_runs").fetchall() == [(kind,)]

    before = {k: _rows(c, k) for k in KINDS}
    meddler.cancel_reports = True  # Amazon cancels the next re-fetch ("asked too often")
    again = run_audit(c.db, c.settings, _running(c), "daily", (US,), transport=meddler, kinds=(kind,))
    assert {k: _rows(c, k) for k in KINDS} == before  # not one row of any kind deleted or replaced
    unsure = again["marketplaces"][0]["hours_inconclusive"]
    assert unsure >= 40 and len(_hours(c, kind, "inconclusive = 1")) >= unsure
    assert [k for k in KINDS if _hours(c, k, "inconclusive = 1")] == [kind]
    assert c.pending() == 0


# -- a crash at each step --------------------------------------------------------------------------------

def _in_flight(c: SimulatedCron, kind: str) -> dict[str, tuple[str, str]]:
    """hour -> (status, report_id) of the hours a report was attached to and not yet applied."""
    return {key: (status, report_id) for key, status, report_id in c.db.conn.execute(
        "SELECT hour_utc, status, report_id FROM vendor_rt_sales_hour_ledger WHERE report_kind = ? "
        "AND status IN ('REQUESTED', 'DOWNLOADED') AND report_id IS NOT NULL", [kind])}


def _fetched(c: SimulatedCron, report_id: str, since: int) -> bool:
    """The report's document was asked for (getReportDocument) after request number `since`."""
    return any(e.operation == "getReportDocument" and f".{report_id}." in e.path for e in c.sim.log.entries[since:])


@pytest.mark.parametrize("point", KILL_POINTS)
@pytest.mark.parametrize("kind", EACH)
def test_a_crash_at_each_step_resumes_by_report_id_and_loses_or_doubles_no_hour(
        cron: Callable[..., SimulatedCron], monkeypatch: pytest.MonkeyPatch, kind: str, point: str) -> None:
    c = _one_kind(cron, kind)
    if point != "after_create":
        c.cycle()  # reports exist; the kill comes while collecting them
    kill_a_sync(c, monkeypatch, point)
    dead = _in_flight(c, kind)
    assert bool(dead) == (point != "after_create")  # (after createReport: the id died with the process)
    asked, logged = len(_meddler(c).sent), len(c.sim.log.entries)
    c.clock.advance(timedelta(minutes=15))  # the next cron run: the dead lease has expired
    c.run_command("sync-next")
    for key, (status, report_id) in dead.items():  # finished from the report the dead run had, not asked again
        stored = {row[-2] for row in _rows(c, kind) if row[2] == key}  # report_id of the hour's rows
        assert stored <= {report_id} and _hours(c, kind, f"hour_utc = '{key}' AND data_state != 'none'"), key
        if status == "DOWNLOADED":
            assert not _fetched(c, report_id, logged)  # applied from the stored document
    settled = [parse_hour(k) for k in dead if k < iso(SETTLED)]  # out of the live window: no refresh asks again
    assert bool(settled) == bool(dead)
    assert not [s for s in _meddler(c).sent[asked:] if any(s.start <= hour < s.end for hour in settled)]
    for _ in range(8):
        c.clock.advance(timedelta(minutes=15))
        c.run_command("sync-next")
    assert c.pending() <= 1 and not _hours(c, kind, f"hour_utc < '{iso(START - timedelta(hours=3))}' "
                                                    "AND data_state = 'none'")
    assert c.mismatches(US, SETTLED, kind) == []
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_documents").fetchone()[0] <= 1


# -- Amazon's CANCELLED and FATAL ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", EACH)
def test_a_cancelled_first_answer_is_provisional_and_a_cancelled_refresh_never_erases_rows(
        cron: Callable[..., SimulatedCron], kind: str) -> None:
    c = _one_kind(cron, kind)
    meddler = _meddler(c)
    meddler.cancel_reports = True  # a throttling cancel on the very first gap fill
    c.cycle()
    c.cycle()
    assert {state for (state,) in c.db.conn.execute(
        "SELECT DISTINCT data_state FROM vendor_rt_sales_hour_ledger WHERE status = 'APPLIED'")} == {"provisional"}
    assert _rows(c, kind) == []
    meddler.cancel_reports = False
    c.settle(12)
    for _ in range(4 * 5):  # settle hours plus the re-ask delay
        c.cycle()
    lookback = iso(c.clock.now() - timedelta(days=2))
    wrong = c.mismatches(US, SETTLED, kind)
    assert all(key < lookback for key in wrong)  # every hour in the lookback was asked again and is true
    settled = f"hour_utc >= '{lookback}' AND hour_utc < '{iso(SETTLED)}'"
    assert len(_hours(c, kind, settled)) >= 30 and _hours(c, kind, f"{settled} AND data_state != 'final'") == []
    assert not set(wrong) & set(_hours(c, kind, "data_state = 'final'"))  # left the lookback unconfirmed: not final

    held = {key: c.stored(US, key, kind) for key in _hours(c, kind, "data_state != 'none'")}
    meddler.cancel_reports = True  # now the live refreshes are cancelled
    for _ in range(4):
        c.cycle()
    assert all(c.stored(US, key, kind) == rows for key, rows in held.items())  # kept, not emptied
    assert set(held) <= set(_hours(c, kind, "data_state != 'none'"))
    assert _hours(c, kind, "inconclusive = 1")


@pytest.mark.parametrize("kind", EACH)
def test_a_fatal_window_is_split_and_retried_and_a_fatal_refresh_keeps_the_rows(
        cron: Callable[..., SimulatedCron], kind: str) -> None:
    c = _one_kind(cron, kind)
    fatal_gap_fill(c)
    c.settle(40)
    assert c.pending() == 0 and c.mismatches(US, SETTLED, kind) == []

    held = {key: c.stored(US, key, kind) for key in _hours(c, kind, "data_state != 'none'")}
    c.sim.set_faults(Faults(p_fatal=1.0))  # now the live refreshes fail
    for _ in range(3):
        c.cycle()
    assert _hours(c, kind, "status = 'APPLIED' AND last_error LIKE '%FATAL%'")  # held hours whose refresh failed
    assert all(c.stored(US, key, kind) == rows for key, rows in held.items())
    assert set(held) <= set(_hours(c, kind, "data_state != 'none'"))
    c.sim.set_faults(Faults())
    c.settle(40)
    assert c.pending() == 0 and c.mismatches(US, c.clock.now() - timedelta(hours=4), kind) == []


# -- the limits each kind's schema states ----------------------------------------------------------------

def _by_type(meddler: Meddler, kind: str) -> list[Sent]:
    return [sent for sent in meddler.sent if sent.report_type == KINDS[kind].report_type]


def test_every_request_keeps_its_kinds_schema_limits_in_gaps_refreshes_audits_and_fill_day(
        cron: Callable[..., SimulatedCron]) -> None:
    # Amazon (the simulator) would serve 400 hours and 48-hour windows: only the schemas stop traffic
    # and inventory requests, and they must stop rtsales before the simulator refuses anything.
    wide = {"REPORT_TYPES": ALL, "LOOKBACK_DAYS": "10", "MAX_DATA_AGE_HOURS": "400", "MAX_WINDOW_HOURS": "48",
            "ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "false"}
    c = cron((US,), settings=wide, simulator=Simulator(seed=0, max_data_age_hours=400, max_window_hours=48))
    meddler = c.transport = Meddler(c.sim.transport(), now=c.sim.now)
    c.settle(40)
    for _ in range(4 * 2):  # live refreshes and settle fetches
        c.cycle()
    run_audit(c.db, c.settings, _running(c), "weekly", (US,), transport=meddler)  # more than one run's budget
    _back_to_cron(c)
    for _ in range(4 * 4):  # cron re-fetches the rest of the audit while its oldest inventory hours age
        c.cycle()
    assert c.pending() == 0
    fill_day(c.db, c.settings, _running(c), iso(c.clock.now() - timedelta(days=7))[:10], "UTC", (US,),
             transport=meddler, kinds=("inventory", "traffic"))  # a day partly older than inventory's 168 hours
    _back_to_cron(c)
    assert c.sim.log.count("createReport", 400) == 0

    traffic, inventory, sales = _by_type(meddler, "traffic"), _by_type(meddler, "inventory"), _by_type(meddler, "sales")
    assert all(s.at and s.end <= s.at - timedelta(minutes=60) for s in traffic)
    assert min(s.at - s.end for s in traffic if s.at) < timedelta(minutes=75)  # and as soon as it is allowed
    assert all(s.at and s.start >= s.at - timedelta(hours=168) for s in inventory)
    assert all(s.end - s.start <= timedelta(hours=24) for s in inventory)
    assert min(s.start - (s.at or s.start) for s in inventory) < timedelta(hours=-167)  # reached the limit
    assert max(s.end - s.start for s in sales) == timedelta(hours=48)  # the others are not held to them
    assert min(s.start - (s.at or s.start) for s in sales) < timedelta(hours=-200)
    assert min(s.at - s.end for s in sales if s.at) < timedelta(minutes=60)
    audited = dict(c.db.conn.execute("SELECT report_kind, hours FROM vendor_rt_sales_audit_runs"))
    assert audited.keys() == set(KINDS) and min(audited.values()) >= 160, audited


# -- one createReport budget for every kind --------------------------------------------------------------

FIVE = (US, CA, "A1AM78C64UM0Y8", "A2Q3Y263D00KWC", "A1PA6795UKMFR9")


def test_three_kinds_for_five_marketplaces_share_the_budget_without_a_429(
        cron: Callable[..., SimulatedCron]) -> None:
    c = cron(FIVE, settings={"REPORT_TYPES": ALL, "LOOKBACK_DAYS": "1"})
    meddler = c.transport = Meddler(c.sim.transport(), now=c.sim.now)
    c.settle(40)
    for _ in range(4 * 4):
        c.cycle()
    start = len(meddler.sent)
    for _ in range(4 * 24):  # a day of cron, with each lane's daily audit (due a day after the first run)
        c.cycle()
    assert c.sim.log.count(status=429) == 0
    steady = meddler.sent[start:]
    per_lane = {(k, mp): sum(1 for s in steady if (s.report_type, s.marketplace_id) == (KINDS[k].report_type, mp))
                for k in KINDS for mp in FIVE}
    assert len(steady) <= 24 * 30  # half of createReport's 60 an hour (QUOTA_BUDGET_PERCENT=50)
    assert min(per_lane.values()) >= 24, per_lane  # every lane refreshed at the shared interval (60 min)
    assert c.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_audit_runs WHERE hours > 0 AND finished_at "
                             "IS NOT NULL").fetchone()[0] == 15  # the audits of every lane fitted in too
    live = collect_status(c.db, c.settings, c.clock.now())["live_refresh"]
    assert live["lanes"] == 15 and live["report_kinds"] == list(KINDS) and live["effective_minutes"] == 60
    for kind in KINDS:
        for mp in FIVE:
            newest = max(_hours(c, kind, "data_state != 'none'", mp))
            assert parse_hour(newest) >= c.clock.now() - timedelta(hours=3), (kind, mp)  # kept fresh
            assert c.mismatches(mp, c.clock.now() - timedelta(hours=4), kind) == [], (kind, mp)


# -- one history of stock, sales and traffic -------------------------------------------------------------

def test_an_asin_without_stock_sells_nothing_and_glance_views_cover_every_unit(
        cron: Callable[..., SimulatedCron]) -> None:
    c = cron((CA,), settings={**SHORT, "REPORT_TYPES": ALL})
    c.settle(10)
    for _ in range(4 * 4):  # every hour older than four hours is final
        c.cycle()
    final = iso(c.clock.now() - timedelta(hours=4))
    stock = {(hour, asin): units for _, asin, hour, units, *_ in _rows(c, "inventory") if hour < final}
    sold = {(hour, asin): units for _, asin, hour, units, *_ in _rows(c, "sales") if hour < final}
    views = {(hour, asin): seen for _, asin, hour, seen, *_ in _rows(c, "traffic") if hour < final}
    empty = [key for key, units in stock.items() if units == 0]
    assert len(empty) >= 5 and len(sold) >= 200  # the rule was really exercised
    assert [key for key in empty if key in sold] == []  # no stock, no sale in that hour
    assert [key for key, units in sold.items() if units > views.get(key, 0)] == []
