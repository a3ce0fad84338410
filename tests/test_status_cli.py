"""`rtsales status`: every diagnosis branch, the JSON keys, the grid, --check, refusals."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rtsales.cli import app
from rtsales.clock import floor_hour, iso
from rtsales.quota import start_cooldown
from rtsales.store import open_db, transaction
from rtsales.sync.ledger import seed
from tests.conftest import at, record_sync

runner = CliRunner()
MP = "ATVPDKIKX0DER"
NOW = at("2026-03-10T12:07:00Z")
KEYS = {"marketplace_id", "ledger", "last_applied_hour", "next_claimable_hour", "lock", "cooldown", "audits",
        "diagnosis"}


def status_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, now: datetime) -> Path:
    """Two days of APPLIED hours of MP at `now`, and the environment pointing at them."""
    path = tmp_path / "status.db"
    monkeypatch.setenv("RTSALES_DB", str(path))
    monkeypatch.setenv("MARKETPLACE_IDS", MP)
    monkeypatch.setenv("RTSALES_NOW", iso(now))
    monkeypatch.setenv("SAFETY_LAG_MINUTES", "90")  # the lag the hours were seeded with: they are fresh
    db = open_db(path)
    with transaction(db) as conn:
        seed(conn, MP, now, floor_hour(now - timedelta(days=2)), timedelta(minutes=90), kind="sales")
        conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'APPLIED', data_state = 'final'")
    record_sync(db, now - timedelta(minutes=10))
    return path


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return status_db(tmp_path, monkeypatch, NOW)


def _sql(path: Path, sql: str, *params: object) -> None:
    open_db(path).conn.execute(sql, params)


def _status(*args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["status", "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def test_json_keys_and_syncing_normally(db_path: Path) -> None:
    code, report = _status("--check")
    assert code == 0 and report["ok"] is True
    m = report["marketplaces"][0]
    assert KEYS <= set(m)
    assert set(m["ledger"]) == {"MISSING", "REQUESTED", "DOWNLOADED", "APPLIED", "FAILED", "UNAVAILABLE"}
    assert m["ledger"]["APPLIED"] == 46 and m["last_applied_hour"] == "2026-03-10T09:00:00Z"
    assert m["cooldown"] == {"reason": "none", "until_utc": None} and m["lock"] is None
    assert set(m["audits"]) == {"daily", "weekly"} and m["audits"]["daily"]["enabled"] is True
    assert m["diagnosis"] == "syncing normally"


def test_live_lock_is_a_sync_at_work(db_path: Path) -> None:
    _sql(db_path, "INSERT INTO vendor_rt_sales_worker_lock VALUES (?, 'sync:4242', ?)", MP, iso(NOW + timedelta(minutes=5)))
    code, report = _status("--check")
    m = report["marketplaces"][0]
    assert code == 0 and m["lock"] == {"owner": "sync:4242", "expires_at": "2026-03-10T12:12:00Z", "stale": False}
    assert m["cooldown"]["reason"] == "lock_busy" and "sync:4242" in m["diagnosis"]


def test_stale_lock(db_path: Path) -> None:
    _sql(db_path, "INSERT INTO vendor_rt_sales_worker_lock VALUES (?, 'sync:4242', ?)", MP, iso(NOW - timedelta(minutes=40)))
    code, report = _status("--check")
    m = report["marketplaces"][0]
    assert code == 1 and m["lock"]["stale"] is True
    assert "went stale 40 min ago" in m["diagnosis"]


def test_quota_cooldown(db_path: Path) -> None:
    start_cooldown(open_db(db_path), "spapi", NOW, timedelta(minutes=30), timedelta(hours=4))
    code, report = _status("--check")
    m = report["marketplaces"][0]
    assert code == 1 and m["cooldown"] == {"reason": "quota", "until_utc": "2026-03-10T12:37:00Z"}
    assert m["diagnosis"] == "Cooldown due to SP-API quota (until 12:37 UTC)"
    human = runner.invoke(app, ["status"])
    assert "Cooldown due to SP-API quota (until 12:37 UTC)" in human.stdout


def test_failed_hours_waiting_for_retry(db_path: Path) -> None:
    _sql(db_path, "UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', last_error = 'report 7 FATAL: boom', "
                  "next_retry_utc = '2026-03-10T13:00:00Z' WHERE hour_utc >= '2026-03-10T05:00:00Z'")
    code, report = _status("--check")
    m = report["marketplaces"][0]
    assert code == 1 and m["ledger"]["FAILED"] == 5
    assert m["diagnosis"].startswith("5 hour(s) FAILED, next retry 13:00 UTC: report 7 FATAL")
    assert m["failed"][0] == {"hour_utc": "2026-03-10T09:00:00Z", "last_error": "report 7 FATAL: boom",
                              "next_retry_utc": "2026-03-10T13:00:00Z", "attempts": 0}


def test_missing_hours_far_in_the_past(db_path: Path) -> None:
    _sql(db_path, "UPDATE vendor_rt_sales_hour_ledger SET status = 'MISSING' WHERE hour_utc < '2026-03-09T20:00:00Z'")
    code, report = _status("--check")
    m = report["marketplaces"][0]
    assert code == 1 and m["next_claimable_hour"] == "2026-03-09T19:00:00Z"
    assert m["diagnosis_code"] == "backlog"
    assert m["diagnosis"] == ("hours waiting since 2026-03-08 12:00 UTC although sync runs (last 11:57 UTC): "
                              "`rtsales runs` shows what the runs did")


def test_nothing_applied_for_hours(db_path: Path) -> None:
    _sql(db_path, "DELETE FROM vendor_rt_sales_hour_ledger WHERE hour_utc > '2026-03-10T00:00:00Z'")
    code, report = _status("--check")
    assert code == 1 and report["marketplaces"][0]["diagnosis"].startswith("nothing applied for 11 h")


def test_no_sync_recorded_is_not_syncing_normally(db_path: Path) -> None:
    _sql(db_path, "DELETE FROM rtsales_runs")  # fresh data, but no run of this rtsales ever recorded
    code, report = _status("--check")
    assert code == 1 and report["diagnosis_code"] == "cron_dead" and report["last_sync"] is None
    assert report["diagnosis"] == "no `rtsales sync` has run yet: run it once by hand, then install crontab.example"


def test_data_behind_the_settings_is_catching_up_not_normal(db_path: Path) -> None:
    _sql(db_path, "DELETE FROM vendor_rt_sales_hour_ledger WHERE hour_utc >= '2026-03-10T07:00:00Z'")
    code, report = _status("--check")
    m = report["marketplaces"][0]
    assert code == 0 and m["diagnosis_code"] == "catching_up"  # nothing to fix: the next runs fetch them
    assert m["diagnosis"] == "catching up: the newest hour held is 3 h behind the newest that should be (09:00 UTC)"


def test_unavailable_hours_are_told_but_not_a_failure(db_path: Path) -> None:
    _sql(db_path, "UPDATE vendor_rt_sales_hour_ledger SET status = 'UNAVAILABLE', data_state = 'none' "
                  "WHERE hour_utc < '2026-03-09T00:00:00Z'")
    code, report = _status("--check")
    m = report["marketplaces"][0]
    assert code == 0 and m["diagnosis_code"] == "unavailable_hours" and m["diagnosis"].startswith("syncing; 12 hour(s)")


def test_the_human_view_shows_the_last_sync(db_path: Path) -> None:
    text = runner.invoke(app, ["status"]).stdout
    assert "last sync" in text and "11:57 UTC: ok (exit 0)" in text


def test_grid_shows_states_and_legend(db_path: Path) -> None:
    _sql(db_path, "UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', next_retry_utc = '2030-01-01T00:00:00Z', "
                  "data_state = 'none' WHERE hour_utc = '2026-03-10T03:00:00Z'")
    _sql(db_path, "UPDATE vendor_rt_sales_hour_ledger SET status = 'MISSING', data_state = 'none' "
                  "WHERE hour_utc = '2026-03-10T04:00:00Z'")
    _sql(db_path, "UPDATE vendor_rt_sales_hour_ledger SET data_state = 'provisional' WHERE hour_utc >= '2026-03-10T08:00:00Z'")
    _sql(db_path, "UPDATE vendor_rt_sales_hour_ledger SET status = 'REQUESTED' WHERE hour_utc = '2026-03-10T09:00:00Z'")
    _, report = _status("--days", "2")
    grid = report["marketplaces"][0]["grid"]["2026-03-10"]
    assert grid[:10] == ["FINAL"] * 3 + ["FAILED", "MISSING"] + ["FINAL"] * 3 + ["PROVISIONAL"] * 2  # 09:00 re-fetched
    assert list(report["marketplaces"][0]["grid"]) == ["2026-03-09", "2026-03-10"]
    text = runner.invoke(app, ["status", "--days", "2"]).stdout
    row = next(line for line in text.splitlines() if line.strip().startswith("2026-03-10"))
    assert row.split()[1][:10] == "███x·███▄▄"
    assert "█ final" in text and "▄ may still change" in text and "x failed" in text and "· missing" in text
    assert "\x1b[" not in text  # not a terminal (pipe, cron): no colour codes, the characters carry it


def test_refusals(db_path: Path) -> None:
    assert runner.invoke(app, ["status", "--days", "0"]).exit_code == 2
    assert runner.invoke(app, ["status", "--days", "1000"]).exit_code == 2
    unknown = runner.invoke(app, ["status", "--marketplace", "A1PA6795UKMFR9"])
    assert unknown.exit_code == 2 and "marketplace A1PA6795UKMFR9 (DE) is not configured" in unknown.stderr


def test_status_takes_no_lock_and_needs_no_credentials(db_path: Path) -> None:
    before = open_db(db_path).conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_worker_lock").fetchone()[0]
    assert runner.invoke(app, ["status"]).exit_code == 0
    assert open_db(db_path).conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_worker_lock").fetchone()[0] == before


def test_warns_about_a_readable_env_file(db_path: Path, tmp_path: Path) -> None:
    env = tmp_path / "prod.env"
    env.write_text("LOOKBACK_DAYS=2\n")
    env.chmod(0o644)
    result = runner.invoke(app, ["--env-file", str(env), "status"])
    assert "readable by other users; run: chmod 600" in result.stderr
    env.chmod(0o600)
    assert "readable" not in runner.invoke(app, ["--env-file", str(env), "status"]).stderr


def test_status_is_not_blocked_by_a_writer(db_path: Path) -> None:
    import sqlite3
    writer = sqlite3.connect(db_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a sync in the middle of applying a window
    writer.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'MISSING' WHERE hour_utc LIKE '2026-03-10%'")
    try:
        code, report = _status()
        assert code == 0 and report["marketplaces"][0]["ledger"]["APPLIED"] == 46  # the last committed state
    finally:
        writer.execute("ROLLBACK")


def test_json_shows_the_rates_the_pacer_uses(db_path: Path) -> None:
    _sql(db_path, "INSERT INTO rtsales_state VALUES ('rate:spapi:createReport', '0.05', ?)", iso(NOW))
    code, report = _status()
    assert report["spapi_rates"]["createReport"] == {"rate": 0.05, "learned": True}
    assert report["spapi_rates"]["getReport"] == {"rate": 2.0, "learned": False}  # Amazon's default until it answers


def test_an_applied_hour_without_a_data_state_is_drawn_as_unconfirmed_not_a_crash(db_path: Path) -> None:
    """A hand-made or hand-edited file may hold APPLIED hours whose data_state was never set."""
    _sql(db_path, "UPDATE vendor_rt_sales_hour_ledger SET data_state = 'none'")
    result = runner.invoke(app, ["status"])
    assert result.exit_code in (0, 1), result.output
    assert "▄" in result.stdout and "Traceback" not in result.output
    code, report = _status()
    assert "PROVISIONAL" in {cell for row in report["marketplaces"][0]["grid"].values() for cell in row}
