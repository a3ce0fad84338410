"""`rtsales status` with several report kinds: a line and a grid per kind, every configured kind in
`--json`, and how soon each kind's new hours are fetched at the live interval the budget allows."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rtsales.cli import app
from rtsales.clock import floor_hour, iso
from rtsales.store import open_db, transaction
from rtsales.sync.ledger import seed
from tests.conftest import at, record_sync

runner = CliRunner()
MP, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"
NOW = at("2026-03-10T12:07:00Z")
LAGS = {"sales": 5, "traffic": 60, "inventory": 5}  # minutes: SAFETY_LAG_MINUTES, and traffic's schema


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two days of final hours of every kind, seeded as sync seeds them, and the environment."""
    path = tmp_path / "kinds.db"
    for name, value in {"RTSALES_DB": str(path), "MARKETPLACE_IDS": f"{MP},{CA}", "RTSALES_NOW": iso(NOW),
                        "REPORT_TYPES": "sales,traffic,inventory"}.items():
        monkeypatch.setenv(name, value)
    db = open_db(path)
    with transaction(db) as conn:
        for mp in (MP, CA):
            for kind, lag in LAGS.items():
                seed(conn, mp, NOW, floor_hour(NOW - timedelta(days=2)), timedelta(minutes=lag), kind=kind)
        conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'APPLIED', data_state = 'final'")
        conn.execute("UPDATE vendor_rt_sales_hour_ledger SET data_state = 'provisional' WHERE report_kind = 'inventory' "
                     "AND hour_utc >= '2026-03-10T09:00:00Z'")
        conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', data_state = 'none', last_error = "
                     "'boom', next_retry_utc = '2026-03-10T13:00:00Z' WHERE report_kind = 'traffic' "
                     "AND hour_utc = '2026-03-10T03:00:00Z'")
    record_sync(db, NOW - timedelta(minutes=10))
    return path


