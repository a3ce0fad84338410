"""HTTP_TIMEOUT_SECONDS is a total deadline per request attempt, headers and body included.

httpx's read timeout applies to each socket read, so a server that answers one byte
at a time never trips it. Every client is pointed here at a real server on 127.0.0.1
that drips its answer (tests/drip_server.py) and must fail with its usual timeout
error, after its usual bounded retries, instead of waiting for ever. Backoff between
retries goes through the FrozenClock, so each test costs about ATTEMPTS deadlines.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from rtsales.amazon.auth import LwaAuth
from rtsales.amazon.client import DocumentInfo, SpApiClient
from rtsales.clock import FrozenClock
from rtsales.config import Settings
from rtsales.errors import KeepaError, LoginError, SpApiError, XaiError
from rtsales.http import ATTEMPTS, build_client
from rtsales.keepa.budget import TokenBudget
from rtsales.keepa.client import KeepaClient
from rtsales.store import open_db
from rtsales.xai.client import XaiClient
from tests.conftest import T0
from tests.drip_server import DripServer

TIMEOUT = "0.5"  # seconds per attempt; the server drips every 0.1 s, well inside one read timeout
HANG = 12.0  # a call still running after this has no total deadline (3 attempts need about 1.5 s)
TOKEN_PATH = "/auth/o2/token"
TOKEN = {"access_token": "Atza|drip-test", "expires_in": 3600}
DRIPS = ["headers", "body"]


@pytest.fixture
def serve() -> Iterator[Callable[..., DripServer]]:
    servers: list[DripServer] = []

    def start(drip: str, instant: dict[str, object] | None = None) -> DripServer:
        servers.append(DripServer(drip, instant))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def failure(call: Callable[[], object]) -> BaseException:
    """Run `call` in a thread and return what it raised; fail the test if it is still running after HANG s."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), f"still waiting after {HANG:.0f} s: no total deadline on the request"
    assert raised, "the call succeeded against a server that never finishes its answer"
    return raised[0]


def _spapi(make_settings: Callable[..., Settings], clock: FrozenClock, server: DripServer) -> SpApiClient:
    settings = make_settings(SPAPI_ENDPOINT=server.url, LWA_TOKEN_URL=server.url + TOKEN_PATH,
                             HTTP_TIMEOUT_SECONDS=TIMEOUT)
    return SpApiClient(settings, clock)


@pytest.mark.parametrize("drip", DRIPS)
def test_a_dripping_answer_is_a_timeout(serve: Callable[..., DripServer], drip: str) -> None:
    server = serve(drip)
    with build_client(float(TIMEOUT)) as client:
        error = failure(lambda: client.get(server.url + "/anything"))
    assert isinstance(error, httpx.ReadTimeout), repr(error)
    assert len(server.dripped) == 1


def test_an_answer_in_time_is_read_whole(serve: Callable[..., DripServer]) -> None:
    server = serve("body", instant={"/fast": {"ok": True}})
    with build_client(float(TIMEOUT)) as client:
        first, second = client.get(server.url + "/fast"), client.get(server.url + "/fast")
    assert (first.status_code, first.json(), second.json()) == (200, {"ok": True}, {"ok": True})


def test_a_refused_connection_is_still_httpx_connect_error() -> None:
    """The transport maps httpcore's errors to the httpx ones the clients catch and describe."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    with build_client(float(TIMEOUT)) as client, pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{port}/")


def gave_up(server: DripServer, call: Callable[[], object], kind: type[Exception], message: str) -> Exception:
    """`call` failed with the client's usual timeout error, after ATTEMPTS dripped attempts."""
    error = failure(call)
    assert isinstance(error, kind), repr(error)
    assert message in str(error)
    assert len(server.dripped) == ATTEMPTS, server.dripped  # an overrun is retried like a timeout
    return error


@pytest.mark.parametrize("drip", DRIPS)
def test_create_report_times_out(serve: Callable[..., DripServer], make_settings: Callable[..., Settings],
                                 clock: FrozenClock, drip: str) -> None:
    server = serve(drip, instant={TOKEN_PATH: TOKEN})
    with closing(_spapi(make_settings, clock, server)) as client:
        error = gave_up(server, lambda: client.create_report("ATVPDKIKX0DER", T0 - timedelta(hours=1), T0),
                        SpApiError, "createReport: timed out after retries")
    assert isinstance(error, SpApiError) and error.code == "Transient"
    assert all(line.startswith("POST /reports/2021-06-30/reports ") for line in server.dripped)


@pytest.mark.parametrize("drip", DRIPS)
def test_document_download_times_out(serve: Callable[..., DripServer], make_settings: Callable[..., Settings],
                                     clock: FrozenClock, drip: str) -> None:
    server = serve(drip)
    document = DocumentInfo(document_id="doc-1", url=server.url + "/doc-1", compression=None)
    with closing(_spapi(make_settings, clock, server)) as client:
        gave_up(server, lambda: client.download_raw(document), SpApiError, "download: timed out after retries")


def test_login_with_amazon_times_out(serve: Callable[..., DripServer], make_settings: Callable[..., Settings],
                                     clock: FrozenClock) -> None:
    server = serve("headers")
    settings = make_settings(LWA_TOKEN_URL=server.url + TOKEN_PATH, HTTP_TIMEOUT_SECONDS=TIMEOUT)
    with build_client(settings.http_timeout_seconds) as http:
        gave_up(server, LwaAuth(settings, http, clock).access_token, LoginError,
                "Login with Amazon failed: timed out after retries")


def test_keepa_times_out(serve: Callable[..., DripServer], make_settings: Callable[..., Settings],
                         clock: FrozenClock, tmp_path: Path) -> None:
    server = serve("body")
    settings = make_settings(KEEPA_API_KEY="keepa-test-key-0123456789abcdef", KEEPA_API_URL=server.url,
                             HTTP_TIMEOUT_SECONDS=TIMEOUT)
    budget = TokenBudget(open_db(tmp_path / "keepa.db"), settings, clock)
    with closing(KeepaClient(settings, clock, budget)) as client:
        gave_up(server, client.token_status, KeepaError, "Keepa /token: timed out after retries")


def test_xai_times_out(serve: Callable[..., DripServer], make_settings: Callable[..., Settings],
                       clock: FrozenClock) -> None:
    server = serve("headers")
    settings = make_settings(XAI_API_KEY="xai-test-key-0123456789abcdef", XAI_API_URL=server.url,
                             HTTP_TIMEOUT_SECONDS=TIMEOUT)
    with closing(XaiClient(settings, clock)) as client:
        error = gave_up(server, lambda: client.complete("is a calculus textbook seasonal?"), XaiError,
                        "xAI call failed: timed out after retries")
    assert isinstance(error, XaiError) and error.may_have_cost  # the request was sent: xAI may bill it
