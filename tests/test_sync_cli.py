"""`rtsales sync` as a command: exit codes, --quiet, missing credentials."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rtsales.cli import app
from rtsales.quota import start_cooldown
from rtsales.store import open_db
from tests.conftest import CREDS, T0, unstamped

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RTSALES_NOW", "2026-03-10T12:07:00Z")
    db = tmp_path / "cli.db"
    monkeypatch.setenv("RTSALES_DB", str(db))
    return db


def test_missing_credentials_exit_78(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LWA_REFRESH_TOKEN")
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 78
    assert "LWA_REFRESH_TOKEN" in result.stderr


def test_cooldown_exit_75_with_until_time(env: Path) -> None:
    start_cooldown(open_db(env), "spapi", T0, timedelta(minutes=30), timedelta(hours=4))
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 75
    assert unstamped(result.stderr).strip() == "skipped: cooldown due to SP-API quota (until 12:37 UTC)"
    quiet = runner.invoke(app, ["sync", "--quiet"])
    assert quiet.exit_code == 75 and quiet.output == ""
    assert open_db(env).conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger").fetchone()[0] == 0
