"""`rtsales watch` on crafted hours: each flag, the numbers it rests on, baselines that leave out the
events reported before, and reporting each event once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from rtsales.clock import HOUR, hour_key, iso
from rtsales.config import load_settings
from rtsales.store import open_db, transaction
from rtsales.views.watch import Thresholds, watch_report
from tests.watch_data import NEWEST, NOW, PRICE, START, US, Units, build, hour, steady


def _watch(path: Path, *, now: datetime = NOW, **options: Any) -> dict[str, Any]:
    db = open_db(path)
    try:
        return watch_report(db, [US], Thresholds.of(), now, **options)
    finally:
        db.conn.close()


def _flags(path: Path, series: dict[str, Units], **build_options: Any) -> dict[tuple[str, str], dict[str, Any]]:
    build(path, series, **build_options)
    return {(f["asin"], f["kind"]): f for f in _watch(path)["flags"]}


def _remembered(path: Path) -> list[tuple[str, ...]]:
    db = open_db(path)
    try:
        return db.execute("SELECT asin, kind, start_hour, last_hour FROM rtsales_watch_flags ORDER BY 1, 2, 3").fetchall()
    finally:
        db.conn.close()


def test_a_drop_to_zero_for_two_hours_is_flagged_with_its_hours_baselines_and_lost_revenue(tmp_path: Path) -> None:
    flags = _flags(tmp_path / "w.db", {"B0DROP0001": steady(10, zero=(hour("03-20T10"), hour("03-21T00"))),
                                       "B0STEADY01": steady(10)})
    assert list(flags) == [("B0DROP0001", "drop")]
    drop = flags[("B0DROP0001", "drop")]
    assert (drop["start_hour"], drop["last_hour"]) == ("2026-03-20T10:00:00Z", "2026-03-20T11:00:00Z")
    assert [(h["units"], h["baseline"], h["provisional"]) for h in drop["hours"]] == [(0, 10, False), (0, 10, False)]
    assert drop["revenue"] == -2 * 10 * PRICE and drop["new"] and not drop["provisional"]


def test_one_low_hour_is_not_yet_a_drop(tmp_path: Path) -> None:
    assert _flags(tmp_path / "w.db", {"B0DROP0001": steady(10, zero=(hour("03-20T11"), hour("03-21T00")))}) == {}


def test_a_far_below_baseline_counts_as_a_drop_but_not_a_dip(tmp_path: Path) -> None:
    def units(h: datetime) -> int:
        return {hour("03-20T10"): 2, hour("03-20T11"): 1}.get(h, 10)
    assert set(_flags(tmp_path / "low.db", {"B0DROP0001": units})) == {("B0DROP0001", "drop")}
    dip = {hour("03-20T10"): 5, hour("03-20T11"): 4}
    assert _flags(tmp_path / "dip.db", {"B0DIP00001": lambda h: dip.get(h, 10)}) == {}


def test_no_drop_below_the_minimum_baseline(tmp_path: Path) -> None:
    assert _flags(tmp_path / "w.db", {"B0SLOW0001": steady(3, zero=(hour("03-20T06"), hour("03-21T00")))}) == {}


def test_a_spike_is_flagged_once_it_lasts_two_hours_with_the_extra_revenue(tmp_path: Path) -> None:
    flags = _flags(tmp_path / "w.db", {"B0SPIKE001": steady(6, times=5, during=(hour("03-20T10"), hour("03-21T00")))})
    spike = flags[("B0SPIKE001", "spike")]
    assert (spike["start_hour"], [(h["units"], h["baseline"]) for h in spike["hours"]]) == (
        "2026-03-20T10:00:00Z", [(30, 6), (30, 6)])
    assert spike["revenue"] == 2 * 24 * PRICE


def test_one_busy_hour_is_a_spike_only_with_watch_spike_hours_1(tmp_path: Path) -> None:
    path = build(tmp_path / "w.db", {"B0SPIKE001": steady(6, times=5, during=(hour("03-20T11"), hour("03-21T00")))})
    assert _watch(path)["flags"] == []
    db = open_db(path)
    one = Thresholds.of(load_settings(environ={"WATCH_SPIKE_HOURS": "1"}))
    spike = watch_report(db, [US], one, NOW)["flags"]
    db.conn.close()
    assert [(f["kind"], f["start_hour"], f["revenue"]) for f in spike] == [("spike", "2026-03-20T11:00:00Z", 240.0)]


def test_a_slow_seller_tripling_is_no_spike_below_the_minimum_baseline(tmp_path: Path) -> None:
    assert _flags(tmp_path / "w.db", {"B0SLOW0001": steady(1, times=4, during=(hour("03-20T11"), hour("03-21T00")))}) == {}


def test_a_new_asin_is_flagged_once_the_database_knows_the_catalogue(tmp_path: Path) -> None:
    launch = hour("03-20T09")
    series = {"B0OLD00001": steady(4), "B0NEW00001": lambda h: 3 if h >= launch else 0}
    flags = _flags(tmp_path / "w.db", series)
    new = flags[("B0NEW00001", "new")]
    assert new["start_hour"] == iso(launch) and [h["units"] for h in new["hours"]] == [3, 3, 3]
    assert new["revenue"] == 9 * PRICE
    young = _flags(tmp_path / "young.db", series, start=NEWEST - 3 * 24 * HOUR)  # 3 days: everything looks new
    assert young == {}


def test_an_asin_that_vanished_is_flagged_after_watch_vanished_hours(tmp_path: Path) -> None:
    gone = hour("03-19T12")  # 24 held hours without a row by NEWEST
    flags = _flags(tmp_path / "w.db", {"B0GONE0001": lambda h: 2 if h < gone else 0, "B0OLD00001": steady(4)})
    vanished = flags[("B0GONE0001", "vanished")]
    assert (vanished["start_hour"], len(vanished["hours"])) == (iso(gone), 24)
    assert vanished["revenue"] == pytest.approx(-24 * 2 * PRICE)
    later = _flags(tmp_path / "23h.db", {"B0GONE0001": lambda h: 2 if h < gone + HOUR else 0})
    assert later == {}


def test_provisional_hours_are_marked(tmp_path: Path) -> None:
    flags = _flags(tmp_path / "w.db", {"B0DROP0001": steady(10, zero=(hour("03-20T10"), hour("03-21T00")))},
                   provisional_from=hour("03-20T11"))
    drop = flags[("B0DROP0001", "drop")]
    assert drop["provisional"] and [h["provisional"] for h in drop["hours"]] == [False, True]


def test_hours_not_held_are_unknown_not_zero(tmp_path: Path) -> None:
    path = build(tmp_path / "w.db", {"B0STEADY01": steady(10)})
    db = open_db(path)
    with transaction(db) as conn:
        conn.execute("UPDATE vendor_rt_sales_hour_ledger SET data_state = 'none' WHERE hour_utc < ?",
                     [hour_key(hour("03-20T10"))])
        conn.execute("DELETE FROM vendor_realtime_sales WHERE hour_utc >= ? AND hour_utc < ?",
                     [hour_key(hour("03-18T00")), hour_key(hour("03-20T10"))])
    db.conn.close()
    assert _watch(path)["flags"] == []


def test_each_event_is_reported_once_and_all_shows_it_again(tmp_path: Path) -> None:
    path = build(tmp_path / "w.db", {"B0DROP0001": steady(10, zero=(hour("03-20T10"), hour("03-21T00")))})
    first = _watch(path)
    assert (first["new"], len(first["flags"])) == (1, 1)
    assert _remembered(path) == [("B0DROP0001", "drop", "2026-03-20T10:00:00Z", "2026-03-20T11:00:00Z")]
    again = _watch(path)
    assert (again["new"], again["reported_before"], again["flags"]) == (0, 1, [])
    shown = _watch(path, show_all=True)
    assert [(f["kind"], f["new"]) for f in shown["flags"]] == [("drop", False)]


def test_an_event_that_goes_on_is_not_new_again_and_its_last_hour_moves(tmp_path: Path) -> None:
    series = {"B0DROP0001": steady(10, zero=(hour("03-20T10"), hour("03-21T00")))}
    early = build(tmp_path / "w.db", series, newest=hour("03-20T11"))
    assert _watch(early)["new"] == 1
    db = open_db(early)
    with transaction(db) as conn:  # two more hours land, still without a sale
        conn.executemany("INSERT INTO vendor_rt_sales_hour_ledger (marketplace_id, hour_utc, status, updated_at, "
                         "data_state) VALUES (?, ?, 'APPLIED', ?, 'provisional')",
                         [(US, hour_key(hour(h)), iso(NOW)) for h in ("03-20T12", "03-20T13")])
    db.conn.close()
    later = _watch(early, now=NOW + 2 * HOUR)
    assert later["new"] == 0 and later["reported_before"] == 1
    assert _remembered(early) == [("B0DROP0001", "drop", "2026-03-20T10:00:00Z", "2026-03-20T13:00:00Z")]


def test_a_second_event_after_a_recovery_is_new(tmp_path: Path) -> None:
    def units(h: datetime) -> int:
        return 0 if h in (hour("03-20T06"), hour("03-20T07"), hour("03-20T10"), hour("03-20T11")) else 10
    path = build(tmp_path / "w.db", {"B0DROP0001": units})
    db = open_db(path)
    with transaction(db) as conn:  # the first was reported by an earlier run
        conn.execute("INSERT INTO rtsales_watch_flags VALUES (?, 'B0DROP0001', 'drop', ?, ?, ?, ?, '{}')",
                     [US, hour_key(hour("03-20T06")), hour_key(hour("03-20T07")), iso(NOW), iso(NOW)])
    db.conn.close()
    report = _watch(path)
    assert [(f["start_hour"], f["new"]) for f in report["flags"]] == [("2026-03-20T10:00:00Z", True)]


def test_no_record_remembers_nothing(tmp_path: Path) -> None:
    path = build(tmp_path / "w.db", {"B0DROP0001": steady(10, zero=(hour("03-20T10"), hour("03-21T00")))})
    assert _watch(path, record=False)["new"] == 1
    assert _remembered(path) == []
    assert _watch(path, record=False)["new"] == 1


def test_baselines_leave_out_the_hours_of_events_reported_before(tmp_path: Path) -> None:
    # On 8 of the last 14 days 10:00 and 11:00 sold nothing: the median of those hours is 0, unless
    # those reported outages are left out (6 ordinary days remain, enough for a baseline of 10).
    outages = [hour(f"03-{day:02d}T10") for day in range(12, 20)]
    def units(h: datetime) -> int:
        return 0 if h.hour in (10, 11) and (h.day >= 20 or h.replace(hour=10) in outages) else 10
    path = build(tmp_path / "w.db", {"B0DROP0001": units})
    assert _watch(path, record=False)["flags"] == []  # nobody reported those outages: no baseline to fall from
    db = open_db(path)
    with transaction(db) as conn:
        conn.executemany("INSERT INTO rtsales_watch_flags VALUES (?, 'B0DROP0001', 'drop', ?, ?, ?, ?, '{}')",
                         [(US, hour_key(h), hour_key(h + HOUR), iso(NOW), iso(NOW)) for h in outages])
    db.conn.close()
    drop = _watch(path)["flags"]
    assert [(f["kind"], [h["baseline"] for h in f["hours"]]) for f in drop] == [("drop", [10, 10])]


def test_flags_are_sorted_by_revenue_at_stake(tmp_path: Path) -> None:
    zero = (hour("03-20T10"), hour("03-21T00"))
    build(tmp_path / "w.db", {"B0SMALL001": steady(6, zero=zero), "B0BIG00001": steady(40, zero=zero),
                              "B0SPIKE001": steady(10, times=3, during=(hour("03-20T10"), hour("03-21T00")))})
    assert [f["asin"] for f in _watch(tmp_path / "w.db")["flags"]] == ["B0BIG00001", "B0SPIKE001", "B0SMALL001"]


def test_an_empty_database_flags_nothing(tmp_path: Path) -> None:
    open_db(tmp_path / "w.db").conn.close()
    report = _watch(tmp_path / "w.db")
    assert report["flags"] == [] and report["marketplaces"] == [{"marketplace_id": US, "newest_hour": None}]


def test_the_start_of_history_is_no_event(tmp_path: Path) -> None:
    assert _flags(tmp_path / "w.db", {"B0STEADY01": steady(10)}, start=START) == {}


def test_small_counts_that_chance_explains_are_not_flagged(tmp_path: Path) -> None:
    # Within the ratios (1 <= 0.25 x 6; 15 >= 3 x 5), but a Poisson count around 6 (5) an hour
    # comes out this low (high) once in a few thousand hours: noise, in a catalogue of thousands.
    low = {hour("03-20T10"): 1, hour("03-20T11"): 1}
    assert _flags(tmp_path / "low.db", {"B0DROP0001": lambda h: low.get(h, 6)}) == {}
    one = Thresholds.of(load_settings(environ={"WATCH_SPIKE_HOURS": "1"}))
    for units, flagged in ((15, False), (20, True)):
        path = build(tmp_path / f"high{units}.db", {"B0SPIKE001": lambda h, u=units: u if h == NEWEST else 5})
        db = open_db(path)
        assert bool(watch_report(db, [US], one, NOW, record=False)["flags"]) is flagged, units
        db.conn.close()
