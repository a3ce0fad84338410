"""Reports API 2021-06-30 client: createReport, getReport, getReportDocument, download, and
getReports (a cheap read that `rtsales doctor` uses to learn whether the app may read these reports).

Any HTTP 429 from any of these, the download included, raises SpApiQuotaError:
the caller must stop every SP-API call. 5xx and timeouts are retried a bounded
number of times; a 403 on an expired access token refreshes it once; other 4xx
raise SpApiError with Amazon's ErrorList code and message. A call made for a
marketplace asks the caller's guard (its lease) before every attempt, retries
included, once pacing has let it through. Every attempt is logged at debug level
(`-v`): operation, marketplace or report/document ID, status, milliseconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx

from rtsales.amazon.auth import LwaAuth
from rtsales.amazon.jsonstream import gunzip_chunks
from rtsales.clock import Clock, iso
from rtsales.config import Settings, is_http_loopback
from rtsales.errors import AccessDeniedError, DocumentExpiredError, ReportParseError, SpApiError, SpApiQuotaError
from rtsales.http import (TransientHttpError, build_client, describe_failure, elapsed_ms, is_transient, logged_send,
                          retrying)
from rtsales.quota import usable_rate
from rtsales.redaction import clip
from rtsales.sync.skew import measure

log = logging.getLogger(__name__)
REPORT_TYPE = "GET_VENDOR_REAL_TIME_SALES_REPORT"
ROLE_HINT = ("give the app the Brand Analytics role (Developer Central, Edit App), then have the vendor "
             "re-authorise it and put the new refresh token in LWA_REFRESH_TOKEN")
BASE = "/reports/2021-06-30"
T = TypeVar("T")
RATE_HEADER = "x-amzn-RateLimit-Limit"  # the usage-plan rate Amazon applied, requests per second


class Pacer(Protocol):
    """Called with the operation name before every HTTP attempt; told the rate Amazon applied."""

    def __call__(self, operation: str) -> None: ...

    def learn(self, operation: str, rate: float) -> None: ...


Guard = Callable[[str], None]  # called with a marketplace ID; raises to stop a request made for it


@dataclass(frozen=True)
class ReportInfo:
    report_id: str
    status: str  # IN_QUEUE, IN_PROGRESS, DONE, CANCELLED, FATAL
    document_id: str | None
    created_time: str | None


@dataclass(frozen=True)
class DocumentInfo:
    document_id: str
    url: str
    compression: str | None


class SpApiClient:
    """One client per run; `calls` counts requests per operation for summaries and benches."""

    def __init__(self, settings: Settings, clock: Clock, transport: httpx.BaseTransport | None = None,
                 pacer: Pacer | None = None, guard: Guard | None = None):
        settings.require_spapi()
        if settings.spapi_endpoint is None:
            raise SpApiError("no SP-API endpoint: set SPAPI_ENDPOINT or MARKETPLACE_IDS")
        self._endpoint = settings.spapi_endpoint
        self._clock = clock
        self._http = build_client(settings.http_timeout_seconds, transport)
        self._auth = LwaAuth(settings, self._http, clock)
        self._max_bytes = settings.max_document_mb * 1024 * 1024
        self._allow_http = is_http_loopback(self._endpoint)
        self._pacer, self._guard = pacer, guard
        self.calls: dict[str, int] = {}
        self.clock_skew_seconds: float | None = None  # host minus Amazon, from the latest answer's Date

    @property
    def max_document_bytes(self) -> int:
        """MAX_DOCUMENT_MB in bytes: the cap on a document, downloaded or inflated."""
        return self._max_bytes

    def close(self) -> None:
        self._http.close()

    def create_report(self, marketplace_id: str, start: datetime, end: datetime, *,
                      report_type: str = REPORT_TYPE) -> str:
        body = {"reportType": report_type, "marketplaceIds": [marketplace_id],
                "dataStartTime": iso(start), "dataEndTime": iso(end)}
        data = self._call("createReport", marketplace_id, "POST", f"{BASE}/reports", json=body)
        return _field(data, "reportId", "createReport")

    def get_report(self, report_id: str, *, marketplace_id: str | None = None) -> ReportInfo:
        data = self._call("getReport", marketplace_id, "GET", f"{BASE}/reports/{report_id}")
        return ReportInfo(report_id=_field(data, "reportId", "getReport"),
                          status=_field(data, "processingStatus", "getReport"),
                          document_id=data.get("reportDocumentId"),
                          created_time=data.get("createdTime"))

    def get_report_document(self, document_id: str, *, marketplace_id: str | None = None) -> DocumentInfo:
        data = self._call("getReportDocument", marketplace_id, "GET", f"{BASE}/documents/{document_id}")
        return DocumentInfo(document_id=document_id, url=_field(data, "url", "getReportDocument"),
                            compression=data.get("compressionAlgorithm"))

    def login(self) -> None:
        """Ask Login with Amazon for an access token now: it accepts the credentials, or this raises why not."""
        self._auth.access_token()

    def list_reports(self, report_types: tuple[str, ...] = (REPORT_TYPE,), page_size: int = 1) -> list[dict[str, Any]]:
        """getReports for these report types: reads what exists (its own usage plan), makes no report."""
        data = self._call("getReports", None, "GET", f"{BASE}/reports",
                          params={"reportTypes": ",".join(report_types), "pageSize": page_size})
        reports = data.get("reports")
        return [r for r in reports if isinstance(r, dict)] if isinstance(reports, list) else []

    def download(self, document: DocumentInfo, *, marketplace_id: str | None = None) -> bytes:
        """Fetch a document by its pre-signed URL and gunzip it (size-capped both ways)."""
        return self.decode(self.download_raw(document, marketplace_id=marketplace_id), document.compression)

    def download_raw(self, document: DocumentInfo, *, marketplace_id: str | None = None) -> bytes:
        """The document's bytes as served (still gzip when compression is GZIP)."""
        self._check_document_url(document.url)
        return self._retry("download", lambda: self._fetch_document(document, marketplace_id))

    def decode(self, raw: bytes, compression: str | None) -> bytes:
        return gunzip(raw, self._max_bytes) if compression == "GZIP" else raw

    # -- plumbing -----------------------------------------------------------------------

    def _call(self, op: str, marketplace_id: str | None, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._retry(op, lambda: self._send(op, marketplace_id, method, path, **kwargs))
        if response.status_code == 403 and _token_expired(response):
            self._auth.invalidate()
            response = self._retry(op, lambda: self._send(op, marketplace_id, method, path, **kwargs))
            if response.status_code == 403:  # a fresh token changed nothing: no call of this kind will succeed
                raise _access_denied(op, response)
        if response.status_code >= 400:
            raise _api_error(op, response)
        try:
            data = response.json()
        except ValueError:
            raise SpApiError(f"{op}: HTTP {response.status_code} with a body that is not JSON",
                             status=response.status_code) from None
        if not isinstance(data, dict):
            raise SpApiError(f"{op}: expected a JSON object, got {type(data).__name__}")
        return data

    def _before(self, op: str, marketplace_id: str | None) -> None:
        """Pace the attempt, then ask the guard: a lease lost while waiting for a token or a
        retry sends nothing. Every attempt, retries included, spends Amazon's quota."""
        if self._pacer is not None:
            self._pacer(op)
        if self._guard is not None and marketplace_id is not None:
            self._guard(marketplace_id)

    def _send(self, op: str, marketplace_id: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self._before(op, marketplace_id)
        self.calls[op] = self.calls.get(op, 0) + 1
        headers = {"x-amz-access-token": self._auth.access_token()}
        response = logged_send(log, _what(op, marketplace_id, path),
                               lambda: self._http.request(method, self._endpoint + path, headers=headers, **kwargs),
                               partial(_answer, op))
        skew = measure(response.headers.get("date"), self._clock.now())
        if skew is not None:
            self.clock_skew_seconds = skew
        rate = _applied_rate(response)
        if rate is not None and self._pacer is not None:
            self._pacer.learn(op, rate)  # error answers carry it too, a 429 included
        return _screen(op, response)

    def _retry(self, op: str, call: Callable[[], T]) -> T:
        try:
            for attempt in retrying(self._clock):
                with attempt:
                    return call()
        except Exception as exc:
            if not is_transient(exc):
                raise
            raise SpApiError(f"{op}: {describe_failure(exc)} after retries",
                             code="Transient", hint="Amazon may be having trouble; cron will retry") from None
        raise AssertionError("unreachable")

    def _fetch_document(self, document: DocumentInfo, marketplace_id: str | None) -> bytes:
        self._before("download", marketplace_id)  # no usage plan, but a cooldown stops downloads too
        self.calls["download"] = self.calls.get("download", 0) + 1
        started, what, status = time.monotonic(), f"SP-API download {document.document_id}", "no answer"
        try:
            with self._http.stream("GET", document.url) as response:  # the URL is signed: never logged
                status = f"HTTP {response.status_code}"
                _screen("download", response)
                if response.status_code == 403:
                    raise DocumentExpiredError("download: the document URL expired or was refused (HTTP 403)",
                                               status=403, code="AccessDenied")
                if response.status_code != 200:
                    raise SpApiError(f"download: HTTP {response.status_code}", status=response.status_code)
                body = _read_capped(response, self._max_bytes)
        except Exception as exc:
            if isinstance(exc, httpx.HTTPError):
                log.debug("%s: %s after %d ms", what, describe_failure(exc), elapsed_ms(started))
            else:  # an answer refused (429, 403, too large): its status
                log.debug("%s: %s in %d ms", what, status, elapsed_ms(started))
            raise
        log.debug("%s: %s in %d ms, %d bytes", what, status, elapsed_ms(started), len(body))
        return body

    def _check_document_url(self, url: str) -> None:
        scheme = urlsplit(url).scheme
        if scheme == "https" or (scheme == "http" and self._allow_http and is_http_loopback(url)):
            return
        raise SpApiError("download: refusing a document URL that is not https",
                         code="InsecureUrl", hint="only a plain-http loopback SPAPI_ENDPOINT (the simulator) allows http")


def _what(op: str, marketplace_id: str | None, path: str) -> str:
    """A request named for a log line: the operation, and its marketplace or its report / document ID."""
    if op == "getReports":
        return f"SP-API {op}"
    return f"SP-API {op} {marketplace_id if op == 'createReport' else path.rsplit('/', 1)[-1]}"


def _answer(op: str, response: httpx.Response) -> str:
    """What an answer adds to its log line: the report created, or the report's processing status."""
    try:
        data = response.json()
    except ValueError:
        return ""
    key = {"createReport": "reportId", "getReport": "processingStatus"}.get(op)
    value = data.get(key) if isinstance(data, dict) and key else None
    if not isinstance(value, str):
        return ""
    return f", report {value}" if op == "createReport" else f", {value}"


def _screen(op: str, response: httpx.Response) -> httpx.Response:
    """Quota first (never retried), then transient statuses (retried)."""
    if response.status_code == 429:
        raise SpApiQuotaError(f"{op}: SP-API quota exceeded (HTTP 429)", status=429, code="QuotaExceeded")
    if response.status_code >= 500:
        raise TransientHttpError(response)
    return response


def _applied_rate(response: httpx.Response) -> float | None:
    """x-amzn-RateLimit-Limit as a rate a bucket can use; None when absent or nonsense."""
    try:
        rate = float(response.headers.get(RATE_HEADER, ""))
    except ValueError:
        return None
    return rate if usable_rate(rate) else None


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ReportParseError(f"document is larger than the {limit // (1024 * 1024)} MB cap",
                                   hint="raise MAX_DOCUMENT_MB if your reports really are this large")
        chunks.append(chunk)
    return b"".join(chunks)


def gunzip(raw: bytes, limit: int) -> bytes:
    """A whole gzip body inflated (Amazon sends no Content-Encoding): the streaming reader's checks."""
    return b"".join(gunzip_chunks(raw, limit))


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _token_expired(response: httpx.Response) -> bool:
    return any(e.get("code") == "Unauthorized" for e in _errors(response))


def _api_error(op: str, response: httpx.Response) -> SpApiError:
    errors = _errors(response)
    if not errors:
        kind = "an HTML page" if "html" in response.headers.get("content-type", "") else "no ErrorList"
        return SpApiError(f"{op}: HTTP {response.status_code} with {kind}", status=response.status_code)
    first = errors[0]
    code, message = str(first.get("code", "Unknown")), str(first.get("message", ""))
    return SpApiError(clip(f"{op}: HTTP {response.status_code} {code}: {message}", 300),
                      status=response.status_code, code=code)


def _access_denied(op: str, response: httpx.Response) -> AccessDeniedError:
    detail = _api_error(op, response).message
    return AccessDeniedError(f"SP-API refused access with a fresh access token: {detail}", hint=ROLE_HINT,
                             status=403, code="Unauthorized")


def _field(data: dict[str, Any], name: str, op: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise SpApiError(f"{op}: response has no {name}")
    return value
