"""Run history and what `status` concludes from it, through the real CLI against the simulator.

Each case is a real sequence of cron runs (`RTSALES_NOW` moved on by hand): dead cron,
rejected credentials, repeated failures, a cooldown, normal syncing, a run that died
mid-way; and sync's exit code when some or all of its windows fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rtsales.amazon.client import SpApiClient
from rtsales.cli import app
from rtsales.clock import FrozenClock, iso
from rtsales.simulator import BackgroundServer, Faults, Simulator
from rtsales.simulator.cron import SimulatedCron
from rtsales.store import open_db
from rtsales.views.status import collect_status
from tests.conftest import unstamped
from tests.e2e.conftest import START, US, Crash, loopback_env

runner = CliRunner()


@dataclass
class Host:
    """A machine with cron, rtsales and (on the other side of loopback) Amazon's simulator."""

    sim: Simulator
    clock: FrozenClock
    db_path: Path
    monkeypatch: pytest.MonkeyPatch

    def run(self, *args: str, **env: str) -> tuple[int, str, str]:
        self.monkeypatch.setenv("RTSALES_NOW", iso(self.clock.now()))
        result = runner.invoke(app, list(args), env=env or None)
        return result.exit_code, result.stdout, unstamped(result.stderr)  # off a terminal lines carry a time

    def cron(self, runs: int = 1, **env: str) -> list[int]:
        """`rtsales sync --quiet` every 15 minutes, `runs` times; their exit codes."""
        codes = []
        for _ in range(runs):
            codes.append(self.run("sync", "--quiet", **env)[0])
            self.clock.advance(timedelta(minutes=15))
        return codes

    def status(self) -> tuple[int, dict[str, Any]]:
        code, out, err = self.run("status", "--json", "--check")
        assert out, err
        return code, json.loads(out)

    def runs(self) -> list[dict[str, Any]]:
        code, out, err = self.run("runs", "--json")
        assert code == 0, err
        return json.loads(out)["runs"]


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    clock = FrozenClock(START)
    sim = Simulator(seed=5, clock=clock)
    with BackgroundServer(sim) as server:
        for name, value in loopback_env(server.base_url, tmp_path / "cron.db").items():
            monkeypatch.setenv(name, value)
        yield Host(sim, clock, tmp_path / "cron.db", monkeypatch)


def _diagnosis(report: dict[str, Any]) -> tuple[str, str]:
    m = report["marketplaces"][0]
    return m["diagnosis_code"], m["diagnosis"]


# -- the run history --------------------------------------------------------------------------


def test_every_run_is_recorded_with_what_it_did(host: Host) -> None:
    assert host.cron(3) == [0, 0, 0]
    runs = host.runs()
    assert [r["command"] for r in runs] == ["sync"] * 3
    newest, first = runs[0], runs[-1]  # newest first
    assert first["started_at"] == iso(START) and first["ended_at"] == iso(START)
    assert first["outcome"] == "ok" and first["exit_code"] == 0 and first["state"] == "finished"
    for operation in ("createReport", "getReport", "getReportDocument"):
        assert sum(r["calls"].get(operation, 0) for r in runs) == host.sim.log.count(operation) > 0
    applied = open_db(host.db_path).conn.execute(
        "SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE data_state != 'none'").fetchone()[0]
    assert sum(r["hours_applied"] for r in runs) >= applied > 100
    assert newest["started_at"] == iso(START + timedelta(minutes=30)) and newest["http_429"] == 0
    code, out, _ = host.run("runs", "--limit", "2")
    assert code == 0 and sum("sync" in line and "ok" in line for line in out.splitlines()) == 2


def test_audit_and_fill_day_are_recorded_too(host: Host) -> None:
    host.cron(2)
    assert host.run("audit", "daily")[0] == 0
    assert host.run("fill-day", "2026-03-09")[0] == 0
    commands = [r["command"] for r in host.runs()]
    assert commands == ["fill-day", "audit-daily", "sync", "sync"]


