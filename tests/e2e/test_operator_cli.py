"""`fill-day`, `audit daily|weekly` and `sales` through the CLI, against the simulator over loopback."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database
from typer.testing import CliRunner

from rtsales import lock
from rtsales.cli import app
from rtsales.clock import FrozenClock, iso, parse_hour
from rtsales.quota import start_cooldown
from rtsales.simulator import BackgroundServer, Simulator
from rtsales.store import open_db
from tests.e2e.conftest import START, US, loopback_env

runner = CliRunner()
DAY = "2026-03-08"


@dataclass
class World:
    sim: Simulator
    clock: FrozenClock
    db_path: Path
    monkeypatch: pytest.MonkeyPatch

    def run(self, *args: str) -> tuple[int, str, str]:
        self.monkeypatch.setenv("RTSALES_NOW", iso(self.clock.now()))
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    def tick(self) -> None:
        self.clock.advance(timedelta(minutes=15))

    @property
    def db(self) -> Database:
        return open_db(self.db_path)

    def day_states(self) -> dict[str, str]:
        return dict(self.db.conn.execute("SELECT hour_utc, status FROM vendor_rt_sales_hour_ledger WHERE "
                                         "hour_utc LIKE ?", [f"{DAY}%"]).fetchall())


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    clock = FrozenClock(START)
    sim = Simulator(seed=11, clock=clock)
    with BackgroundServer(sim) as server:
        env = loopback_env(server.base_url, tmp_path / "op.db", ENABLE_VENDOR_RT_SALES_DAILY_AUDIT="false")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        w = World(sim, clock, tmp_path / "op.db", monkeypatch)
        for _ in range(2):
            assert w.run("sync", "--quiet")[0] == 0
            w.tick()
        yield w


def _truth(w: World, key: str) -> dict[str, tuple[int, int]]:
    return {a: (s.units, s.revenue_cents) for a, s in w.sim.truth.final_truth(US, parse_hour(key)).items()}


def _stored(w: World, key: str) -> dict[str, tuple[int, int]]:
    rows = w.db.conn.execute("SELECT asin, ordered_units, ordered_revenue FROM vendor_realtime_sales WHERE "
                             "hour_utc = ?", [key])
    return {a: (u, round(r * 100)) for a, u, r in rows}


def test_fill_day_repairs_applied_failed_and_missing_hours(world: World) -> None:
    db = world.db
    db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', last_error = 'x', next_retry_utc = "
                    "'2026-03-11T00:00:00Z' WHERE hour_utc >= ? AND hour_utc < ?", [f"{DAY}T06", f"{DAY}T09"])
    db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'MISSING' WHERE hour_utc >= ? AND hour_utc < ?",
                    [f"{DAY}T12", f"{DAY}T15"])
    db.conn.execute("DELETE FROM vendor_realtime_sales WHERE hour_utc >= ? AND hour_utc < ?", [f"{DAY}T12", f"{DAY}T15"])
    db.conn.execute("UPDATE vendor_realtime_sales SET ordered_units = ordered_units + 100 WHERE hour_utc = ?",
                    [f"{DAY}T20:00:00Z"])  # a wrong APPLIED hour that only a re-fetch can fix
    creates = world.sim.log.count("createReport")
    code, out, err = world.run("fill-day", DAY, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["hours"] == 24 and report["reports_created"] == 1  # one 24-hour window: the minimum
    assert world.sim.log.count("createReport") == creates + 1
    assert set(world.day_states().values()) == {"REQUESTED"}  # frozen time: the report is still running
    world.tick()
    assert world.run("sync", "--quiet")[0] == 0
    assert set(world.day_states().values()) == {"APPLIED"} and len(world.day_states()) == 24
    for key in world.day_states():
        assert _stored(world, key) == _truth(world, key), key


def test_fill_day_with_a_local_time_zone(world: World) -> None:
    code, out, _ = world.run("fill-day", DAY, "--tz", "America/New_York", "--json")
    assert code == 0
    hours = [h["hour_utc"] for h in json.loads(out)["marketplaces"][0]["hours"]]
    assert hours[0] == "2026-03-08T05:00:00Z" and len(hours) == 23  # the spring-forward day has 23 hours


def test_fill_day_tz_labels_local_hours_with_their_dates(world: World) -> None:
    code, out, _ = world.run("fill-day", DAY, "--tz", "America/New_York", "--marketplace", "us", "--json")
    assert code == 0
    hours = json.loads(out)["marketplaces"][0]["hours"]
    assert (hours[0]["hour_utc"], hours[0]["hour_local"]) == ("2026-03-08T05:00:00Z", "2026-03-08T00:00:00-05:00")
    assert (hours[-1]["hour_utc"], hours[-1]["hour_local"]) == ("2026-03-09T03:00:00Z", "2026-03-08T23:00:00-04:00")
    world.tick()
    env = {**os.environ, "RTSALES_NOW": iso(world.clock.now()), "COLUMNS": "200"}  # a wide (fake) terminal
    done = subprocess.run([sys.executable, "-m", "rtsales", "fill-day", DAY, "--tz", "America/New_York"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "America/New_York" in next(line for line in lines if "UTC hour" in line)
    assert any("2026-03-08 05:00 UTC" in line and "2026-03-08 00:00 EST" in line for line in lines), lines
    assert any("2026-03-09 03:00 UTC" in line and "2026-03-08 23:00 EDT" in line for line in lines), lines


@pytest.mark.parametrize(("day", "extra", "message"), [
    ("2026-3-8x", [], "not a date"),
    ("2026-03-11", [], "in the future"),
    ("2025-12-01", [], "older than the 30 days"),
    (DAY, ["--tz", "Mars/Olympus"], "unknown time zone"),
    (DAY, ["--marketplace", "A1PA6795UKMFR9"], "marketplace A1PA6795UKMFR9 (DE) is not configured"),
    (DAY, ["--marketplace", "ATVPDKIKX0DR"], "did you mean 'ATVPDKIKX0DER'?"),
])
def test_fill_day_refuses_bad_input_with_exit_2(world: World, day: str, extra: list[str], message: str) -> None:
    before = world.day_states()
    code, _, err = world.run("fill-day", day, *extra)
    assert code == 2 and message in err and err.count("\n") == 1
    assert world.day_states() == before


def test_fill_day_and_audit_refuse_during_cooldown_and_busy_lock(world: World) -> None:
    start_cooldown(world.db, "spapi", world.clock.now(), timedelta(minutes=30), timedelta(hours=4))
    requests = len(world.sim.log.entries)
    for args in (["fill-day", DAY], ["audit", "daily"], ["audit", "weekly"]):
        code, _, err = world.run(*args)
        assert code == 75 and "cooldown due to SP-API quota (until 13:07 UTC)" in err
    world.clock.advance(timedelta(minutes=30))
    lock.acquire(world.db, US, "sync:77", world.clock.now(), timedelta(minutes=15))
    code, _, err = world.run("audit", "daily")
    assert code == 75 and "sync:77" in err
    assert len(world.sim.log.entries) == requests
    assert set(world.day_states().values()) == {"APPLIED"}


def test_audit_daily_refetches_and_reports_changes(world: World) -> None:
    bad = "2026-03-09T20:00:00Z"  # inside the 48-hour window; only a re-fetch can repair it
    world.db.conn.execute("UPDATE vendor_realtime_sales SET ordered_units = ordered_units + 100 WHERE hour_utc = ?",
                          [bad])
    held = _applied(world)
    code, out, err = world.run("audit", "daily", "--json")
    assert code == 0, err
    report = json.loads(out)
    # every APPLIED hour of the 48 is marked; the newest, in a live refresh already, are not asked twice
    assert report["kind"] == "daily" and 44 <= report["marketplaces"][0]["hours"] <= min(48, held)
    assert report["reports_created"] <= 3  # two 24-hour windows, and the run's live refresh
    world.tick()
    world.run("sync", "--quiet")
    run = world.db.conn.execute("SELECT hours, hours_changed, finished_at FROM vendor_rt_sales_audit_runs").fetchone()
    assert run[0] == report["marketplaces"][0]["hours"] and run[1] >= 1 and run[2] is not None
    assert _stored(world, bad) == _truth(world, bad)


def _applied(world: World) -> int:
    return world.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE status = 'APPLIED'"
                                 ).fetchone()[0]


def test_audit_weekly_covers_seven_days(world: World) -> None:
    held = _applied(world)
    code, out, _ = world.run("audit", "weekly", "--json")
    assert code == 0 and json.loads(out)["marketplaces"][0]["hours"] == held > 160
    assert json.loads(out)["reports_created"] <= 8  # seven 24-hour windows, and the run's live refresh


def test_sales_by_asin_hour_csv_and_during_cooldown(world: World) -> None:
    code, out, _ = world.run("sales", "--hours", "6", "--json")
    report = json.loads(out)
    # the window ends at the newest hour held (11:00), not at "now" (12:37): the last known data
    assert (report["since_hour_utc"], report["until_utc"]) == ("2026-03-10T06:00:00Z", "2026-03-10T12:00:00Z")
    total = world.db.conn.execute("SELECT SUM(ordered_units) FROM vendor_realtime_sales WHERE hour_utc >= ?",
                                  [report["since_hour_utc"]]).fetchone()[0]
    assert code == 0 and sum(r["ordered_units"] for r in report["rows"]) == total
    assert report["newest_applied_hour"] == {US: "2026-03-10T11:00:00Z"}
    code, out, _ = world.run("sales", "--hours", "6", "--by", "hour", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and sum(int(r["ordered_units"]) for r in rows) == total and "hour" in rows[0]
    start_cooldown(world.db, "spapi", world.clock.now(), timedelta(minutes=30), timedelta(hours=4))
    code, out, err = world.run("sales")
    assert code == 0 and "showing last known data" in err
    for bad in (["--hours", "0"], ["--hours", "100000"], ["--by", "week"], ["--json", "--csv"]):
        assert world.run("sales", *bad)[0] == 2
