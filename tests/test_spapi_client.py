"""Reports API client: each call, each retry, each error path, download and gunzip."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable


import httpx
import pytest
from pytest_httpx import HTTPXMock

from rtsales.amazon.client import DocumentInfo, SpApiClient, gunzip
from rtsales.clock import FrozenClock
from rtsales.config import Settings
from rtsales.errors import DocumentExpiredError, LockLostError, ReportParseError, SpApiError, SpApiQuotaError
from tests.conftest import at

API = "https://sellingpartnerapi-na.amazon.com/reports/2021-06-30"
TOKEN_URL = "https://api.amazon.com/auth/o2/token"
DOC_URL = "https://tortuga-prod-na.s3.amazonaws.com/doc-1?X-Amz-Signature=abc"
START, END = at("2026-03-09T00:00:00Z"), at("2026-03-10T00:00:00Z")


@pytest.fixture
def client(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings], clock: FrozenClock) -> SpApiClient:
    httpx_mock.add_response(url=TOKEN_URL, json={"access_token": "Atza|token-1", "expires_in": 3600},
                            is_optional=True)
    return SpApiClient(make_settings(MAX_DOCUMENT_MB=1), clock)


def _errors(code: str, message: str = "m") -> dict[str, object]:
    return {"errors": [{"code": code, "message": message}]}


def test_create_report_body_and_headers(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    httpx_mock.add_response(method="POST", url=f"{API}/reports", status_code=202, json={"reportId": "123"})
    assert client.create_report("ATVPDKIKX0DER", START, END) == "123"
    request = httpx_mock.get_requests(url=f"{API}/reports")[0]
    assert json.loads(request.content) == {
        "reportType": "GET_VENDOR_REAL_TIME_SALES_REPORT", "marketplaceIds": ["ATVPDKIKX0DER"],
        "dataStartTime": "2026-03-09T00:00:00Z", "dataEndTime": "2026-03-10T00:00:00Z"}
    assert request.headers["x-amz-access-token"] == "Atza|token-1"
    assert request.headers["User-Agent"].startswith("rtsales/")
    assert "Authorization" not in request.headers  # no SigV4 since 2023


@pytest.mark.parametrize("status", ["IN_QUEUE", "IN_PROGRESS", "DONE", "CANCELLED", "FATAL"])
def test_get_report_statuses(httpx_mock: HTTPXMock, client: SpApiClient, status: str) -> None:
    body = {"reportId": "123", "reportType": "GET_VENDOR_REAL_TIME_SALES_REPORT",
            "processingStatus": status, "createdTime": "2026-03-10T12:00:00Z"}
    if status == "DONE":
        body["reportDocumentId"] = "doc-1"
    httpx_mock.add_response(url=f"{API}/reports/123", json=body)
    info = client.get_report("123")
    assert info.status == status
    assert info.document_id == ("doc-1" if status == "DONE" else None)


def test_get_report_document(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    httpx_mock.add_response(url=f"{API}/documents/doc-1",
                            json={"reportDocumentId": "doc-1", "url": DOC_URL, "compressionAlgorithm": "GZIP"})
    assert client.get_report_document("doc-1") == DocumentInfo("doc-1", DOC_URL, "GZIP")


def test_download_gunzips_without_content_encoding(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    httpx_mock.add_response(url=DOC_URL, content=gzip.compress(b'{"ok": 1}'),
                            headers={"Content-Type": "application/octet-stream"})
    assert client.download(DocumentInfo("doc-1", DOC_URL, "GZIP")) == b'{"ok": 1}'
    assert "x-amz-access-token" not in httpx_mock.get_requests(url=DOC_URL)[0].headers


def test_download_uncompressed(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    httpx_mock.add_response(url=DOC_URL, content=b"plain")
    assert client.download(DocumentInfo("doc-1", DOC_URL, None)) == b"plain"


CALLS: dict[str, tuple[str, str, Callable[[SpApiClient], object]]] = {
    "createReport": ("POST", f"{API}/reports", lambda c: c.create_report("ATVPDKIKX0DER", START, END)),
    "getReport": ("GET", f"{API}/reports/123", lambda c: c.get_report("123")),
    "getReportDocument": ("GET", f"{API}/documents/doc-1", lambda c: c.get_report_document("doc-1")),
    "download": ("GET", DOC_URL, lambda c: c.download(DocumentInfo("doc-1", DOC_URL, "GZIP"))),
}


OK: dict[str, dict[str, object]] = {  # a good answer to each call
    "createReport": {"json": {"reportId": "9"}},
    "getReport": {"json": {"reportId": "123", "processingStatus": "DONE", "reportDocumentId": "d"}},
    "getReportDocument": {"json": {"reportDocumentId": "doc-1", "url": DOC_URL}},
    "download": {"content": gzip.compress(b"x")},
}


@pytest.mark.parametrize("op", CALLS)
def test_429_on_any_call_raises_quota_error_without_retry(httpx_mock: HTTPXMock, client: SpApiClient,
                                                          op: str) -> None:
    method, url, call = CALLS[op]
    httpx_mock.add_response(method=method, url=url, status_code=429, json=_errors("QuotaExceeded"))
    with pytest.raises(SpApiQuotaError):
        call(client)
    assert len(httpx_mock.get_requests(url=url)) == 1


@pytest.mark.parametrize("op", CALLS)
@pytest.mark.parametrize("failure", [500, 503, "timeout"])
def test_transient_failures_retried_then_succeed(httpx_mock: HTTPXMock, client: SpApiClient, clock: FrozenClock,
                                                 op: str, failure: int | str) -> None:
    method, url, call = CALLS[op]
    if failure == "timeout":
        httpx_mock.add_exception(httpx.ReadTimeout("slow"), method=method, url=url)
    else:
        httpx_mock.add_response(method=method, url=url, status_code=int(failure), json=_errors("InternalFailure"))
    httpx_mock.add_response(method=method, url=url, **OK[op])
    call(client)
    assert len(httpx_mock.get_requests(url=url)) == 2
    assert len(clock.slept) == 1


@pytest.mark.parametrize("op", CALLS)
def test_transient_failures_exhausted(httpx_mock: HTTPXMock, client: SpApiClient, op: str) -> None:
    method, url, call = CALLS[op]
    httpx_mock.add_response(method=method, url=url, status_code=503, is_reusable=True)
    with pytest.raises(SpApiError, match=f"{op}: HTTP 503 after retries") as caught:
        call(client)
    assert not isinstance(caught.value, SpApiQuotaError)
    assert len(httpx_mock.get_requests(url=url)) == 3


def test_expired_access_token_is_refreshed_once(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    httpx_mock.add_response(url=TOKEN_URL, json={"access_token": "Atza|token-2", "expires_in": 3600})
    httpx_mock.add_response(url=f"{API}/reports/123", status_code=403,
                            json=_errors("Unauthorized", "The access token you provided has expired."))
    httpx_mock.add_response(url=f"{API}/reports/123", json={"reportId": "123", "processingStatus": "DONE"})
    assert client.get_report("123").status == "DONE"
    tokens = [r.headers["x-amz-access-token"] for r in httpx_mock.get_requests(url=f"{API}/reports/123")]
    assert tokens == ["Atza|token-1", "Atza|token-2"]


def test_403_twice_is_an_error(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    httpx_mock.add_response(url=TOKEN_URL, json={"access_token": "Atza|token-2", "expires_in": 3600})
    httpx_mock.add_response(url=f"{API}/reports/123", status_code=403, json=_errors("Unauthorized"),
                            is_reusable=True)
    with pytest.raises(SpApiError, match="Unauthorized"):
        client.get_report("123")
    assert len(httpx_mock.get_requests(url=f"{API}/reports/123")) == 2


@pytest.mark.parametrize(("code", "status"), [("InvalidInput", 400), ("NotFound", 404), ("SomethingNew", 418)])
def test_other_4xx_carry_errorlist_code(httpx_mock: HTTPXMock, client: SpApiClient, code: str, status: int) -> None:
    httpx_mock.add_response(method="POST", url=f"{API}/reports", status_code=status,
                            json=_errors(code, "window too large"))
    with pytest.raises(SpApiError) as caught:
        client.create_report("ATVPDKIKX0DER", START, END)
    assert caught.value.code == code and caught.value.status == status
    assert "window too large" in caught.value.message
    assert len(httpx_mock.get_requests(url=f"{API}/reports")) == 1


def test_html_error_page(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    httpx_mock.add_response(url=f"{API}/reports/123", status_code=404, html="<html><body>Not here</body></html>")
    with pytest.raises(SpApiError, match="HTML page"):
        client.get_report("123")


def test_200_that_is_not_json(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    httpx_mock.add_response(url=f"{API}/reports/123", html="<html>oops</html>")
    with pytest.raises(SpApiError, match="not JSON"):
        client.get_report("123")


def test_download_403_means_expired_url(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    httpx_mock.add_response(url=DOC_URL, status_code=403,
                            text="<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
    with pytest.raises(DocumentExpiredError):
        client.download(DocumentInfo("doc-1", DOC_URL, "GZIP"))


def test_http_document_url_refused_for_https_endpoint(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    with pytest.raises(SpApiError, match="not https"):
        client.download(DocumentInfo("doc-1", "http://evil.example/doc", "GZIP"))
    assert httpx_mock.get_requests(url="http://evil.example/doc") == []


def test_http_document_url_allowed_for_loopback_endpoint(httpx_mock: HTTPXMock,
                                                         make_settings: Callable[..., Settings],
                                                         clock: FrozenClock) -> None:
    settings = make_settings(SPAPI_ENDPOINT="http://127.0.0.1:8765", LWA_TOKEN_URL="http://127.0.0.1:8765/auth/o2/token")
    httpx_mock.add_response(url="http://127.0.0.1:8765/_sim/documents/d1", content=gzip.compress(b"{}"))
    client = SpApiClient(settings, clock)
    assert client.download(DocumentInfo("d1", "http://127.0.0.1:8765/_sim/documents/d1", "GZIP")) == b"{}"
    with pytest.raises(SpApiError, match="not https"):
        client.download(DocumentInfo("d1", "http://10.0.0.5/doc", "GZIP"))


def test_download_size_cap(httpx_mock: HTTPXMock, client: SpApiClient) -> None:
    httpx_mock.add_response(url=DOC_URL, content=b"x" * (1024 * 1024 + 1))
    with pytest.raises(ReportParseError, match="larger than the 1 MB cap"):
        client.download(DocumentInfo("doc-1", DOC_URL, None))


def test_gunzip_rejects_bombs_garbage_and_truncation() -> None:
    with pytest.raises(ReportParseError, match="expands beyond"):
        gunzip(gzip.compress(b"0" * 5000), 4096)
    with pytest.raises(ReportParseError, match="not valid gzip"):
        gunzip(b"this is not gzip at all", 4096)
    whole = gzip.compress(json.dumps({"reportData": list(range(500))}).encode())
    with pytest.raises(ReportParseError, match="truncated"):
        gunzip(whole[: len(whole) // 2], 1 << 20)


def test_client_requires_credentials(make_settings: Callable[..., Settings], clock: FrozenClock) -> None:
    from rtsales.errors import ConfigError
    with pytest.raises(ConfigError, match="LWA_REFRESH_TOKEN"):
        SpApiClient(make_settings(LWA_REFRESH_TOKEN=None), clock)




class RecordingPacer:
    """Counts the operations paced and the rates the client passes on."""

    def __init__(self) -> None:
        self.paced: list[str] = []
        self.learned: list[tuple[str, float]] = []

    def __call__(self, operation: str) -> None:
        self.paced.append(operation)

    def learn(self, operation: str, rate: float) -> None:
        self.learned.append((operation, rate))


@pytest.fixture
def paced(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings],
          clock: FrozenClock) -> tuple[SpApiClient, RecordingPacer]:
    httpx_mock.add_response(url=TOKEN_URL, json={"access_token": "Atza|token-1", "expires_in": 3600},
                            is_optional=True)
    pacer = RecordingPacer()
    return SpApiClient(make_settings(), clock, pacer=pacer), pacer


def test_applied_rate_limit_header_is_passed_to_the_pacer(httpx_mock: HTTPXMock,
                                                         paced: tuple[SpApiClient, RecordingPacer]) -> None:
    client, pacer = paced
    httpx_mock.add_response(method="POST", url=f"{API}/reports", status_code=202, json={"reportId": "1"},
                            headers={"x-amzn-RateLimit-Limit": "0.5"})
    httpx_mock.add_response(url=f"{API}/reports/9", status_code=404, json=_errors("NotFound"),
                            headers={"x-amzn-RateLimit-Limit": "2.5"})
    httpx_mock.add_response(url=f"{API}/documents/d", status_code=429, json=_errors("QuotaExceeded"),
                            headers={"x-amzn-RateLimit-Limit": "0.0042"})
    client.create_report("ATVPDKIKX0DER", START, END)
    with pytest.raises(SpApiError):
        client.get_report("9")
    with pytest.raises(SpApiQuotaError):
        client.get_report_document("d")
    assert pacer.learned == [("createReport", 0.5), ("getReport", 2.5), ("getReportDocument", 0.0042)]


@pytest.mark.parametrize("header", [None, "", "fast", "nan", "inf", "-inf", "0", "-0.5", "1e999"])
def test_unusable_rate_limit_header_is_ignored(httpx_mock: HTTPXMock, paced: tuple[SpApiClient, RecordingPacer],
                                               header: str | None) -> None:
    client, pacer = paced
    headers = {} if header is None else {"x-amzn-RateLimit-Limit": header}
    httpx_mock.add_response(method="POST", url=f"{API}/reports", status_code=202, json={"reportId": "1"},
                            headers=headers)
    client.create_report("ATVPDKIKX0DER", START, END)
    assert pacer.paced == ["createReport"] and pacer.learned == []


MP = "ATVPDKIKX0DER"
FOR_MP: dict[str, Callable[[SpApiClient], object]] = {  # each call, made for one marketplace
    "createReport": lambda c: c.create_report(MP, START, END),
    "getReport": lambda c: c.get_report("123", marketplace_id=MP),
    "getReportDocument": lambda c: c.get_report_document("doc-1", marketplace_id=MP),
    "download": lambda c: c.download_raw(DocumentInfo("doc-1", DOC_URL, "GZIP"), marketplace_id=MP),
}


class Gate(RecordingPacer):
    """A pacer and a lease guard writing to one list, so their order shows; refuses when told to."""

    def __init__(self, refuse: bool = False) -> None:
        super().__init__()
        self.refuse = refuse

    def guard(self, marketplace_id: str) -> None:
        self.paced.append(f"lease {marketplace_id}")
        if self.refuse:
            raise LockLostError(f"lost the worker lock for {marketplace_id}")


def _gated(make_settings: Callable[..., Settings], clock: FrozenClock, gate: Gate) -> SpApiClient:
    return SpApiClient(make_settings(), clock, pacer=gate, guard=gate.guard)


@pytest.mark.parametrize("op", CALLS)
def test_lease_is_checked_after_pacing_before_every_attempt(httpx_mock: HTTPXMock,
                                                            make_settings: Callable[..., Settings],
                                                            clock: FrozenClock, op: str) -> None:
    httpx_mock.add_response(url=TOKEN_URL, json={"access_token": "Atza|token-1", "expires_in": 3600},
                            is_optional=True)
    method, url, _ = CALLS[op]
    httpx_mock.add_response(method=method, url=url, status_code=503)
    httpx_mock.add_response(method=method, url=url, **OK[op])
    gate = Gate()
    FOR_MP[op](_gated(make_settings, clock, gate))
    paced = "download" if op == "download" else op
    assert gate.paced == [paced, f"lease {MP}", paced, f"lease {MP}"]  # a retry is a call too


@pytest.mark.parametrize("op", CALLS)
def test_a_lost_lease_sends_nothing(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings],
                                    clock: FrozenClock, op: str) -> None:
    gate = Gate(refuse=True)
    with pytest.raises(LockLostError):
        FOR_MP[op](_gated(make_settings, clock, gate))
    assert httpx_mock.get_requests() == []  # not even a token