def test_history_keeps_thirty_days(host: Host) -> None:
    host.cron(1)
    db = open_db(host.db_path)
    for days in (31, 29):
        db.conn.execute("INSERT INTO rtsales_runs (command, owner, started_at, ended_at, outcome, exit_code) "
                        "VALUES ('sync', 'sync:1', ?, ?, 'ok', 0)",
                        [iso(host.clock.now() - timedelta(days=days))] * 2)
    host.cron(1)
    kept = [r["started_at"] for r in host.runs()]
    assert iso(host.clock.now() - timedelta(days=29, minutes=15)) in kept
    assert not any(s < iso(host.clock.now() - timedelta(days=30)) for s in kept) and len(kept) == 3


# -- what status concludes ------------------------------------------------------------------------


def test_syncing_normally_only_while_recent_runs_are_ok(host: Host) -> None:
    host.cron(4)
    host.clock.advance(timedelta(minutes=-5))  # 10 minutes after the last run
    code, report = host.status()
    assert code == 0 and _diagnosis(report) == ("ok", "syncing normally")
    assert report["diagnosis_code"] == "ok" and report["runs"][0]["outcome"] == "ok"
    assert report["last_sync"]["started_at"] == iso(START + timedelta(minutes=45))
    host.clock.advance(timedelta(minutes=30))  # 40 minutes: two cron runs missed
    code, report = host.status()
    assert code == 1 and _diagnosis(report)[0] == "cron_dead"


def test_dead_cron_is_named_with_the_time_of_the_last_run(host: Host) -> None:
    host.cron(4)
    last = host.clock.now() - timedelta(minutes=15)
    host.clock.advance(timedelta(hours=4, minutes=15))  # cron stopped: nobody seeds the new hours
    code, report = host.status()
    assert code == 1
    assert _diagnosis(report) == ("cron_dead", f"no sync has run for 4 h 30 min (last {last:%H:%M} UTC): "
                                               "is cron running `rtsales sync`? (see crontab.example)")
    text = host.run("status")[1]
    assert "no sync has run for 4 h 30 min" in text


def test_rejected_credentials_are_named_not_cron(host: Host) -> None:
    host.cron(2)
    first_refused = host.clock.now()
    assert host.cron(3, LWA_REFRESH_TOKEN="Atzr|revoked") == [78, 78, 78]
    assert [r["outcome"] for r in host.runs()[:3]] == ["login_error"] * 3
    code, report = host.status()
    assert code == 1 and report["diagnosis_code"] == "login_error"
    assert _diagnosis(report)[1] == (
        f"the last 3 runs failed (since {first_refused:%H:%M} UTC): refresh token rejected by Login with Amazon "
        "(invalid_grant) (re-authorise the app in Vendor Central and update LWA_REFRESH_TOKEN)")
    assert host.cron(1) == [0]
    assert _diagnosis(host.status()[1])[0] != "login_error"


def test_a_wrong_client_secret_is_recorded_as_a_login_error(host: Host) -> None:
    assert host.cron(2, LWA_CLIENT_SECRET="not-the-secret") == [78, 78]
    code, report = host.status()
    assert code == 1 and report["diagnosis_code"] == "login_error"
    assert "the last 2 runs failed" in report["diagnosis"] and "LWA_CLIENT_SECRET" in report["diagnosis"]


def test_missing_configuration_is_recorded_when_the_database_exists(host: Host) -> None:
    host.cron(1)
    assert host.cron(1, LWA_CLIENT_SECRET="")[0] == 78
    run = host.runs()[0]
    assert run["outcome"] == "config_error" and run["exit_code"] == 78
    assert "missing configuration: LWA_CLIENT_SECRET" in run["error"]
    code, report = host.status()
    assert code == 1 and _diagnosis(report)[0] == "config_error"
    assert "the last run failed" in report["diagnosis"] and "LWA_CLIENT_SECRET" in report["diagnosis"]


