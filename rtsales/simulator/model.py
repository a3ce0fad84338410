"""The simulator's one core model: state behind a lock, routing, and the API operations.

`Simulator.handle(method, url, headers, body)` answers one request and is shared by
the in-process httpx transport and the loopback HTTP server. Routing looks at the
path only. The model owns the tokens (via `TokenIssuer`), the usage-plan buckets,
the reports and documents (via `ReportBook`), the faults and the request log.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

from rtsales.clock import Clock, FrozenClock, SystemClock, iso, to_utc
from rtsales.simulator import control
from rtsales.simulator.events import Demand, Event
from rtsales.simulator.faults import FaultDice, Faults
from rtsales.simulator.lwa import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, TokenIssuer
from rtsales.simulator.quota import USAGE_PLANS, TokenBucket, UsagePlan
from rtsales.simulator.replies import (Reply, Request, generic_bad_request, invalid_input, json_reply, oauth_error,
                                       quota_exceeded, s3_error, server_error, spapi_error)
from rtsales.simulator.reports import Limits, ReportBook, parse_create_request, parse_list_request
from rtsales.simulator.requestlog import LogEntry, RequestLog
from rtsales.simulator.truth import SalesTruth

if TYPE_CHECKING:
    from rtsales.simulator.transport import SimulatorTransport

REPORTS = "/reports/2021-06-30"
DOCUMENT_PATH = "/_sim/documents/"
URL_TTL_SECONDS = 300

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/auth/o2/token/?"), "lwa"),
    ("POST", re.compile(rf"{REPORTS}/reports/?"), "createReport"),
    ("GET", re.compile(rf"{REPORTS}/reports/?"), "getReports"),
    ("GET", re.compile(rf"{REPORTS}/reports/(?P<id>[^/]+)"), "getReport"),
    ("GET", re.compile(rf"{REPORTS}/documents/(?P<id>[^/]+)"), "getReportDocument"),
    ("GET", re.compile(rf"{DOCUMENT_PATH}(?P<id>[^/]+)"), "download"),
]
# Statuses of Reports calls that carry x-amzn-RateLimit-Limit (as in the API model).
_RATE_HEADER_STATUSES = {200, 202, 400, 404}


def route(method: str, path: str) -> tuple[str, dict[str, str]]:
    """(operation, path parameters); 'control' for other /_sim/ paths, 'unknown' otherwise."""
    for verb, pattern, operation in _ROUTES:
        match = pattern.fullmatch(path)
        if match and verb == method:
            return operation, {key: unquote(value) for key, value in match.groupdict().items()}
    return ("control" if path.startswith("/_sim/") else "unknown"), {}


class Simulator:
    """Login with Amazon + Reports API 2021-06-30 for GET_VENDOR_REAL_TIME_SALES_REPORT."""

    def __init__(self, seed: int = 0, clock: Clock | None = None, faults: Faults | None = None, *,
                 max_window_hours: float = 24, max_data_age_hours: float = 168,
                 queue_seconds: float = 30, processing_seconds: float = 90,
                 revision_hours: float = 3, asins_per_marketplace: int = 12, no_sales_rate: float = 0.08,
                 quiet_windows: Iterable[tuple[datetime, datetime]] = (),
                 demand: Demand | None = None, events: Iterable[Event] = (),
                 client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
                 refresh_token: str = DEFAULT_REFRESH_TOKEN, url_ttl_seconds: float = URL_TTL_SECONDS,
                 usage_plans: Mapping[str, UsagePlan] = USAGE_PLANS) -> None:
        self.seed = seed
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.faults = faults if faults is not None else Faults()
        self.truth = SalesTruth(seed, asins_per_marketplace=asins_per_marketplace, revision_hours=revision_hours,
                                no_sales_rate=no_sales_rate, quiet_windows=quiet_windows, demand=demand,
                                events=events)
        self.reports = ReportBook(self.truth, queue_seconds, processing_seconds)
        self.lwa = TokenIssuer(client_id, client_secret, refresh_token)
        self.buckets = {operation: TokenBucket(plan) for operation, plan in {**USAGE_PLANS, **usage_plans}.items()}
        self.log = RequestLog()
        if max_data_age_hours <= 0:
            raise ValueError(f"max_data_age_hours must be > 0, not {max_data_age_hours!r}")
        self.max_window = timedelta(hours=max_window_hours)
        self.max_data_age = timedelta(hours=max_data_age_hours)
        self.url_ttl = timedelta(seconds=url_ttl_seconds)
        self._dice = FaultDice(seed)
        # p_cancel and p_400 roll these, so the first dice draw exactly what they drew before them.
        self._later_dice = FaultDice(seed, "later-faults")
        self._signing_key = hashlib.sha256(f"rtsales-simulator-signing:{seed}".encode()).digest()
        self._lock = threading.RLock()

    # -- control ---------------------------------------------------------------------------

    def now(self) -> datetime:
        with self._lock:
            return self.clock.now()

    def set_now(self, instant: datetime) -> None:
        """Move simulated time. A frozen clock jumps; a running clock keeps running from `instant`."""
        instant = to_utc(instant)
        with self._lock:
            if isinstance(self.clock, FrozenClock):
                self.clock.instant = instant
            else:
                self.clock = control.ShiftedClock(self.clock, instant)

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults

    def transport(self) -> SimulatorTransport:
        from rtsales.simulator.transport import SimulatorTransport

        return SimulatorTransport(self)

    # -- requests --------------------------------------------------------------------------

    def handle(self, method: str, url: str, headers: Mapping[str, str], body: bytes = b"") -> Reply:
        """Answer one request; every answer carries a fresh x-amzn-RequestId and a `Date` from the
        simulated clock (what rtsales measures clock skew by), and is logged."""
        with self._lock:
            method = method.upper()
            path = urlsplit(url).path
            operation, params = route(method, path)
            request = Request(method, url, {k.lower(): v for k, v in headers.items()}, body,
                              self.clock.now(), params)
            reply = self._dispatch(operation, request)
            request_id = str(uuid.uuid4())
            reply = reply.with_meta(headers={**reply.headers, "x-amzn-RequestId": request_id,
                                             "Date": format_datetime(request.now, usegmt=True)})
            self.log.record(LogEntry(iso(request.now), operation, method, path, reply.status,
                                     reply.marketplace_id, reply.fault, request_id, _client(request)))
            return reply

    def _dispatch(self, operation: str, request: Request) -> Reply:
        if operation == "control":
            return control.handle(self, request)
        if operation == "unknown":
            return spapi_error(404, "NotFound", f"Resource {request.path} not found.")
        return self._with_faults(operation, request, self._handler(operation))

    def _handler(self, operation: str) -> Callable[[Request], Reply]:
        reports_actions: dict[str, Callable[[Request], Reply]] = {
            "createReport": self._create_report, "getReport": self._get_report,
            "getReportDocument": self._get_report_document, "getReports": self._get_reports,
        }
        if operation in reports_actions:
            action = reports_actions[operation]
            return lambda request: self._reports_call(operation, request, action)
        return {"lwa": self._lwa, "download": self._download}[operation]

    def _with_faults(self, operation: str, request: Request, handler: Callable[[Request], Reply]) -> Reply:
        """p_slow, p5xx and p429 (not for LWA), drawn the same way for every request; p_400 for createReport."""
        slow = self._dice.roll(self.faults.p_slow)
        failed = self._dice.roll(self.faults.p5xx)
        throttled = self._dice.roll(self.faults.p429) and operation != "lwa"
        rejected = operation == "createReport" and self._later_dice.roll(self.faults.p_400)
        if failed:
            reply = self._failure(operation).with_meta(fault="p5xx")
        elif throttled:
            reply = quota_exceeded().with_meta(fault="p429")
        elif rejected:  # before the token and the usage plan: it costs nothing, like the injected 429
            reply = generic_bad_request({"x-amzn-RateLimit-Limit": USAGE_PLANS[operation].header}).with_meta(
                fault="p_400")
        else:
            reply = handler(request)
        if slow:
            fault = ",".join(f for f in ("p_slow", reply.fault) if f)
            reply = reply.with_meta(delay_seconds=self.faults.slow_seconds, fault=fault)
        return reply

    def _failure(self, operation: str) -> Reply:
        status = self._dice.choice((500, 503))
        if operation == "lwa":
            error = "temporarily_unavailable" if status == 503 else "server_error"
            return oauth_error(status, error, "The authorization server encountered an unexpected condition.")
        return server_error(status)

    def _lwa(self, request: Request) -> Reply:
        """Form-encoded as LWA documents it; a JSON object body is accepted too."""
        form = request.form()
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                data = request.json()
            except ValueError:
                data = None
            form = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return self.lwa.exchange(form, request.now)

    def _reports_call(self, operation: str, request: Request, action: Callable[[Request], Reply]) -> Reply:
        """Access token, then the usage plan, then the operation itself."""
        denied = self.lwa.check(request.headers.get("x-amz-access-token"), request.now)
        if denied is not None:
            return denied
        if not self.buckets[operation].take(request.now):
            return quota_exceeded()
        reply = action(request)
        if reply.status in _RATE_HEADER_STATUSES:
            rate = self.buckets[operation].plan.header
            reply = reply.with_meta(headers={**reply.headers, "x-amzn-RateLimit-Limit": rate})
        return reply

    # -- Reports API -----------------------------------------------------------------------

    def _create_report(self, request: Request) -> Reply:
        try:
            report_type, marketplace_id, start, end = parse_create_request(
                request.json(), request.now, Limits(self.max_window, self.max_data_age))
        except ValueError as exc:
            return invalid_input(str(exc))
        fatal = self._dice.roll(self.faults.p_fatal)
        cancel = self._later_dice.roll(self.faults.p_cancel) and not fatal
        report = self.reports.create(marketplace_id, start, end, request.now, fatal=fatal, cancel=cancel,
                                     report_type=report_type)
        return json_reply(202, {"reportId": report.report_id}).with_meta(
            marketplace_id=marketplace_id, fault="p_fatal" if fatal else "p_cancel" if cancel else None)

    def _get_report(self, request: Request) -> Reply:
        report = self.reports.reports.get(request.params["id"])
        if report is None:
            return spapi_error(404, "NotFound", f"Report {request.params['id']} not found.")
        data = self.reports.describe(report, request.now)
        return json_reply(200, data).with_meta(marketplace_id=report.marketplace_id, fault=report.fault)

    def _get_reports(self, request: Request) -> Reply:
        """One page, newest first; filters as in the model (nextToken paging is not simulated)."""
        try:
            query = parse_list_request(request.query)
        except ValueError as exc:
            return invalid_input(str(exc))
        return json_reply(200, {"reports": self.reports.listing(query, request.now)})

    def _get_report_document(self, request: Request) -> Reply:
        document = self.reports.documents.get(request.params["id"])
        if document is None:
            return spapi_error(404, "NotFound", f"Report document {request.params['id']} not found.")
        expires = int((request.now + self.url_ttl).timestamp())
        url = (f"{request.origin}{DOCUMENT_PATH}{quote(document.document_id)}"
               f"?expires={expires}&sig={self._sign(document.document_id, expires)}")
        data = {"reportDocumentId": document.document_id, "url": url, "compressionAlgorithm": "GZIP"}
        return json_reply(200, data).with_meta(marketplace_id=document.marketplace_id)

    def _sign(self, document_id: str, expires: int) -> str:
        message = f"{document_id}\n{expires}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()[:32]

    # -- the pre-signed document URL -------------------------------------------------------

    def _download(self, request: Request) -> Reply:
        """No token, no usage plan: only the signature and its expiry count (S3-style errors)."""
        expired_fault = self._dice.roll(self.faults.p_expired)
        truncated = self._dice.roll(self.faults.p_truncated)
        document_id, query = request.params["id"], request.query
        expires = int(query["expires"]) if query.get("expires", "").isdigit() else -1
        if not hmac.compare_digest(query.get("sig", ""), self._sign(document_id, expires)):
            return s3_error(403, "SignatureDoesNotMatch",
                            "The request signature we calculated does not match the signature you provided.")
        document = self.reports.documents.get(document_id)
        if document is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        if request.now.timestamp() > expires or expired_fault:
            fault = None if request.now.timestamp() > expires else "p_expired"
            return s3_error(403, "AccessDenied", "Request has expired").with_meta(
                marketplace_id=document.marketplace_id, fault=fault)
        content = document.content[: len(document.content) // 2] if truncated else document.content
        return Reply(200, {"Content-Type": "application/octet-stream"}, content,
                     fault="p_truncated" if truncated else None, marketplace_id=document.marketplace_id)


def _client(request: Request) -> str | None:
    token = request.headers.get("x-amz-access-token")
    return hashlib.sha256(token.encode()).hexdigest()[:8] if token else None
