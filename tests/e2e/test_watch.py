"""`rtsales watch` end to end: a stock-out injected in the simulator, synced by cron with every report
kind, flagged once with its stock, then as broken conversion once its glance views land."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from typer.testing import CliRunner

from rtsales.cli import app
from rtsales.clock import HOUR, FrozenClock, floor_hour, hour_key, iso
from rtsales.simulator import Demand, Event, Simulator
from rtsales.simulator.cron import SimulatedCron
from tests.e2e.conftest import START, US

runner = CliRunner()
FIRST = floor_hour(START) + 2 * HOUR  # the stock-out's first hour


def _watch(cron: SimulatedCron, *args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["--db", str(cron.settings.db_path), "watch", "--json", *args],
                           env={"RTSALES_NOW": iso(cron.clock.now())})  # no credentials: watch needs none
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


def test_a_stockout_in_the_simulator_is_flagged_once_after_its_second_hour_lands(
        cron: Callable[..., SimulatedCron]) -> None:
    sim = Simulator(seed=4, clock=FrozenClock(START), demand=Demand(busy_share=1.0))
    asin = max(sim.truth.catalogue(US), key=lambda a: sim.truth.rate(US, a))
    sim.truth.add_event(Event("stockout", US, asin, FIRST, FIRST + 4 * HOUR))
    c = cron(simulator=sim, settings={"REPORT_TYPES": "sales,traffic,inventory"})
    while c.clock.now() < FIRST + HOUR + timedelta(minutes=25):  # the stock-out's first hour has landed
        c.cycle()
    code, report = _watch(c)
    assert code == 0 and report["flags"] == [], report  # one hour at zero is not yet a drop
    while c.clock.now() < FIRST + 2 * HOUR + timedelta(minutes=25):  # and its second
        c.cycle()
    code, report = _watch(c)
    assert code == 1, report
    flags = {(f["asin"], f["kind"]): f for f in report["flags"]}
    drop = flags[(asin, "drop")]
    assert drop["start_hour"] == hour_key(FIRST) and [h["units"] for h in drop["hours"]] == [0, 0]
    assert all(h["baseline"] >= 5 for h in drop["hours"]) and drop["provisional"] and drop["revenue"] < 0
    assert (drop["stock"], drop["why"]) == (0, "out of stock: sellable units 0")
    assert set(flags) == {(asin, "drop")}, "nothing else is flagged (its glance views are not in yet)"
    assert _watch(c) == (0, {**report, "new": 0, "reported_before": 1, "flags": []})
    while c.clock.now() < FIRST + 4 * HOUR:  # traffic is asked for at least an hour after the hour's end
        c.cycle()
    code, report = _watch(c)
    assert code == 1 and [(f["asin"], f["kind"]) for f in report["flags"]] == [(asin, "conversion")], report
    assert all(h["glance_views"] >= 0.5 * h["views_baseline"] > 0 for h in report["flags"][0]["hours"])
