"""`rtsales doctor` against the simulator: all ✔ when healthy, and each failure caught with its fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtsales.clock import FrozenClock, iso
from rtsales.config import load_settings
from rtsales.quota import start_cooldown
from rtsales.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, BackgroundServer
from rtsales.simulator import Simulator
from rtsales.simulator.cron import SIM_BASE, SimulatedCron
from rtsales.views.doctor import run_doctor
from tests.e2e.conftest import START, US

NAMES = ["settings", "database", "database mode", ".env mode", "Login with Amazon", "Reports API", "clock",
         "marketplaces", "cron", "cooldown", "client secret age"]


def _env(db: Path, now: str, base: str = SIM_BASE, **more: str) -> dict[str, str]:
    return {"LWA_CLIENT_ID": DEFAULT_CLIENT_ID, "LWA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "LWA_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN, "MARKETPLACE_IDS": US, "SPAPI_ENDPOINT": base,
            "LWA_TOKEN_URL": f"{base}/auth/o2/token", "RTSALES_DB": str(db), "RTSALES_NOW": now,
            "LWA_CLIENT_SECRET_ROTATED": "2026-03-01", **more}


class Healthy:
    """A database two cron runs have filled, a private .env beside it, the simulator behind a transport."""

    def __init__(self, cron: SimulatedCron, folder: Path):
        self.cron, self.folder = cron, folder
        self.db = folder / "e2e.db"
        self.env_file = folder / ".env"
        self.env_file.write_text("# settings come from the environment in these tests\n")
        self.env_file.chmod(0o600)
        self.transport: httpx.BaseTransport = cron.sim.transport()

    def env(self, **more: str) -> dict[str, str]:
        return _env(self.db, iso(self.cron.clock.now()), **more)

    def doctor(self, **more: str) -> dict[str, Any]:
        return run_doctor(None, None, transport=self.transport, environ=self.env(**more))


@pytest.fixture
def healthy(cron: Callable[..., SimulatedCron], tmp_path: Path) -> Healthy:
    simulated = cron()
    simulated.cycle()
    simulated.cycle(advance=False)
    return Healthy(simulated, tmp_path)


def _check(report: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in report["checks"] if c["name"] == name]
    assert len(found) == 1, report["checks"]
    return found[0]


def test_all_checks_pass_against_a_healthy_simulator(healthy: Healthy) -> None:
    before = len(healthy.cron.sim.log.entries)
    report = healthy.doctor()
    assert [c["name"] for c in report["checks"]] == NAMES
    assert [c["status"] for c in report["checks"]] == ["ok"] * len(NAMES), report["checks"]
    assert report["ok"] is True and all(c["fix"] is None for c in report["checks"])
    sent = [e.operation for e in healthy.cron.sim.log.entries[before:]]
    assert sent == ["lwa", "getReports"]  # one token call, one cheap read: never createReport


class Recording(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport):
        self.inner, self.urls = inner, []  # type: list[httpx.URL]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return self.inner.handle_request(request)


def test_the_reports_check_asks_for_every_configured_report_type(healthy: Healthy) -> None:
    healthy.transport = recording = Recording(healthy.transport)
    report = healthy.doctor(REPORT_TYPES="sales,inventory")
    asked = [url.params["reportTypes"] for url in recording.urls if url.path.endswith("/reports")]
    assert asked == ["GET_VENDOR_REAL_TIME_SALES_REPORT,GET_VENDOR_REAL_TIME_INVENTORY_REPORT"]
    check = next(c for c in report["checks"] if c["name"] == "Reports API")
    assert check["status"] == "ok" and "GET_VENDOR_REAL_TIME_INVENTORY_REPORT" in check["detail"]


class Forbidden(httpx.BaseTransport):
    """Amazon's answer to an app without the role for these reports: 403 on every Reports call."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/reports/2021-06-30/" in request.url.path:
            return httpx.Response(403, json={"errors": [{"code": "Unauthorized",
                                                          "message": "Access to requested resource is denied."}]})
        return self.inner.handle_request(request)


