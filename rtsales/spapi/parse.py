"""Strict parser for GET_VENDOR_REAL_TIME_SALES_REPORT documents.

Anything that is not what Amazon's schema promises raises ReportParseError
naming the field and a short sample; it never returns a silent empty list.
Zero-unit rows are real rows; orderedUnits may be negative.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from rtsales.clock import HOUR, hour_key, parse_hour, parse_instant
from rtsales.errors import ReportParseError

REPORT_TYPE = "GET_VENDOR_REAL_TIME_SALES_REPORT"
_SAMPLE = 80


class SalesRow(NamedTuple):
    hour_utc: str
    asin: str
    ordered_units: int
    ordered_revenue: float


@dataclass(frozen=True)
class SalesDocument:
    currency_code: str
    rows: list[SalesRow]


def _fail(what: str, sample: Any) -> ReportParseError:
    text = sample if isinstance(sample, str) else json.dumps(sample, default=str)
    short = text[:_SAMPLE] + ("..." if len(text) > _SAMPLE else "")
    return ReportParseError(f"report document: {what} (sample: {short})")


def _load(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail("bytes are not UTF-8 text", repr(raw[:40])) from None
    try:
        data = json.loads(text)
    except ValueError:
        raise _fail("not JSON", text) from None
    if not isinstance(data, dict):
        raise _fail("top level is not an object", text)
    return data


def _specification(data: dict[str, Any], marketplace_id: str) -> str:
    spec = data.get("reportSpecification")
    if not isinstance(spec, dict):
        raise _fail("reportSpecification missing or not an object", data)
    if spec.get("reportType") != REPORT_TYPE:
        raise _fail(f"reportType is {spec.get('reportType')!r}, expected {REPORT_TYPE}", spec)
    ids = spec.get("marketplaceIds")
    if not isinstance(ids, list) or marketplace_id not in ids:
        raise _fail(f"marketplaceIds does not name {marketplace_id}", spec)
    options = spec.get("reportOptions")
    currency = options.get("currencyCode") if isinstance(options, dict) else None
    if not isinstance(currency, str) or not currency:
        raise _fail("reportOptions.currencyCode missing", spec)
    return currency


def _row(item: Any, start: datetime, end: datetime) -> SalesRow:
    if not isinstance(item, dict):
        raise _fail("reportData entry is not an object", item)
    try:
        hour = parse_hour(_text(item, "startTime"))
        if parse_instant(_text(item, "endTime")) != hour + HOUR:
            raise _fail("endTime is not one hour after startTime", item)
    except ValueError as exc:
        raise _fail(f"bad startTime/endTime ({exc})", item) from None
    if not start <= hour < end:
        raise _fail("row outside the requested window", item)
    units, revenue = item.get("orderedUnits"), item.get("orderedRevenue")
    if not isinstance(units, int) or isinstance(units, bool):
        raise _fail("orderedUnits is not an integer", item)
    if not isinstance(revenue, (int, float)) or isinstance(revenue, bool) or not math.isfinite(revenue):
        raise _fail("orderedRevenue is not a number", item)
    return SalesRow(hour_key(hour), _text(item, "asin"), units, float(revenue))


def _text(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{name} missing or not a string", item)
    return value


def parse_sales_document(raw: bytes, marketplace_id: str, start: datetime, end: datetime) -> SalesDocument:
    """Parse and validate a document for the window [start, end) of one marketplace."""
    data = _load(raw)
    currency = _specification(data, marketplace_id)
    items = data.get("reportData")
    if not isinstance(items, list):
        raise _fail("reportData missing or not a list", data)
    rows = [_row(item, start, end) for item in items]
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if (row.hour_utc, row.asin) in seen:
            raise _fail("duplicate row for one hour and ASIN", row._asdict())
        seen.add((row.hour_utc, row.asin))
    return SalesDocument(currency_code=currency, rows=rows)


def describe_error_document(raw: bytes) -> str:
    """A FATAL report's error document, summarised for last_error (never raises)."""
    try:
        data = json.loads(raw.decode("utf-8"))
        detail = data.get("errorDetails") if isinstance(data, dict) else None
        text = detail if isinstance(detail, str) else json.dumps(data)
    except (UnicodeDecodeError, ValueError):
        text = raw[:200].decode("utf-8", "replace")
    return text[:200]