def test_repeated_failures_exit_1_and_are_diagnosed(host: Host) -> None:
    host.sim.set_faults(Faults(p_400=1.0))  # every createReport answers 400: every window fails
    code, _, err = host.run("sync", "--quiet")
    last = err.splitlines()[-1]  # after the log's lines about each window
    assert code == 1 and last.startswith("error: every window this run tried failed: ") and "rtsales status" in last
    host.clock.advance(timedelta(minutes=15))
    codes = [code, *host.cron(3)]
    runs = host.runs()
    # a run whose FAILED hours all wait for their retry has nothing to do: exit 0, not a failure
    assert set(codes) <= {0, 1} and codes.count(1) >= 3 and codes[-1] == 1
    assert [r["outcome"] for r in runs] == [{0: "nothing_to_do", 1: "failures"}[c] for c in reversed(codes)]
    assert all(r["hours_failed"] > 0 and r["hours_applied"] == 0 for r in runs if r["outcome"] == "failures")
    host.clock.advance(timedelta(minutes=-5))
    code, report = host.status()
    assert code == 1 and _diagnosis(report)[0] == "runs_failing"
    head = "the last 4 runs failed" if codes == [1] * 4 else f"{codes.count(1)} of the last 4 runs failed"
    assert _diagnosis(report)[1].startswith(f"{head} (since {START:%H:%M} UTC)")
    assert "hour(s) failed: createReport: HTTP 400" in _diagnosis(report)[1] and "Invalid input" in report["diagnosis"]


@pytest.mark.parametrize("quiet", [True, False])
def test_some_windows_failing_is_exit_0_with_a_warning_quiet_does_not_hide(host: Host, quiet: bool) -> None:
    host.sim.set_faults(Faults(p_400=0.3))  # seeded: the same windows fail either way
    code, out, err = host.run("sync", *(["--quiet"] if quiet else []))
    assert code == 0
    last = err.splitlines()[-1]  # after the log's lines about each window
    assert last.startswith("warning: ") and "hour(s) failed" in last and "rtsales status" in last
    run = host.runs()[0]
    assert run["outcome"] == "partial" and run["hours_failed"] > 0 and run["exit_code"] == 0
    if quiet:
        assert out == ""
    else:  # the table says so too, instead of "ok"
        row = next(line for line in out.splitlines() if US in line)
        assert "some failed" in row


def test_a_quota_cooldown_is_recorded_and_diagnosed(host: Host) -> None:
    host.cron(2)
    host.sim.set_faults(Faults(p429=1.0))
    code, _, err = host.run("sync", "--quiet")
    assert code == 75 and "429" in err
    assert host.runs()[0]["outcome"] == "cooldown" and host.runs()[0]["http_429"] == 1
    host.clock.advance(timedelta(minutes=15))
    assert host.run("sync", "--quiet")[0] == 75  # skipped: still cooling down
    assert [r["outcome"] for r in host.runs()[:2]] == ["cooldown", "cooldown"]
    assert host.runs()[0]["calls"] == {}
    code, report = host.status()
    assert code == 1 and _diagnosis(report)[0] == "cooldown"


def test_a_run_that_died_mid_way_is_reported_as_such(cron: Callable[..., SimulatedCron],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    c = cron((US,))
    for _ in range(3):
        c.cycle()
    original = SpApiClient.create_report

    def killed(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise Crash("create_report")

    monkeypatch.setattr(SpApiClient, "create_report", killed)
    with pytest.raises(Crash):
        c.cycle(advance=False)  # SIGKILL: no cleanup, no end recorded
    monkeypatch.undo()
    died_at = c.clock.now()
    row = c.db.conn.execute("SELECT started_at, ended_at, outcome FROM rtsales_runs ORDER BY id DESC").fetchone()
    assert row == (iso(died_at), None, None)
    soon = collect_status(c.db, c.settings, died_at + timedelta(minutes=5))
    assert soon["marketplaces"][0]["diagnosis_code"] == "syncing"  # its lease is still live: it may be working
    later = collect_status(c.db, c.settings, died_at + timedelta(minutes=20))
    m = later["marketplaces"][0]
    assert not later["ok"] and m["diagnosis_code"] == "run_died"
    assert m["diagnosis"].startswith(f"the sync started {died_at:%H:%M} UTC died mid-way")
    assert later["runs"][0]["state"] == "died"
    c.clock.advance(timedelta(minutes=20))
    c.cycle(advance=False)  # the next cron run takes over and finishes
    after = collect_status(c.db, c.settings, c.clock.now() + timedelta(minutes=5))
    assert after["marketplaces"][0]["diagnosis_code"] != "run_died"
    assert after["runs"][1]["state"] == "died"  # still in the history
