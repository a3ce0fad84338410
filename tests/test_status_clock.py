"""`rtsales status` and the clock: instants far ahead, dates on other days' times, clock skew,
and marketplaces no longer in MARKETPLACE_IDS."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rtsales.cli import app
from rtsales.clock import floor_hour, iso
from rtsales.quota import start_cooldown
from rtsales.store import open_db, transaction
from rtsales.sync.ledger import seed
from tests.conftest import CREDS, at, unstamped
from tests.test_status_cli import MP, _sql, _status, status_db

runner = CliRunner()
GONE = "A2EUQ1WTGCTBG2"
NOW = at("2026-03-10T22:07:00Z")  # late in the UTC day: a 4 h cooldown ends tomorrow


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in CREDS.items():  # `sync` too, for its cooldown line
        monkeypatch.setenv(name, value)
    return status_db(tmp_path, monkeypatch, NOW)


# -- instants of another day carry their date ------------------------------------------------


def test_a_cooldown_ending_tomorrow_shows_its_date(db_path: Path) -> None:
    start_cooldown(open_db(db_path), "spapi", NOW, timedelta(hours=4), timedelta(hours=4))
    _, report = _status()
    assert report["marketplaces"][0]["diagnosis"] == "Cooldown due to SP-API quota (until 2026-03-11 02:07 UTC)"
    human = runner.invoke(app, ["status"]).stdout
    assert "quota until 2026-03-11 02:07 UTC" in human
    sync = runner.invoke(app, ["sync"])
    assert sync.exit_code == 75
    assert unstamped(sync.stderr).strip() == "skipped: cooldown due to SP-API quota (until 2026-03-11 02:07 UTC)"


def test_a_retry_tomorrow_shows_its_date(db_path: Path) -> None:
    _sql(db_path, "UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', last_error = 'boom', "
                  "next_retry_utc = '2026-03-11T01:00:00Z' WHERE hour_utc >= '2026-03-10T18:00:00Z'")
    _, report = _status()
    assert report["marketplaces"][0]["diagnosis"].startswith("2 hour(s) FAILED, next retry 2026-03-11 01:00 UTC")
    human = runner.invoke(app, ["status"]).stdout
    assert "retry 2026-03-11 01:00 UTC" in human


def test_times_of_today_stay_short(db_path: Path) -> None:
    start_cooldown(open_db(db_path), "spapi", NOW, timedelta(minutes=30), timedelta(hours=4))
    _, report = _status()
    assert report["marketplaces"][0]["diagnosis"] == "Cooldown due to SP-API quota (until 22:37 UTC)"


# -- stored instants far in the future -------------------------------------------------------


def test_a_cooldown_days_ahead_is_not_reported(db_path: Path) -> None:
    _sql(db_path, "INSERT INTO api_cooldowns VALUES ('spapi', 'quota', ?, 1, ?)", iso(NOW + timedelta(days=3)),
         iso(NOW))
    code, report = _status("--check")
    m = report["marketplaces"][0]
    assert code == 0 and m["cooldown"] == {"reason": "none", "until_utc": None}
    assert m["diagnosis"] == "syncing normally"


def test_failed_hours_retrying_days_ahead_are_claimable(db_path: Path) -> None:
    _sql(db_path, "UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', last_error = 'boom', "
                  "next_retry_utc = ? WHERE hour_utc >= '2026-03-10T18:00:00Z'", iso(NOW + timedelta(days=3)))
    _, report = _status()
    m = report["marketplaces"][0]
    assert m["next_retry_utc"] is None and m["next_claimable_hour"] == "2026-03-10T19:00:00Z"
    assert "FAILED, next retry" not in m["diagnosis"]


# -- clock skew seen in Amazon's Date headers --------------------------------------------------


def _skew(path: Path, seconds: int, observed: str) -> None:
    _sql(path, "INSERT OR REPLACE INTO rtsales_state VALUES ('spapi_clock_skew_seconds', ?, ?)", str(seconds),
         observed)


def test_a_recent_skew_is_a_warning_and_a_json_field(db_path: Path) -> None:
    _skew(db_path, 600, iso(NOW - timedelta(hours=2)))
    code, report = _status("--check")
    assert report["clock_skew_seconds"] == 600
    assert "host clock ahead of Amazon by about 10 min" in report["warnings"]
    assert code == 0 and report["marketplaces"][0]["diagnosis"] == "syncing normally"  # ok: not mentioned there
    human = runner.invoke(app, ["status"])
    assert "host clock ahead of Amazon by about 10 min" in human.stderr


def test_the_diagnosis_mentions_skew_when_not_ok(db_path: Path) -> None:
    _skew(db_path, 600, iso(NOW - timedelta(hours=2)))
    _sql(db_path, "UPDATE vendor_rt_sales_hour_ledger SET status = 'MISSING' WHERE hour_utc < '2026-03-09T12:00:00Z'")
    code, report = _status("--check")
    assert code == 1 and report["marketplaces"][0]["diagnosis"].endswith(
        "; host clock ahead of Amazon by about 10 min")


@pytest.mark.parametrize(("seconds", "observed"), [(90, NOW - timedelta(hours=1)), (-90, NOW),
                                                   (600, NOW - timedelta(days=2))])
def test_small_or_old_skew_says_nothing(db_path: Path, seconds: int, observed: object) -> None:
    _skew(db_path, seconds, iso(observed))  # type: ignore[arg-type]
    _, report = _status()
    assert report["clock_skew_seconds"] is None and report["warnings"] == []


def test_a_clock_behind_amazon_says_so(db_path: Path) -> None:
    _skew(db_path, -300, iso(NOW))
    _, report = _status()
    assert report["warnings"] == ["host clock behind Amazon by about 5 min"]


# -- a marketplace removed from MARKETPLACE_IDS ------------------------------------------------


def test_a_removed_marketplace_is_not_configured_and_not_a_failure(db_path: Path) -> None:
    with transaction(open_db(db_path)) as conn:
        seed(conn, GONE, NOW - timedelta(days=1), floor_hour(NOW - timedelta(days=2)), timedelta(minutes=90), kind="sales")
        conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'REQUESTED', report_id = 'r1' "
                     "WHERE marketplace_id = ? AND hour_utc >= '2026-03-09T18:00:00Z'", [GONE])  # in flight
    kept = open_db(db_path).conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE marketplace_id = ?",
                                         [GONE]).fetchone()[0]
    code, report = _status("--check")
    by_id = {m["marketplace_id"]: m for m in report["marketplaces"]}
    assert code == 0 and report["ok"] is True
    assert by_id[MP]["configured"] is True and by_id[MP]["diagnosis"] == "syncing normally"
    gone = by_id[GONE]
    assert gone["configured"] is False and gone["ok"] is True
    assert gone["diagnosis"] == f"not configured ({kept} hours kept)"
    human = runner.invoke(app, ["status"]).stdout
    assert f"{GONE}  not configured ({kept} hours kept)" in human
    code, one = _status("--marketplace", GONE, "--check")
    assert code == 0 and one["marketplaces"][0]["configured"] is False
