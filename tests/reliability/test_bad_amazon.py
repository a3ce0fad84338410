"""Bad answers from Amazon: the real `rtsales sync` against the simulator, with one
marketplace's answer to one call replaced.

For every case: that window's hour is FAILED with a `last_error` naming the problem,
that marketplace's `vendor_realtime_sales` rows are unchanged, nothing is stashed for
it, the other marketplace's window of the same run is applied, the run exits 0 (a
per-window failure is recorded, not fatal: the engine's documented behaviour) and
`rtsales status` shows the error.

Every request goes through pytest-httpx to `Tamper`, which hands it to the in-process
simulator. SPAPI_ENDPOINT is left to its production default (https://sellingpartnerapi-
na.amazon.com), so the simulator's pre-signed URLs are https as Amazon's are.

The same refusals one level down are proven in tests/test_parse.py (wrong report type,
rows outside the window, not JSON, not UTF-8) and tests/test_spapi_client.py (size cap,
gzip bombs and truncation, an HTML error page, a 200 that is not JSON, the ErrorList
code in the message, an http document URL refused for an https endpoint and allowed
for a loopback one).
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pytest_httpx import HTTPXMock
from typer.testing import Result

from rtsales.clock import FrozenClock, iso
from rtsales.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, Simulator
from rtsales.simulator.model import route
from tests.e2e.conftest import CA, START, US
from tests.reliability.conftest import assert_one_error_line, invoke

NEW_HOUR = "2026-03-10T10:00:00Z"  # due from 12:30 (SAFETY_LAG_MINUTES=90); the next one from 13:30
Change = Callable[[httpx.Response], httpx.Response]


class Tamper(httpx.BaseTransport):
    """The simulator, except that once armed one marketplace's answers to the listed
    operations are replaced (Login with Amazon's, which belong to no marketplace, for all)."""

    def __init__(self, sim: Simulator, marketplace: str):
        self.sim, self.marketplace = sim, marketplace
        self.changes: dict[str, Change] = {}
        self.requests: list[tuple[str, str]] = []  # (operation, url) of every request

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        operation = route(request.method, request.url.path)[0]
        self.requests.append((operation, str(request.url)))
        reply = self.sim.handle(request.method, str(request.url), dict(request.headers), request.read())
        response = httpx.Response(reply.status, headers=dict(reply.headers), content=reply.body, request=request)
        change = self.changes.get(operation)
        ours = reply.marketplace_id == self.marketplace or operation == "lwa"
        return change(response) if change and ours else response


@dataclass
class Amazon:
    clock: FrozenClock
    tamper: Tamper
    env: dict[str, str]
    db_path: Path

    def run(self, *args: str) -> Result:
        return invoke(*args, env={**self.env, "RTSALES_NOW": iso(self.clock.now())})

    def sync(self) -> dict[str, object]:
        result = self.run("sync", "--json")
        assert result.exit_code == 0, (result.exit_code, result.stderr)
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    def tick(self, minutes: int = 15) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    def sql(self, query: str, *params: object) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(self.db_path)
        try:
            return conn.execute(query, params).fetchall()
        finally:
            conn.close()

    def sales(self, marketplace: str) -> list[tuple[object, ...]]:
        return self.sql("SELECT * FROM vendor_realtime_sales WHERE marketplace_id = ? ORDER BY hour_utc, asin",
                        marketplace)

    def hour(self, marketplace: str, key: str = NEW_HOUR) -> tuple[object, ...]:
        return self.sql("SELECT status, last_error FROM vendor_rt_sales_hour_ledger WHERE marketplace_id = ? "
                        "AND hour_utc = ?", marketplace, key)[0]


def _environment(db_path: Path, **extra: str) -> dict[str, str]:
    return {"LWA_CLIENT_ID": DEFAULT_CLIENT_ID, "LWA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "LWA_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN, "MARKETPLACE_IDS": f"{US},{CA}",
            "RTSALES_DB": str(db_path), "LOOKBACK_DAYS": "1", "MAX_DOCUMENT_MB": "1",
            "ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "false",
            # One report per new hour, nothing else: each case shapes exactly one window's answer.
            "SAFETY_LAG_MINUTES": "90", "LIVE_REFRESH_MINUTES": "1440", **extra}


def _world(tmp_path: Path, httpx_mock: HTTPXMock, **extra: str) -> Amazon:
    clock = FrozenClock(START)
    tamper = Tamper(Simulator(seed=3, clock=clock), US)
    httpx_mock.add_callback(tamper.handle_request, is_reusable=True)
    world = Amazon(clock, tamper, _environment(tmp_path / "amazon.db", **extra), tmp_path / "amazon.db")
    world.sync()  # a day of history for both marketplaces: one report each ...
    world.tick()
    world.sync()  # ... applied
    assert world.sql("SELECT DISTINCT status FROM vendor_rt_sales_hour_ledger") == [("APPLIED",)]
    assert world.sales(US), "the history must have rows, or 'unchanged' would prove nothing"
    world.tick()  # 12:37: NEW_HOUR is due
    return world


@pytest.fixture
def amazon(tmp_path: Path, httpx_mock: HTTPXMock) -> Amazon:
    return _world(tmp_path, httpx_mock)


# -- replacement answers ----------------------------------------------------------------------

def _body(response: httpx.Response, content: bytes, status: int = 200,
          content_type: str = "application/octet-stream") -> httpx.Response:
    return httpx.Response(status, headers={"Content-Type": content_type}, content=content,
                          request=response.request)


def _document(edit: Callable[[dict[str, object]], None]) -> Change:
    def change(response: httpx.Response) -> httpx.Response:
        document = json.loads(gzip.decompress(response.content))
        edit(document)
        return _body(response, gzip.compress(json.dumps(document).encode()))
    return change


def _wrong_type(document: dict[str, object]) -> None:
    document["reportSpecification"]["reportType"] = "GET_VENDOR_REAL_TIME_TRAFFIC_REPORT"  # type: ignore[index]


def _row_outside(document: dict[str, object]) -> None:
    document["reportData"].append({  # type: ignore[attr-defined]
        "startTime": "2026-03-10T09:00:00Z", "endTime": "2026-03-10T10:00:00Z", "asin": "B0OUTSIDE1",
        "orderedUnits": 1, "orderedRevenue": 9.99})


def _errors(status: int, code: str, message: str) -> Change:
    return lambda r: _body(r, json.dumps({"errors": [{"code": code, "message": message}]}).encode(), status,
                           "application/json")


HTML = b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>Oops</body></html>"
PADDING = b" " * (2 * 1024 * 1024)  # valid JSON whitespace: small gzipped, 2 MB expanded

CASES = [
    pytest.param("download", lambda r: _body(r, gzip.decompress(r.content)), "document is not valid gzip",
                 id="not-gzip"),
    pytest.param("download", lambda r: _body(r, gzip.compress(HTML)), "report document: not JSON",
                 id="not-json"),
    pytest.param("download", _document(_wrong_type),
                 "reportType is 'GET_VENDOR_REAL_TIME_TRAFFIC_REPORT', expected GET_VENDOR_REAL_TIME_SALES_REPORT",
                 id="wrong-report-type"),
    pytest.param("download", _document(_row_outside), "row outside the requested window", id="row-outside-window"),
    pytest.param("download", lambda r: _body(r, b"\x1f\x8b" + b"x" * (1024 * 1024 + 10)),
                 "document is larger than the 1 MB cap", id="bigger-than-cap"),
    pytest.param("download", lambda r: _body(r, gzip.compress(gzip.decompress(r.content) + PADDING)),
                 "document expands beyond the 1 MB cap", id="expands-beyond-cap"),
    pytest.param("getReport", _errors(400, "ReportQuarantined", "A code this client has never heard of"),
                 "getReport: HTTP 400 ReportQuarantined: A code this client has never heard of",
                 id="unknown-error-code"),
    pytest.param("getReport", lambda r: _body(r, HTML, 400, "text/html; charset=utf-8"),
                 "getReport: HTTP 400 with an HTML page", id="html-error-page"),
    pytest.param("getReport", lambda r: _body(r, HTML, 503, "text/html"), "getReport: HTTP 503 after retries",
                 id="html-503-after-retries"),
    pytest.param("getReportDocument",
                 lambda r: _body(r, r.content.replace(b'"https://', b'"http://'), 200, "application/json"),
                 "refusing a document URL that is not https", id="document-url-not-https"),
]


def _assert_failed_and_isolated(world: Amazon, us_sales: list[tuple[object, ...]], message: str) -> None:
    status, last_error = world.hour(US)
    assert status == "FAILED" and message in str(last_error), last_error
    assert world.sales(US) == us_sales
    assert world.sql("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE marketplace_id = ? AND status != "
                     "'APPLIED'", US) == [(1,)]  # only the bad window's hour
    assert world.sql("SELECT COUNT(*) FROM vendor_rt_sales_documents WHERE marketplace_id = ?", US) == [(0,)]
    assert world.hour(CA) == ("APPLIED", None)
    report = json.loads(world.run("status", "--json", "--marketplace", US).stdout)["marketplaces"][0]
    assert report["failed"][0]["hour_utc"] == NEW_HOUR and message in report["failed"][0]["last_error"]
    assert report["diagnosis"].startswith("1 hour(s) FAILED")
    assert f"FAILED {NEW_HOUR[11:16]} UTC retry" in world.run("status").stdout  # today's hour: shown as its time


@pytest.mark.parametrize(("operation", "change", "message"), CASES)
def test_bad_answer_fails_only_its_window(amazon: Amazon, operation: str, change: Change, message: str) -> None:
    us_sales = amazon.sales(US)
    created = amazon.sync()  # one report per marketplace for NEW_HOUR
    assert [m["tally"]["reports_created"] for m in created["marketplaces"]] == [1, 1]  # type: ignore[index]
    amazon.tick()
    amazon.tamper.changes[operation] = change
    done = amazon.sync()
    assert any(message in e for m in done["marketplaces"] for e in m["tally"]["errors"])  # type: ignore[index]
    _assert_failed_and_isolated(amazon, us_sales, message)
    # With an https endpoint nothing ever travels over plain http, the refused document URL included.
    assert all(url.startswith("https://") for _, url in amazon.tamper.requests)


def test_unknown_error_code_on_create_report(amazon: Amazon) -> None:
    us_sales = amazon.sales(US)
    amazon.tamper.changes["createReport"] = _errors(400, "VendorCodeSuspended", "Something new from Amazon")
    amazon.sync()  # US refused, CA created
    amazon.tick()
    amazon.sync()  # CA applied; US, due for its retry, refused again
    _assert_failed_and_isolated(amazon, us_sales, "createReport: HTTP 400 VendorCodeSuspended: Something new")


@pytest.mark.parametrize(("host", "applied"), [("127.0.0.1:8765", True), ("203.0.113.7", False)],
                         ids=["loopback-document-url", "remote-document-url"])
def test_plain_http_only_with_a_loopback_endpoint(tmp_path: Path, httpx_mock: HTTPXMock, host: str,
                                                  applied: bool) -> None:
    """With SPAPI_ENDPOINT a plain-http loopback URL (the simulator), the simulator's
    http://127.0.0.1 document URLs are fetched; an http URL elsewhere is still refused."""
    base = "http://127.0.0.1:8765"
    world = _world(tmp_path, httpx_mock, SPAPI_ENDPOINT=base, LWA_TOKEN_URL=f"{base}/auth/o2/token")
    assert all(url.startswith(f"{base}/") for _, url in world.tamper.requests)  # the history came over http
    world.tamper.changes["getReportDocument"] = lambda r: _body(
        r, r.content.replace(b"127.0.0.1:8765", host.encode()), 200, "application/json")
    us_sales = world.sales(US)
    world.sync()
    world.tick()
    world.sync()
    if applied:
        assert world.hour(US) == ("APPLIED", None)
    else:
        _assert_failed_and_isolated(world, us_sales, "refusing a document URL that is not https")
        assert not any(host in url for _, url in world.tamper.requests)


@pytest.mark.parametrize(("status", "body", "exit_code", "message"), [
    (400, b'{"error": "invalid_grant"}', 78, "refresh token rejected by Login with Amazon (invalid_grant)"),
    (401, b'{"error": "invalid_client"}', 78, "client credentials rejected by Login with Amazon (invalid_client)"),
    (400, b'{"error": "unsupported_grant_type"}', 1, "Login with Amazon answered HTTP 400 (unsupported_grant_type)"),
    (400, b'["not", "an", "object"]', 1, "Login with Amazon answered HTTP 400 (no error code)"),
    (200, b'{"token_type": "bearer"}', 1, "Login with Amazon answered 200 without an access token"),
    (503, HTML, 1, "Login with Amazon failed: HTTP 503 after retries (Amazon's login service may be down"),
], ids=["invalid-grant", "invalid-client", "unknown-error", "not-an-object", "no-token", "html-503"])
def test_no_access_token_ends_the_run_and_fails_no_window(amazon: Amazon, status: int, body: bytes, exit_code: int,
                                                          message: str) -> None:
    """Login with Amazon is not one window's problem: the run stops at the first refusal
    (no hour FAILED, claims released, no SP-API call) with one line and its exit code."""
    before = amazon.sql("SELECT * FROM vendor_rt_sales_hour_ledger WHERE hour_utc != ? ORDER BY 1, 2", NEW_HOUR)
    sales, sent = amazon.sql("SELECT * FROM vendor_realtime_sales"), len(amazon.tamper.requests)
    amazon.tamper.changes["lwa"] = lambda r: _body(r, body, status, "application/json")
    stderr = assert_one_error_line(amazon.run("sync"), exit_code, message)
    assert "LWA_" in stderr or status == 503  # the hint names what to check
    assert amazon.sql("SELECT * FROM vendor_rt_sales_hour_ledger WHERE hour_utc != ? ORDER BY 1, 2", NEW_HOUR) == before
    assert amazon.sql("SELECT DISTINCT status FROM vendor_rt_sales_hour_ledger WHERE hour_utc = ?", NEW_HOUR) == [
        ("MISSING",)]
    assert amazon.sql("SELECT * FROM vendor_realtime_sales") == sales
    assert {op for op, _ in amazon.tamper.requests[sent:]} == {"lwa"}  # 1 request, 3 when retried
    assert len(amazon.tamper.requests) - sent == (3 if status == 503 else 1)