def _failing(report: dict[str, Any], name: str, *fix_words: str) -> dict[str, Any]:
    check = _check(report, name)
    assert check["status"] == "fail", report["checks"]
    assert report["ok"] is False
    assert check["fix"] and all(word in check["fix"] for word in fix_words), check
    return check


def test_bad_client_secret_fails_login_and_skips_the_reports_check(healthy: Healthy) -> None:
    report = healthy.doctor(LWA_CLIENT_SECRET="not-the-secret-123")
    check = _failing(report, "Login with Amazon", "LWA_CLIENT_SECRET")
    assert "invalid_client" in check["detail"] and "not-the-secret-123" not in json.dumps(report)
    assert _check(report, "Reports API")["status"] == "skip"


def test_a_403_names_the_missing_role(healthy: Healthy) -> None:
    healthy.transport = Forbidden(healthy.cron.sim.transport())
    report = healthy.doctor()
    _failing(report, "Reports API", "Brand Analytics", "re-authorise")
    assert _check(report, "Login with Amazon")["status"] == "ok"


@pytest.mark.parametrize("which", ["db", "env"])
def test_files_readable_by_others_fail_with_chmod(healthy: Healthy, which: str) -> None:
    path = healthy.db if which == "db" else healthy.env_file
    path.chmod(0o644)
    check = _failing(healthy.doctor(), "database mode" if which == "db" else ".env mode", f"chmod 600 {path}")
    assert "0644" in check["detail"]


def test_client_secret_older_than_180_days_fails_and_within_30_days_warns(healthy: Healthy) -> None:
    today = healthy.cron.clock.now().date()
    _failing(healthy.doctor(LWA_CLIENT_SECRET_ROTATED=(today - timedelta(days=200)).isoformat()),
             "client secret age", "LWA_CLIENT_SECRET", "LWA_CLIENT_SECRET_ROTATED")
    soon = healthy.doctor(LWA_CLIENT_SECRET_ROTATED=(today - timedelta(days=160)).isoformat())
    check = _check(soon, "client secret age")
    assert check["status"] == "warn" and "20 days" in check["detail"] and check["fix"]
    assert soon["ok"] is True  # a warning is not a failure
    unset = {**healthy.env()}
    del unset["LWA_CLIENT_SECRET_ROTATED"]
    untracked = run_doctor(None, None, transport=healthy.transport, environ=unset)
    assert _check(untracked, "client secret age")["status"] == "skip"


def test_unknown_marketplace_and_mixed_regions(healthy: Healthy) -> None:
    unknown = healthy.doctor(MARKETPLACE_IDS=f"{US},A1PA6795UKMFR8")
    assert _check(unknown, "settings")["status"] == "fail"  # load errors are a line, not a crash
    _failing(unknown, "marketplaces", "MARKETPLACE_IDS")
    assert "A1PA6795UKMFR8" in _check(unknown, "marketplaces")["detail"]
    assert _check(unknown, "Login with Amazon")["status"] == "skip"  # no call on settings that do not load
    mixed = healthy.doctor(MARKETPLACE_IDS=f"{US},A1PA6795UKMFR9")  # US (NA) and DE (EU); SPAPI_ENDPOINT set
    assert _check(mixed, "settings")["status"] == "ok"
    check = _failing(mixed, "marketplaces", "region")
    assert "NA" in check["detail"] and "EU" in check["detail"]


def test_cooldown_fails_until_its_end_and_no_sp_api_call_is_made(healthy: Healthy) -> None:
    now = healthy.cron.clock.now()
    start_cooldown(healthy.cron.db, "spapi", now, timedelta(minutes=30), timedelta(hours=4))
    before = len(healthy.cron.sim.log.entries)
    report = healthy.doctor()
    check = _failing(report, "cooldown", "cron")
    assert f"until {(now + timedelta(minutes=30)).strftime('%H:%M')} UTC" in check["detail"]
    assert _check(report, "Reports API")["status"] == "skip"
    assert [e.operation for e in healthy.cron.sim.log.entries[before:]] == ["lwa"]


def test_dead_cron_is_caught_from_the_age_of_the_last_evidence(healthy: Healthy) -> None:
    healthy.cron.clock.advance(timedelta(hours=4, minutes=30))
    check = _failing(healthy.doctor(), "cron", "crontab.example")
    assert "4h 30m" in check["detail"]


