"""The loopback HTTP server, over real sockets, and the `rtsales simulator serve` command."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from typer.testing import CliRunner

import rtsales.simulator
from rtsales.cli import app
from rtsales.clock import HOUR, FrozenClock, iso
from rtsales.simulator import BackgroundServer, Faults, Simulator, SimulatorServer, is_loopback

from .helpers import REPORTS, T0, US, Api, gunzip_json


def test_full_flow_over_loopback(clock: FrozenClock) -> None:
    sim = Simulator(seed=7, clock=clock)
    with BackgroundServer(sim) as server, httpx.Client(base_url=server.base_url, timeout=5) as http:
        assert server.base_url.startswith("http://127.0.0.1:") and server.port > 0
        api = Api(http, clock, sim)
        report_id = api.create(T0 - 4 * HOUR, T0).json()["reportId"]
        assert api.report(report_id).json()["processingStatus"] == "IN_QUEUE"
        assert http.post("/_sim/clock", json={"advance_seconds": 90}).status_code == 200
        report = api.report(report_id).json()
        assert report["processingStatus"] == "DONE"
        document = api.document(report["reportDocumentId"]).json()
        assert document["url"].startswith(f"{server.base_url}/_sim/documents/")
        download = http.get(document["url"])
        assert download.status_code == 200 and "content-encoding" not in download.headers
        assert gunzip_json(download.content)["reportSpecification"]["marketplaceIds"] == [US]
        truth = http.get("/_sim/truth", params={"marketplace_id": US, "hour": iso(T0 - HOUR)}).json()
        assert truth["marketplaceId"] == US
        assert http.post("/_sim/faults", json={"p429": 1.0}).json()["p429"] == 1.0
        assert api.report(report_id).status_code == 429
        counts = http.get("/_sim/log").json()["counts"]
        assert counts["getReport"] == {"200": 2, "429": 1} and counts["download"] == {"200": 1}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/_sim/clock", timeout=2)


def test_document_url_is_the_servers_own_address_whatever_the_host_header(clock: FrozenClock) -> None:
    """Clients such as python-amazon-sp-api send the Host they sign for, not the one they connect to."""
    sim = Simulator(seed=7, clock=clock)
    with BackgroundServer(sim) as server, httpx.Client(base_url=server.base_url, timeout=5) as http:
        api = Api(http, clock, sim)
        document_id = api.finished_report(T0 - 4 * HOUR, T0)["reportDocumentId"]
        connection = HTTPConnection(server.host, server.port, timeout=5)
        connection.request("GET", f"{REPORTS}/documents/{quote(document_id)}", headers={
            "Host": "sellingpartnerapi-na.amazon.com", **api.headers})
        response = connection.getresponse()
        url = json.loads(response.read())["url"]
        connection.close()
        assert response.status == 200
        assert url.startswith(f"http://127.0.0.1:{server.port}/_sim/documents/")
        download = httpx.get(url, timeout=5)
        assert download.status_code == 200 and gunzip_json(download.content)["reportData"]


def test_slow_answers_sleep_on_the_server(clock: FrozenClock) -> None:
    slept: list[float] = []
    sim = Simulator(clock=clock, faults=Faults(p_slow=1.0, slow_seconds=7))
    with BackgroundServer(sim, sleep=slept.append) as server:
        response = httpx.post(f"{server.lwa_token_url}", data={"grant_type": "refresh_token"}, timeout=5)
    assert response.status_code == 401 and slept == [7]


def test_is_loopback() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"]))
    assert not any(map(is_loopback, ["0.0.0.0", "10.0.0.1", "::", "example.com", "192.168.1.2", ""]))


# -- the command --------------------------------------------------------------------------


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RTSALES_NOW", raising=False)
    env_file = tmp_path / "empty.env"
    env_file.write_text("")

    def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
        return CliRunner().invoke(app, ["--env-file", str(env_file), "simulator", "serve", *args], env=env)
    return invoke


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Simulator, str, int]]:
    """Replace the blocking serve() with one that binds nothing and reports ready at once."""
    calls: list[tuple[Simulator, str, int]] = []

    class FakeServer:
        base_url = "http://127.0.0.1:8765"
        lwa_token_url = "http://127.0.0.1:8765/auth/o2/token"

    def fake_serve(model: Simulator, host: str, port: int,
                   on_ready: Callable[[Any], None] | None = None) -> None:
        calls.append((model, host, port))
        if on_ready is not None:
            on_ready(FakeServer())

    monkeypatch.setattr(rtsales.simulator, "serve", fake_serve)
    return calls


@pytest.mark.parametrize("host", ["10.1.2.3", "0.0.0.0", "example.com"])
def test_non_loopback_host_is_refused(run: Callable[..., Any], served: list[Any], host: str) -> None:
    result = run("--host", host)
    assert result.exit_code == 2
    assert "non-loopback" in result.output and served == []


def test_non_loopback_needs_explicit_host_and_flag(run: Callable[..., Any], served: list[Any]) -> None:
    result = run("--host", "10.1.2.3", "--allow-non-loopback")
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and served[0][1] == "10.1.2.3"


def test_serve_prints_settings_and_uses_options(run: Callable[..., Any], served: list[Any]) -> None:
    result = run("--port", "0", "--seed", "5", "--p429", "0.5", "--p-expired", "1", "--max-window-hours", "6",
                 "--p-cancel", "0.25", "--p-400", "0.125", "--max-data-age-hours", "48.5", env={"RTSALES_NOW": "2024-05-01T12:00:00Z"})
    assert result.exit_code == 0, result.output
    for line in ("SPAPI_ENDPOINT=http://127.0.0.1:8765", "LWA_TOKEN_URL=http://127.0.0.1:8765/auth/o2/token",
                 "LWA_CLIENT_ID=sim-client-id", "LWA_CLIENT_SECRET=sim-client-secret",
                 "LWA_REFRESH_TOKEN=sim-refresh-token"):
        assert line in result.output
    model, host, port = served[0]
    assert (host, port, model.seed) == ("127.0.0.1", 0, 5)
    assert model.faults == Faults(p429=0.5, p_expired=1.0, p_cancel=0.25, p_400=0.125)
    assert model.max_window.total_seconds() == 6 * 3600 and model.max_data_age.total_seconds() == 48.5 * 3600
    assert isinstance(model.clock, FrozenClock) and model.clock.now() == T0


def test_serve_uses_the_system_clock_without_rtsales_now(run: Callable[..., Any], served: list[Any]) -> None:
    assert run().exit_code == 0
    assert served[0][0].max_data_age.total_seconds() == 168 * 3600
    assert not served[0][0].clock.frozen and served[0][1:] == ("127.0.0.1", 8765)


def test_a_busy_port_is_a_usage_error(run: Callable[..., Any]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run("--port", str(busy.getsockname()[1]))
    assert result.exit_code == 2 and "cannot listen" in result.output


def test_server_binds_ipv4_loopback_on_a_free_port(clock: FrozenClock) -> None:
    with SimulatorServer(Simulator(clock=clock), "127.0.0.1", 0) as server:
        assert server.port > 0 and server.lwa_token_url == f"{server.base_url}/auth/o2/token"
