"""Shared fixtures: an isolated environment, settings factory, frozen clock."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sqlite_utils import Database

from rtsales import http
from rtsales.clock import FrozenClock, parse_instant
from rtsales.config import Settings, load_settings, setting_names
from rtsales.sync import runs

# Off a terminal (CliRunner, pipes, cron) every stderr line starts with the UTC time it was written.
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "


def unstamped(text: str) -> str:
    """stderr without the time stamps of its lines, as a terminal would show it."""
    return re.sub(rf"(?m)^{STAMP}", "", text)


SHARED_SPAPI = Path(__file__).resolve().parents[1].parent / "shared" / "spapi"
T0 = parse_instant("2026-03-10T12:07:00Z")

CREDS = {
    "LWA_CLIENT_ID": "amzn1.application-oa2-client.testclient",
    "LWA_CLIENT_SECRET": "test-client-secret-ZXCV1234",
    "LWA_REFRESH_TOKEN": "Atzr|test-refresh-token-QWER5678",
    "MARKETPLACE_IDS": "ATVPDKIKX0DER",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No test sees the developer's environment or .env; each runs in its own directory."""
    for name in [*setting_names(), "RTSALES_DEBUG"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def httpx_mock_answers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-httpx answers only requests sent through httpx.HTTPTransport: where a test uses it,
    clients get that transport instead of rtsales' DeadlineTransport (tests/test_http_deadline.py)."""
    if "httpx_mock" in request.fixturenames:
        monkeypatch.setattr(http, "DeadlineTransport", lambda _seconds: httpx.HTTPTransport())


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**env: Any) -> Settings:
        values = {**CREDS, "RTSALES_DB": str(tmp_path / "rtsales.db"),
                  "LWA_TOKEN_URL": "https://api.amazon.com/auth/o2/token"}
        values.update({k: str(v) for k, v in env.items() if v is not None})
        for k in [k for k, v in env.items() if v is None]:
            values.pop(k, None)
        return load_settings(environ=values)
    return build


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


def at(text: str) -> datetime:
    return parse_instant(text)


def record_sync(db: Database, when: datetime, outcome: str = "ok") -> None:
    """A finished `rtsales sync` in the run history: cron's last run, for a database built by hand."""
    runs.end(db, runs.begin(db, "sync", "sync:1", when), when, runs.Summary(outcome, 0))
