"""Clock skew: the SP-API client reads Amazon's Date header, the engine keeps the latest offset."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

from rtsales.amazon.client import SpApiClient
from rtsales.clock import FrozenClock, iso
from rtsales.config import Settings
from rtsales.simulator.cron import SimulatedCron
from rtsales.views.status import collect_status
from tests.conftest import T0

API = "https://sellingpartnerapi-na.amazon.com/reports/2021-06-30"
TOKEN_URL = "https://api.amazon.com/auth/o2/token"
US = "ATVPDKIKX0DER"


@pytest.fixture
def client(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings], clock: FrozenClock) -> SpApiClient:
    httpx_mock.add_response(url=TOKEN_URL, json={"access_token": "Atza|token-1", "expires_in": 3600},
                            is_optional=True)
    return SpApiClient(make_settings(), clock)


def _date(offset: timedelta) -> dict[str, str]:
    return {"Date": format_datetime(T0 + offset, usegmt=True)}


def test_amazon_ten_minutes_ahead_is_recorded(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    httpx_mock.add_response(url=f"{API}/reports/1", headers=_date(timedelta(minutes=10)),
                            json={"reportId": "1", "processingStatus": "IN_QUEUE"})
    client.get_report("1")
    assert client.clock_skew_seconds == -600  # the host is behind Amazon


def test_the_latest_answer_wins_and_errors_count_too(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    httpx_mock.add_response(url=f"{API}/reports/1", headers=_date(timedelta(minutes=-3)),
                            json={"reportId": "1", "processingStatus": "IN_QUEUE"})
    httpx_mock.add_response(url=f"{API}/reports/2", status_code=404, headers=_date(timedelta(minutes=-7)),
                            json={"errors": [{"code": "NotFound", "message": "no"}]})
    client.get_report("1")
    with pytest.raises(Exception, match="NotFound"):
        client.get_report("2")
    assert client.clock_skew_seconds == 420  # the host is ahead


@pytest.mark.parametrize("header", [None, "not a date", "Tue, 10 Mar 2026 12:07:00 -0000"])
def test_no_usable_date_records_nothing(httpx_mock: HTTPXMock, client: SpApiClient, header: str | None) -> None:
    httpx_mock.add_response(url=f"{API}/reports/1", headers={"Date": header} if header else {},
                            json={"reportId": "1", "processingStatus": "IN_QUEUE"})
    client.get_report("1")
    assert client.clock_skew_seconds is None


def test_a_run_keeps_the_offset_the_simulator_shows(tmp_path: Path) -> None:
    cron = SimulatedCron(tmp_path / "skew.db", (US,), T0)
    cron.sim.clock = FrozenClock(T0 - timedelta(minutes=10))  # Amazon's clock: the host runs 10 min ahead
    cron.cycle(advance=False)
    value, observed = cron.db.conn.execute(
        "SELECT value, updated_at FROM rtsales_state WHERE key = 'spapi_clock_skew_seconds'").fetchone()
    assert float(value) == 600 and observed == iso(T0)
    report = collect_status(cron.db, cron.settings, T0)
    assert report["clock_skew_seconds"] == 600
    assert "host clock ahead of Amazon by about 10 min" in report["warnings"]


def test_a_run_in_step_with_amazon_shows_no_skew(tmp_path: Path) -> None:
    cron = SimulatedCron(tmp_path / "even.db", (US,), T0)
    cron.cycle(advance=False)
    value = cron.db.conn.execute("SELECT value FROM rtsales_state WHERE key = 'spapi_clock_skew_seconds'").fetchone()
    assert value is not None and float(value[0]) == 0  # the simulator's Date comes from its (shared) clock
    assert collect_status(cron.db, cron.settings, T0)["clock_skew_seconds"] is None


def test_the_loopback_simulator_dates_its_answers_by_simulated_time() -> None:
    import httpx

    from rtsales.simulator import BackgroundServer, Simulator

    with BackgroundServer(Simulator(clock=FrozenClock(T0))) as server:
        answer = httpx.get(f"{server.base_url}/reports/2021-06-30/reports/1")
    assert answer.headers.get_list("date") == [format_datetime(T0, usegmt=True)]  # one Date, not the real one