def _json() -> dict:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _text(*args: str) -> list[str]:
    result = runner.invoke(app, ["status", "--days", "2", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


def test_json_carries_every_configured_kind(db_path: Path) -> None:
    report = _json()
    for m in report["marketplaces"]:
        assert list(m["kinds"]) == ["sales", "traffic", "inventory"]
        assert {k["report_kind"] for k in m["kinds"].values()} == {"sales", "traffic", "inventory"}
        assert m["kinds"]["traffic"]["ledger"]["FAILED"] == 1 and m["kinds"]["sales"]["ledger"]["FAILED"] == 0
        assert m["kinds"]["inventory"]["provisional_hours"] == 3


def test_json_says_how_soon_each_kind_is_fetched(db_path: Path) -> None:
    live = _json()["live_refresh"]
    assert live["lanes"] == 6 and live["report_kinds"] == ["sales", "traffic", "inventory"]
    assert live["effective_minutes"] == 24  # six lanes: the budget pays for a refresh each 24 minutes, not 15
    assert {kind: v["first_seen_within_minutes"] for kind, v in live["kinds"].items()} == {
        "sales": 5 + 24, "traffic": 60 + 24, "inventory": 5 + 24}  # its lag, then at most one live interval


def test_json_a_live_interval_of_a_whole_day_is_not_zero(db_path: Path) -> None:
    open_db(db_path).conn.execute("INSERT INTO rtsales_state VALUES ('rate:spapi:createReport', '0.000001', ?)",
                                  [iso(NOW)])
    live = _json()["live_refresh"]
    assert live["effective_minutes"] == 24 * 60  # the cap, not the seconds of a timedelta past its days
    assert live["kinds"]["traffic"]["first_seen_within_minutes"] == 60 + 24 * 60


def test_a_line_per_kind_with_its_ledger_last_hour_and_diagnosis(db_path: Path) -> None:
    lines = _text("--marketplace", MP)
    kinds = {line.split()[0]: line for line in lines if line.split() and line.split()[0] in LAGS
             and "last applied" in line}
    assert set(kinds) == set(LAGS), lines
    assert "APPLIED 48" in kinds["sales"] and "last applied 11:00 UTC (7m 00s ago)" in kinds["sales"]
    assert "FAILED 1" in kinds["traffic"] and "last applied 10:00 UTC (1h 07m ago)" in kinds["traffic"]
    assert "1 hour(s) FAILED, next retry 13:00 UTC: boom" in kinds["traffic"]  # its own diagnosis: a FAILED hour waiting for its retry
    assert "3 hour(s) may still change" in kinds["inventory"]
    assert kinds["sales"].endswith("0 hour(s) may still change")  # ok: no diagnosis repeated
    assert not [line for line in lines if line.strip().startswith(("ledger ", "last applied hour"))]


def test_live_refresh_line_names_the_lanes_and_each_kinds_delay(db_path: Path) -> None:
    live = next(line for line in _text("--marketplace", MP) if "live refresh" in line)
    assert ("every 24 min for 6 lanes (3 report kinds x 2 marketplaces) (LIVE_REFRESH_MINUTES is 15; "
            "QUOTA_BUDGET_PERCENT=50 pays for no more)") in live
    assert "new hours fetched within sales 29m 00s, traffic 1h 24m, inventory 29m 00s of their end" in live


def test_a_grid_per_kind_under_its_heading(db_path: Path) -> None:
    lines = _text("--marketplace", MP)
    headings = [i for i, line in enumerate(lines) if line.strip() in LAGS]
    assert [lines[i].strip() for i in headings] == ["sales", "traffic", "inventory"]
    today = [next(line for line in lines[i:] if line.strip().startswith("2026-03-10")) for i in headings]
    assert [row.split()[1] for row in today] == ["████████████", "███x███████", "█████████▄▄▄"]
    assert sum("█ final" in line for line in lines) == 1  # one legend


def test_one_kind_keeps_its_view_and_names_its_lane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_status_cli import status_db
    status_db(tmp_path, monkeypatch, NOW)
    lines = _text()
    assert any(line.strip().startswith("ledger ") for line in lines)
    assert not [line for line in lines if line.strip() in LAGS]  # no kind headings
    live = next(line for line in lines if "live refresh" in line)
    assert "every 15 min for 1 lane (1 report kind x 1 marketplace)" in live and "within 1h 45m" in live


def test_a_trouble_every_kind_shares_is_said_once(db_path: Path) -> None:
    db = open_db(db_path)
    db.conn.execute("DELETE FROM rtsales_runs")
    record_sync(db, NOW - timedelta(hours=3))  # cron stopped three hours ago: every kind says so
    db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'APPLIED', data_state = 'final' "
                    "WHERE status = 'FAILED'")
    lines = _text("--marketplace", MP)
    assert "no sync has run" in lines[0]
    assert sum("no sync has run" in line for line in lines) == 1, lines


def test_inconclusive_hours_and_window_caps_name_their_kind(db_path: Path) -> None:
    db = open_db(db_path)
    db.conn.execute("UPDATE vendor_rt_sales_hour_ledger SET inconclusive = 1 WHERE marketplace_id = ? AND hour_utc IN "
                    "('2026-03-10T01:00:00Z', '2026-03-10T02:00:00Z') AND report_kind IN ('sales', 'traffic') "
                    "AND NOT (report_kind = 'sales' AND hour_utc = '2026-03-10T02:00:00Z')", [MP])
    db.conn.execute("INSERT INTO rtsales_state VALUES (?, '12', ?)", [f"max_window_hours:traffic:{MP}", iso(NOW)])
    rows = {line.split()[0]: line for line in _text("--marketplace", MP) if line.startswith("  ") and line.split()}
    assert "3 hour(s) (sales: 1; traffic: 2): the last re-fetch came back CANCELLED" in rows["inconclusive"]
    assert rows["window"].split("cap", 1)[1].strip().startswith("traffic: 12 h, learned 12:07 UTC")