def test_settings_that_do_not_load_are_a_failed_line(healthy: Healthy) -> None:
    report = healthy.doctor(SETTLE_HOURS="soon")
    check = _failing(report, "settings", ".env.example")
    assert "SETTLE_HOURS" in check["detail"]
    assert _check(report, "database")["status"] == "ok"  # the rest is still checked


def test_missing_database_fails_and_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "nowhere.db"
    report = run_doctor(None, None, transport=Simulator(clock=FrozenClock(START)).transport(),
                        environ=_env(db, iso(START)))
    _failing(report, "database", "--db")
    assert not db.exists() and not list(tmp_path.glob("nowhere.db*"))
    assert _check(report, "cron")["status"] == "skip"


def test_database_that_fails_quick_check(healthy: Healthy) -> None:
    healthy.cron.db.conn.close()
    with healthy.db.open("r+b") as handle:  # scribble over the second page: a b-tree page of some table
        handle.seek(4096)
        handle.write(b"\xff" * 4096)
    _failing(healthy.doctor(), "database", "backup")


def test_newer_schema_fails_and_an_older_one_is_only_a_warning(healthy: Healthy) -> None:
    from rtsales.store.migrations import MIGRATIONS
    conn = healthy.cron.db.conn
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    _failing(healthy.doctor(), "database", "upgrade rtsales")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
    older = _check(healthy.doctor(), "database")
    assert older["status"] == "warn" and "rtsales sync" in older["fix"]


def test_rotated_date_is_validated_and_documented() -> None:
    from rtsales.errors import ConfigError
    assert load_settings(environ={"LWA_CLIENT_SECRET_ROTATED": "2026-03-01"}).lwa_client_secret_rotated == \
        date(2026, 3, 1)
    for bad in ("2026-02-30", "yesterday", "01.03.2026"):
        with pytest.raises(ConfigError, match="LWA_CLIENT_SECRET_ROTATED"):
            load_settings(environ={"LWA_CLIENT_SECRET_ROTATED": bad})
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    assert "LWA_CLIENT_SECRET_ROTATED=" in example and "180 days" in example


# -- the command, as a real process over loopback ------------------------------------------------

def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return subprocess.run([sys.executable, "-m", "rtsales", *args], env={**keep, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


def test_command_prints_one_line_per_check_and_exits_by_the_result(tmp_path: Path) -> None:
    clock = FrozenClock(START)
    sim = Simulator(seed=3, clock=clock)
    with BackgroundServer(sim) as server:
        env = _env(tmp_path / "cli.db", iso(START), base=server.base_url)
        assert _run(["sync", "--quiet"], env, tmp_path).returncode == 0
        done = _run(["doctor"], env, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == len(NAMES) and all(line.startswith(("✔", "-")) for line in lines), lines
        assert json.loads(_run(["doctor", "--json"], env, tmp_path).stdout)["ok"] is True
        broken = _run(["doctor"], {**env, "LWA_REFRESH_TOKEN": "Atzr|revoked-token-000", "LOOKBACK_DAYS": "x"},
                      tmp_path)
    assert broken.returncode == 1, broken.stderr  # not 78: doctor reports bad settings, it does not stop at them
    failed = [line for line in broken.stdout.splitlines() if line.startswith("✘")]
    assert [line.split(":")[0] for line in failed] == ["✘ settings"] and "(fix: " in failed[0]


def test_a_host_clock_ahead_of_amazon_is_named_with_its_fix(healthy: Healthy) -> None:
    healthy.cron.sim.clock = FrozenClock(healthy.cron.clock.now() - timedelta(minutes=10))  # Amazon's Date
    report = healthy.doctor()
    clock = _check(report, "clock")
    assert clock["status"] == "fail" and "host clock ahead of Amazon by about 10 min" in clock["detail"]
    assert "ntp" in clock["fix"] and report["ok"] is False
    healthy.cron.sim.clock = healthy.cron.clock
    assert _check(healthy.doctor(), "clock")["status"] == "ok"
