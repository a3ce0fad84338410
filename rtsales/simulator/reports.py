"""Reports and their documents: lifecycle in simulated time and document contents.

A report is IN_QUEUE when created, IN_PROGRESS after `queue_seconds`, and reaches
its end state `processing_seconds` after creation. The end state is worked out
lazily, but always as of that instant: the document holds the numbers as they
stood then (`SalesTruth.observed(..., at=done_at)`), however late it is polled.
A window without any row ends CANCELLED; a report marked fatal ends FATAL with an
error document; a report marked cancel (the p_cancel fault) ends CANCELLED even when
its window has rows, as Amazon cancels reports requested too often.

All three real-time report types are made, from one ground truth: sales from
`SalesTruth`, traffic and inventory from `kinds_truth` built on it. The inventory
truth gates the sales truth: an ASIN whose stock has run out sells nothing in that
hour, so the sales every report type shows and the stock are one history. Each
type's window limits are the ones its schema states.
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from rtsales.amazon.marketplaces import lookup
from rtsales.clock import HOUR, hours_between, iso, parse_instant
from rtsales.simulator.kinds_reports import (INVENTORY_REPORT_TYPE, TRAFFIC_REPORT_TYPE, inventory_document,
                                             traffic_document)
from rtsales.simulator.kinds_truth import InventoryTruth, TrafficTruth
from rtsales.simulator.truth import SalesTruth

REPORT_TYPE = "GET_VENDOR_REAL_TIME_SALES_REPORT"
Builder = Callable[[str, datetime, datetime, datetime], dict[str, Any]]  # (marketplace, start, end, at)


@dataclass(frozen=True)
class Document:
    document_id: str
    report_id: str
    marketplace_id: str
    content: bytes  # gzip-compressed JSON


@dataclass
class Report:
    report_id: str
    marketplace_id: str
    start: datetime
    end: datetime
    created: datetime
    fatal: bool
    cancel: bool = False
    outcome: str | None = None  # DONE, CANCELLED or FATAL once evaluated
    document_id: str | None = None
    fault: str | None = None  # p_fatal or p_cancel when a fault decided the outcome
    report_type: str = REPORT_TYPE


def sales_document(truth: SalesTruth, marketplace_id: str, start: datetime, end: datetime,
                   at: datetime) -> dict[str, Any]:
    """The report document (vendorRealTimeSalesReport.json) for [start, end) as seen at `at`."""
    market = lookup(marketplace_id)
    rows: list[dict[str, Any]] = []
    for hour in hours_between(start, end):
        if hour + HOUR > end:
            break
        for asin, sales in sorted(truth.observed(marketplace_id, hour, at).items()):
            rows.append({"startTime": iso(hour), "endTime": iso(hour + HOUR), "asin": asin,
                         "orderedUnits": sales.units, "orderedRevenue": sales.revenue_cents / 100})
    return {
        "reportSpecification": {
            "reportType": REPORT_TYPE, "dataStartTime": iso(start), "dataEndTime": iso(end),
            "marketplaceIds": [marketplace_id],
            "reportOptions": {"currencyCode": market.currency if market else "USD"},
        },
        "reportData": rows,
    }


def gzip_json(data: Any) -> bytes:
    return gzip.compress(json.dumps(data).encode("utf-8"), mtime=0)


class ReportBook:
    """All reports and documents the simulator has made (callers hold the model's lock)."""

    def __init__(self, truth: SalesTruth, queue_seconds: float = 30, processing_seconds: float = 90) -> None:
        if not 0 <= queue_seconds <= processing_seconds:
            raise ValueError("need 0 <= queue_seconds <= processing_seconds")
        self.truth = truth
        self.traffic = TrafficTruth(truth)
        self.inventory = InventoryTruth(truth)  # stops an ASIN's sales while its stock is out
        self.builders: dict[str, Builder] = {
            REPORT_TYPE: partial(sales_document, truth),
            TRAFFIC_REPORT_TYPE: partial(traffic_document, self.traffic),
            INVENTORY_REPORT_TYPE: partial(inventory_document, self.inventory),
        }
        self.queue = timedelta(seconds=queue_seconds)
        self.processing = timedelta(seconds=processing_seconds)
        self.reports: dict[str, Report] = {}
        self.documents: dict[str, Document] = {}
        self._report_ids = itertools.count(50_000_000_001)
        self._document_ids = itertools.count(1)

    def create(self, marketplace_id: str, start: datetime, end: datetime, now: datetime, *,
               fatal: bool = False, cancel: bool = False, report_type: str = REPORT_TYPE) -> Report:
        report = Report(str(next(self._report_ids)), marketplace_id, start, end, now, fatal, cancel,
                        report_type=report_type)
        self.reports[report.report_id] = report
        return report

    def status(self, report: Report, now: datetime) -> str:
        if now < report.created + self.queue:
            return "IN_QUEUE"
        if now < report.created + self.processing:
            return "IN_PROGRESS"
        return self._finish(report)

    def _finish(self, report: Report) -> str:
        """Fix the end state and document as of created + processing_seconds (once)."""
        if report.outcome is not None:
            return report.outcome
        done_at = report.created + self.processing
        if report.fatal:
            report.outcome, report.fault = "FATAL", "p_fatal"
            details = f"Report {report.report_id} failed: simulated internal processing error."
            report.document_id = self._store(report, gzip_json({"errorDetails": details}))
            return report.outcome
        document = self.builders[report.report_type](report.marketplace_id, report.start, report.end, done_at)
        if not document["reportData"]:
            report.outcome = "CANCELLED"
        elif report.cancel:
            report.outcome, report.fault = "CANCELLED", "p_cancel"
        else:
            report.outcome = "DONE"
            report.document_id = self._store(report, gzip_json(document))
        return report.outcome

    def _store(self, report: Report, content: bytes) -> str:
        document_id = f"amzn1.spdoc.1.4.sim.{report.report_id}.T{next(self._document_ids)}"
        self.documents[document_id] = Document(document_id, report.report_id, report.marketplace_id, content)
        return document_id

    def describe(self, report: Report, now: datetime) -> dict[str, Any]:
        """The Report object of the Reports API model."""
        status = self.status(report, now)
        data: dict[str, Any] = {
            "reportId": report.report_id, "reportType": report.report_type,
            "dataStartTime": iso(report.start), "dataEndTime": iso(report.end),
            "marketplaceIds": [report.marketplace_id], "createdTime": iso(report.created),
            "processingStatus": status,
        }
        if status != "IN_QUEUE":
            data["processingStartTime"] = iso(report.created + self.queue)
        if report.outcome is not None:
            data["processingEndTime"] = iso(report.created + self.processing)
        if report.document_id is not None:
            data["reportDocumentId"] = report.document_id
        return data

    def listing(self, query: ListQuery, now: datetime) -> list[dict[str, Any]]:
        """getReports: the matching Report objects, newest first, one page of them."""
        matching = [self.describe(r, now) for r in sorted(self.reports.values(), key=lambda r: r.created,
                                                               reverse=True)
                    if r.report_type in query.report_types
                    and (not query.marketplace_ids or r.marketplace_id in query.marketplace_ids)]
        if query.statuses:
            matching = [r for r in matching if r["processingStatus"] in query.statuses]
        return matching[:query.page_size]


@dataclass(frozen=True)
class ListQuery:
    """getReports filters; the model sends array parameters comma-separated."""

    report_types: frozenset[str]
    marketplace_ids: frozenset[str]
    statuses: frozenset[str]
    page_size: int


def parse_list_request(query: dict[str, str]) -> ListQuery:
    """Validate getReports parameters or raise ValueError, as the model's 400 would."""
    def items(name: str) -> frozenset[str]:
        return frozenset(v for v in query.get(name, "").split(",") if v)

    if "nextToken" in query:
        raise ValueError("nextToken paging is not simulated; ask with reportTypes and a pageSize of up to 100.")
    if not items("reportTypes"):
        raise ValueError("Either reportTypes or nextToken is required.")
    size = query.get("pageSize", "10")
    if not (size.isdigit() and 1 <= int(size) <= 100):
        raise ValueError(f"pageSize must be from 1 to 100, not {size!r}.")
    return ListQuery(items("reportTypes"), items("marketplaceIds"), items("processingStatuses"), int(size))


@dataclass(frozen=True)
class Limits:
    """What createReport accepts: the longest window, and how far back its start may be."""

    max_window: timedelta
    max_data_age: timedelta


REPORT_TYPES = (REPORT_TYPE, TRAFFIC_REPORT_TYPE, INVENTORY_REPORT_TYPE)
# What each schema says a request may ask for, beyond the simulator's own Limits.
_INVENTORY_MAX_AGE, _INVENTORY_MAX_SPAN = timedelta(hours=168), timedelta(hours=24)
_TRAFFIC_MIN_END_AGE = timedelta(minutes=60)


def parse_create_request(data: Any, now: datetime, limits: Limits) -> tuple[str, str, datetime, datetime]:
    """Validate a createReport body; returns (report_type, marketplace_id, start, end) or raises ValueError.
    dataEndTime defaults to now, as in Amazon's model (the document still holds whole hours only)."""
    if not isinstance(data, dict):
        raise ValueError("The request body must be a JSON object.")
    report_type = data.get("reportType")
    if report_type not in REPORT_TYPES:
        raise ValueError(f"Invalid reportType {report_type!r}; this simulator makes {', '.join(REPORT_TYPES)}.")
    marketplace_ids = data.get("marketplaceIds")
    if not isinstance(marketplace_ids, list) or len(marketplace_ids) != 1:
        raise ValueError("marketplaceIds must contain exactly one marketplace ID for this report type.")
    if not isinstance(marketplace_ids[0], str) or lookup(marketplace_ids[0]) is None:
        raise ValueError(f"Invalid marketplace ID {marketplace_ids[0]!r}.")
    start = _instant(data, "dataStartTime")
    end = now if data.get("dataEndTime") is None else _instant(data, "dataEndTime")
    _check_range(start, end, now, _limits_of(report_type, limits))
    if report_type == TRAFFIC_REPORT_TYPE and end > now - _TRAFFIC_MIN_END_AGE:
        raise ValueError(f"dataEndTime {iso(end)} is not yet available: for this report type it must be at least "
                         f"60 minutes before the time of the request.")
    return report_type, marketplace_ids[0], start, end


def _limits_of(report_type: str, limits: Limits) -> Limits:
    if report_type != INVENTORY_REPORT_TYPE:
        return limits
    return Limits(min(limits.max_window, _INVENTORY_MAX_SPAN), min(limits.max_data_age, _INVENTORY_MAX_AGE))


def _check_range(start: datetime, end: datetime, now: datetime, limits: Limits) -> None:
    """Clients classify the last three messages: keep their wording."""
    if start >= end:
        raise ValueError("dataStartTime must be before dataEndTime.")
    if end > now:
        raise ValueError(f"dataEndTime {iso(end)} is in the future (now is {iso(now)}).")
    if start < now - limits.max_data_age:
        raise ValueError(f"dataStartTime {iso(start)} is out of range: it may be at most "
                         f"{_hours(limits.max_data_age):g} hours before the time of the request.")
    if end - start > limits.max_window:
        raise ValueError("The date range between dataStartTime and dataEndTime cannot exceed "
                         f"{_hours(limits.max_window):g} hours.")


def _hours(span: timedelta) -> float:
    return span.total_seconds() / 3600


def _instant(data: dict[str, Any], name: str) -> datetime:
    value = data.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} is required for this report type.")
    try:
        return parse_instant(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not an ISO 8601 date-time with a time zone.") from None
