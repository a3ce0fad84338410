"""REPORT_TYPES and --kind: which report kinds rtsales keeps, and which one a command works on.

The commands run in-process against the simulator served on loopback; what they asked for
is read from the simulator's own reports (each knows its reportType and window).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rtsales.cli import app
from rtsales.clock import FrozenClock, iso
from rtsales.config import load_settings
from rtsales.errors import ConfigError
from rtsales.kinds import KINDS
from rtsales.simulator import BackgroundServer, Simulator
from tests.conftest import unstamped
from tests.e2e.conftest import START, US, loopback_env
from tests.e2e.test_operator_cli import World as CliWorld

runner = CliRunner()
KNOWN = "sales, traffic, inventory"


# -- the setting ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kinds"), [
    ("sales", ("sales",)),
    ("TRAFFIC", ("traffic",)),
    ("get_vendor_real_time_inventory_report", ("inventory",)),
    ("inventory, GET_VENDOR_REAL_TIME_TRAFFIC_REPORT ,Sales", ("sales", "traffic", "inventory")),  # KINDS order
    ("traffic,TRAFFIC,GET_VENDOR_REAL_TIME_TRAFFIC_REPORT,", ("traffic",)),  # each kind once
])
def test_report_types_take_kind_names_or_amazons_in_any_case(text: str, kinds: tuple[str, ...]) -> None:
    settings = load_settings(environ={"REPORT_TYPES": text, "MARKETPLACE_IDS": f"{US},A2EUQ1WTGCTBG2"})
    assert settings.report_types == kinds
    assert settings.lanes == 2 * len(kinds)  # every kind of every marketplace shares the budget


def test_sales_alone_is_the_default() -> None:
    assert load_settings(environ={}).report_types == ("sales",)


@pytest.mark.parametrize("text", ["orders", "sales,orders", " , ", "GET_VENDOR_REAL_TIME_SALES", "sales;traffic"])
def test_an_unknown_report_type_is_a_configuration_error_naming_the_valid_ones(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"REPORT_TYPES": text})
    assert caught.value.exit_code == 78
    assert "REPORT_TYPES" in caught.value.message and KNOWN in caught.value.message
    assert "\n" not in caught.value.message


def test_a_command_refuses_an_unknown_report_type_with_exit_78_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    for name, value in loopback_env("http://127.0.0.1:9", tmp_path / "x.db", REPORT_TYPES="sales,orders").items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 78
    (line,) = unstamped(result.stderr).splitlines()
    assert "REPORT_TYPES" in line and "'orders'" in line and KNOWN in line
    assert not (tmp_path / "x.db").exists()


# -- --kind, against the simulator ----------------------------------------------------------------------

class World(CliWorld):
    def run(self, *args: str, report_types: str = "sales,traffic,inventory") -> tuple[int, str, str]:
        self.monkeypatch.setenv("REPORT_TYPES", report_types)
        code, out, err = super().run(*args)
        return code, out, unstamped(err)

    def asked(self) -> list[tuple[str, str, str]]:
        """(kind, dataStartTime, dataEndTime) of every report the simulator made, oldest first."""
        kinds = {kind.report_type: name for name, kind in KINDS.items()}
        return [(kinds[r.report_type], iso(r.start), iso(r.end)) for r in self.sim.reports.reports.values()]

    def ledger_kinds(self) -> set[str]:
        rows = self.db.conn.execute("SELECT DISTINCT report_kind FROM vendor_rt_sales_hour_ledger")
        return {kind for (kind,) in rows}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    clock = FrozenClock(START)
    sim = Simulator(seed=7, clock=clock)
    with BackgroundServer(sim) as server:
        env = loopback_env(server.base_url, tmp_path / "kinds.db", LOOKBACK_DAYS="1",
                           ENABLE_VENDOR_RT_SALES_DAILY_AUDIT="false")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield World(sim, clock, tmp_path / "kinds.db", monkeypatch)


def test_sync_kind_works_on_that_kind_only_and_sync_on_every_configured_kind(world: World) -> None:
    code, out, err = world.run("sync", "--kind", "Traffic", "--json")
    assert code == 0, err
    assert {kind for kind, *_ in world.asked()} == {"traffic"} and world.ledger_kinds() == {"traffic"}
    assert list(json.loads(out)["marketplaces"][0]["kinds"]) == ["traffic"]
    world.clock.advance(timedelta(minutes=15))
    code, out, err = world.run("sync", "--json")
    assert code == 0, err
    assert {kind for kind, *_ in world.asked()} == set(KINDS) and world.ledger_kinds() == set(KINDS)
    assert list(json.loads(out)["marketplaces"][0]["kinds"]) == list(KINDS)


@pytest.mark.parametrize("command", [["sync"], ["fill-day", "2026-03-09"], ["audit", "daily"]])
def test_a_kind_not_in_report_types_is_a_usage_error_with_the_fix(world: World, command: list[str]) -> None:
    code, _, err = world.run(*command, "--kind", "inventory", report_types="sales,traffic")
    assert code == 2
    (line,) = err.splitlines()
    assert "inventory is not in REPORT_TYPES (sales, traffic)" in line
    assert "REPORT_TYPES=sales,traffic,inventory" in line  # the hint: the setting that would allow it
    assert world.sim.log.entries == []  # refused before any request


@pytest.mark.parametrize("command", [["sync"], ["fill-day", "2026-03-09"], ["audit", "weekly"]])
def test_an_unknown_kind_is_a_usage_error(world: World, command: list[str]) -> None:
    code, _, err = world.run(*command, "--kind", "orders")
    assert code == 2
    assert f"unknown report kind 'orders' (known: {KNOWN})" in err and len(err.splitlines()) == 1
    assert world.sim.log.entries == []


def test_fill_day_kind_traffic_asks_only_for_traffic_hours_an_hour_old(world: World) -> None:
    code, out, err = world.run("fill-day", "2026-03-10", "--kind", "traffic", "--json")  # at 12:07
    assert code == 0, err
    asked = world.asked()
    assert asked and {kind for kind, *_ in asked} == {"traffic"}
    assert max(end for *_, end in asked) == "2026-03-10T11:00:00Z"  # ended at least 60 minutes before 12:07
    report = json.loads(out)
    assert [(m["report_kind"], m["measure"]) for m in report["marketplaces"]] == [("traffic", "glance views")]
    hours = [h["hour_utc"] for h in report["marketplaces"][0]["hours"]]
    assert hours[0] == "2026-03-10T00:00:00Z" and hours[-1] == "2026-03-10T10:00:00Z" and len(hours) == 11
    code, out, err = world.run("fill-day", "2026-03-10", "--kind", "sales", "--json")
    assert code == 0, err
    assert json.loads(out)["marketplaces"][0]["hours"][-1]["hour_utc"] == "2026-03-10T11:00:00Z"  # sales: 5 minutes


def test_fill_day_of_a_day_older_than_inventorys_168_hours_says_so(world: World) -> None:
    """Sales may reach further back (MAX_DATA_AGE_HOURS=720 here): inventory's schema still stops at 168 h,
    and the refusal names that limit instead of claiming the day has not ended."""
    world.monkeypatch.setenv("MAX_DATA_AGE_HOURS", "720")
    world.monkeypatch.setenv("FILL_DAY_MAX_AGE_DAYS", "30")
    code, _, err = world.run("fill-day", "2026-03-01", "--kind", "inventory")
    assert code == 2
    (line,) = err.splitlines()
    assert "older than Amazon serves inventory data (inventory 168 h)" in line
    assert world.sim.log.entries == []
    code, _, err = world.run("fill-day", "2026-03-01", "--kind", "sales", "--json")
    assert code == 0, err
