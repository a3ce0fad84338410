"""Strict parser for GET_VENDOR_REAL_TIME_SALES_REPORT documents.

Anything that is not what Amazon's schema promises raises ReportParseError
naming the field and a short sample; it never returns a silent empty list.
Zero-unit rows are real rows; orderedUnits may be negative.

`read_sales_document` streams: it checks reportSpecification before handing out
a single row, then yields reportData rows in batches (as columns) while the gzip
body inflates, so a million-row document costs tens of MB instead of a gigabyte.
Every row passes the same checks as before: a batch is checked column by column
(C-speed loops over types, finiteness, blank ASINs and each distinct hour once);
a batch with anything unusual is checked row by row by `_row`, which also writes
the error message. A document whose reportData comes before its reportSpecification
(Amazon writes the specification first) is read whole. `parse_sales_document`
materialises the rows and refuses duplicate (hour, ASIN) rows itself; streamed
rows leave that to the table's primary key (`rtsales.ingest`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple

from rtsales.clock import HOUR, hour_key, parse_hour, parse_instant
from rtsales.errors import ReportParseError
from rtsales.spapi.jsonstream import JsonCursor, NotJson, byte_chunks, gunzip_chunks, text_chunks

REPORT_TYPE = "GET_VENDOR_REAL_TIME_SALES_REPORT"
DEFAULT_LIMIT = 512 * 1024 * 1024  # bytes of inflated document (MAX_DOCUMENT_MB's default)
_SAMPLE = 80
_COLUMNS = tuple(map(itemgetter, ("startTime", "endTime", "asin", "orderedUnits", "orderedRevenue")))
Row = tuple[str, str, int, float]  # (hour_utc, asin, ordered_units, ordered_revenue), as in SalesRow


class SalesRow(NamedTuple):
    hour_utc: str
    asin: str
    ordered_units: int
    ordered_revenue: float


@dataclass(frozen=True)
class SalesDocument:
    currency_code: str
    rows: list[SalesRow]


class Batch(NamedTuple):
    """Rows as columns: row i is (hour_utc[i], asin[i], ordered_units[i], ordered_revenue[i])."""

    hour_utc: Sequence[str]
    asin: Sequence[str]
    ordered_units: Sequence[int]
    ordered_revenue: Sequence[float]


@dataclass(frozen=True)
class SalesStream:
    """A checked specification and rows that are read, and checked, as they are consumed (once)."""

    currency_code: str
    batches: Iterator[Batch]

    @property
    def rows(self) -> Iterator[Row]:
        return (row for batch in self.batches for row in zip(*batch, strict=True))


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
    hour = _hour(item, start, end)
    units = item.get("orderedUnits")
    if not isinstance(units, int) or isinstance(units, bool):
        raise _fail("orderedUnits is not an integer", item)
    return SalesRow(hour_key(hour), _text(item, "asin"), units, _revenue(item))


def _hour(item: dict[str, Any], start: datetime, end: datetime) -> datetime:
    try:
        hour = parse_hour(_text(item, "startTime"))
        if parse_instant(_text(item, "endTime")) != hour + HOUR:
            raise _fail("endTime is not one hour after startTime", item)
    except ValueError as exc:
        raise _fail(f"bad startTime/endTime ({exc})", item) from None
    if not start <= hour < end:
        raise _fail("row outside the requested window", item)
    return hour


def _revenue(item: dict[str, Any]) -> float:
    revenue = item.get("orderedRevenue")
    try:
        if isinstance(revenue, (int, float)) and not isinstance(revenue, bool) and math.isfinite(revenue):
            return float(revenue)
    except OverflowError:  # an integer too large for a float
        pass
    raise _fail("orderedRevenue is not a number", item)


def _text(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{name} missing or not a string", item)
    return value


def _parse_whole(body: bytes, marketplace_id: str, start: datetime, end: datetime) -> SalesDocument:
    """The whole document in memory: the exact messages for any layout."""
    data = _load(body)
    currency = _specification(data, marketplace_id)
    items = data.get("reportData")
    if not isinstance(items, list):
        raise _fail("reportData missing or not a list", data)
    return SalesDocument(currency_code=currency, rows=[_row(item, start, end) for item in items])


def parse_sales_document(raw: bytes, marketplace_id: str, start: datetime, end: datetime) -> SalesDocument:
    """Parse and validate a (not compressed) document for the window [start, end) of one marketplace."""
    stream = read_sales_document(raw, marketplace_id, start, end, gzipped=False)
    rows = [SalesRow._make(row) for row in stream.rows]
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if (row.hour_utc, row.asin) in seen:
            raise _fail("duplicate row for one hour and ASIN", row._asdict())
        seen.add((row.hour_utc, row.asin))
    return SalesDocument(currency_code=stream.currency_code, rows=rows)


def read_sales_document(raw: bytes, marketplace_id: str, start: datetime, end: datetime, *,
                        gzipped: bool = True, limit: int = DEFAULT_LIMIT) -> SalesStream:
    """Check the specification now; the rows (not yet checked for duplicates) come as they are read."""
    cursor = JsonCursor(text_chunks(gunzip_chunks(raw, limit) if gzipped else byte_chunks(raw)))
    with _reading():
        head = _head(cursor)
    if head is None:  # not the usual layout: the whole document, the old way
        whole = _parse_whole(b"".join(gunzip_chunks(raw, limit)) if gzipped else raw, marketplace_id, start, end)
        return SalesStream(whole.currency_code, iter([_as_batch(whole.rows)]))
    fields, at_data = head
    currency = _specification(fields, marketplace_id)
    if not at_data or cursor.peek() != "[":
        raise _fail("reportData missing or not a list", fields if not at_data else cursor.sample())
    return SalesStream(currency, _streamed_batches(cursor, start, end))


@contextmanager
def _reading() -> Iterator[None]:
    """NotJson and bad UTF-8 met while reading, as the ReportParseError a caller expects."""
    try:
        yield
    except NotJson as exc:
        raise _fail("not JSON", exc.sample) from None
    except UnicodeDecodeError as exc:
        raise _fail("bytes are not UTF-8 text", repr(exc.object[exc.start:exc.start + 40])) from None


def _head(cursor: JsonCursor) -> tuple[dict[str, Any], bool] | None:
    """Top-level members before reportData, and whether the cursor now sits at its value.

    None when the document is not an object or reportData precedes reportSpecification."""
    if cursor.peek() != "{":
        return None
    cursor.pos += 1
    fields: dict[str, Any] = {}
    if cursor.peek() == "}":
        cursor.pos += 1
        _end_of_document(cursor)
        return fields, False
    while True:
        key = _key(cursor)
        if key == "reportData":
            return (fields, True) if "reportSpecification" in fields else None
        fields[key] = cursor.value()
        if cursor.expect(",}") == "}":
            _end_of_document(cursor)
            return fields, False


def _key(cursor: JsonCursor) -> str:
    key = cursor.value()
    if not isinstance(key, str):
        raise NotJson(cursor.sample())
    cursor.expect(":")
    return key


def _end_of_document(cursor: JsonCursor) -> None:
    if cursor.peek():
        raise NotJson(cursor.sample())


def _streamed_batches(cursor: JsonCursor, start: datetime, end: datetime) -> Iterator[Batch]:
    with _reading():
        hours: dict[tuple[str, str], str] = {}  # (startTime, endTime) already checked -> hour_utc
        for items in cursor.array_batches():
            yield _fast_batch(items, hours, start, end) or _as_batch([_row(item, start, end) for item in items])
        while cursor.expect(",}") == ",":  # members after reportData
            key = _key(cursor)
            if key in ("reportData", "reportSpecification"):
                raise _fail(f"{key} appears twice", key)
            cursor.value()
        _end_of_document(cursor)


def _fast_batch(items: list[Any], hours: dict[tuple[str, str], str], start: datetime, end: datetime
                ) -> Batch | None:
    """The batch checked a column at a time, or None when some row needs `_row` (and its message)."""
    try:
        starts, ends, asins, units, revenues = (list(map(column, items)) for column in _COLUMNS)
        one_hour = starts.count(starts[0]) == len(starts) and ends.count(ends[0]) == len(ends)
        times = [(starts[0], ends[0])] if one_hour else list(zip(starts, ends))
        pairs = set(times)
    except (KeyError, TypeError, IndexError):  # not an object, a field missing, an unhashable time, no rows
        return None
    kinds = set(map(type, revenues))
    if not (_only(units, int) and _only(asins, str) and kinds <= {float, int} and all(map(str.strip, asins))):
        return None
    try:
        amounts = list(map(float, revenues)) if int in kinds else revenues
    except OverflowError:
        return None
    if not math.isfinite(sum(amounts)) or not _learn_hours(pairs, hours, start, end):
        return None  # (a sum that overflows sends a good batch the slow way: still right)
    hour_column = [hours[times[0]]] * len(items) if one_hour else list(map(hours.__getitem__, times))
    return Batch(hour_column, asins, units, amounts)


def _only(column: Sequence[Any], kind: type) -> bool:
    return set(map(type, column)) == {kind}


def _learn_hours(pairs: set[tuple[str, str]], hours: dict[tuple[str, str], str], start: datetime,
                 end: datetime) -> bool:
    """Check each (startTime, endTime) not seen before; False if one is wrong (`_row` will say why)."""
    for pair in pairs - hours.keys():
        try:
            hours[pair] = hour_key(_hour({"startTime": pair[0], "endTime": pair[1]}, start, end))
        except ReportParseError:
            return False
    return True


def _as_batch(rows: list[SalesRow]) -> Batch:
    return Batch([r.hour_utc for r in rows], [r.asin for r in rows], [r.ordered_units for r in rows],
                 [r.ordered_revenue for r in rows])


def describe_error_document(raw: bytes) -> str:
    """A FATAL report's error document, summarised for last_error (never raises)."""
    try:
        data = json.loads(raw.decode("utf-8"))
        detail = data.get("errorDetails") if isinstance(data, dict) else None
        text = detail if isinstance(detail, str) else json.dumps(data)
    except (UnicodeDecodeError, ValueError):
        text = raw[:200].decode("utf-8", "replace")
    return text[:200]
