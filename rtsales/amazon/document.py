"""The strict parser of real-time report documents, for any `Kind` (rtsales.kinds).

Anything that is not what Amazon's schema promises raises ReportParseError
naming the field and a short sample; it never returns a silent empty list.

`read_document` streams: it checks reportSpecification before handing out a
single row, then yields reportData rows in batches (as columns, the kind's batch
shape) while the gzip body inflates, so a million-row document costs tens of MB
instead of a gigabyte. Every row passes the same checks either way: a batch is
checked column by column (C-speed loops over types, finiteness, blank ASINs and
each distinct hour once); a batch with anything unusual is checked row by row by
`_row`, which also writes the error message. A document whose reportData comes
before its reportSpecification (Amazon writes the specification first) is read
whole. `parse_document` materialises the rows and refuses duplicate (hour, ASIN)
rows itself; streamed rows leave that to the table's primary key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from rtsales.amazon.jsonstream import JsonCursor, NotJson, byte_chunks, gunzip_chunks, text_chunks
from rtsales.clock import HOUR, hour_key, parse_hour, parse_instant
from rtsales.errors import ReportParseError
from rtsales.kinds import Kind, Value, only

DEFAULT_LIMIT = 512 * 1024 * 1024  # bytes of inflated document (MAX_DOCUMENT_MB's default)
_SAMPLE = 80
_PLACE = tuple(map(itemgetter, ("startTime", "endTime", "asin")))
Columns = tuple[Sequence[Any], ...]  # a batch: the kind's batch NamedTuple


@dataclass(frozen=True)
class ReportStream:
    """A checked specification and rows that are read, and checked, as they are consumed (once)."""

    kind: Kind
    currency_code: str | None  # None for kinds without reportOptions.currencyCode
    batches: Iterator[Columns]

    @property
    def rows(self) -> Iterator[tuple[Any, ...]]:
        return (row for batch in self.batches for row in zip(*batch, strict=True))


@dataclass(frozen=True)
class ReportDocument:
    kind: Kind
    currency_code: str | None
    rows: list[Any]  # the kind's row NamedTuples


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


def _specification(kind: Kind, data: dict[str, Any], marketplace_id: str, start: datetime,
                   end: datetime) -> str | None:
    """The currency code (None if the kind has none) once the specification is checked."""
    spec = data.get("reportSpecification")
    if not isinstance(spec, dict):
        raise _fail("reportSpecification missing or not an object", data)
    if spec.get("reportType") != kind.report_type:
        raise _fail(f"reportType is {spec.get('reportType')!r}, expected {kind.report_type}", spec)
    ids = spec.get("marketplaceIds")
    if not isinstance(ids, list) or marketplace_id not in ids:
        raise _fail(f"marketplaceIds does not name {marketplace_id}", spec)
    if kind.checks_window:
        _covers(spec, start, end)
    if not kind.currency:
        return None
    options = spec.get("reportOptions")
    currency = options.get("currencyCode") if isinstance(options, dict) else None
    if not isinstance(currency, str) or not currency:
        raise _fail("reportOptions.currencyCode missing", spec)
    return currency


def _covers(spec: dict[str, Any], start: datetime, end: datetime) -> None:
    """dataStartTime..dataEndTime holds [start, end) (to the second: Amazon echoes whole seconds)."""
    try:
        first, last = (parse_instant(_text(spec, name)) for name in ("dataStartTime", "dataEndTime"))
    except ValueError as exc:
        raise _fail(f"bad dataStartTime/dataEndTime ({exc})", spec) from None
    if first > start or last < end.replace(microsecond=0):
        raise _fail("dataStartTime..dataEndTime does not cover the requested window", spec)


def _row(kind: Kind, item: Any, start: datetime, end: datetime) -> tuple[Any, ...]:
    if not isinstance(item, dict):
        raise _fail("reportData entry is not an object", item)
    hour = _hour(item, start, end)
    asin = _text(item, "asin")
    return kind.row(hour_key(hour), asin, *(_value(value, item) for value in kind.values))


def _value(value: Value, item: dict[str, Any]) -> Any:
    try:
        return value.one(item.get(value.name))
    except ValueError:
        raise _fail(f"{value.name} {value.problem}", item) from None


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


def _text(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{name} missing or not a string", item)
    return value


def _parse_whole(kind: Kind, body: bytes, marketplace_id: str, start: datetime, end: datetime) -> ReportDocument:
    """The whole document in memory: the exact messages for any layout."""
    data = _load(body)
    currency = _specification(kind, data, marketplace_id, start, end)
    items = data.get("reportData")
    if not isinstance(items, list):
        raise _fail("reportData missing or not a list", data)
    return ReportDocument(kind, currency, [_row(kind, item, start, end) for item in items])


def parse_document(kind: Kind, raw: bytes, marketplace_id: str, start: datetime, end: datetime) -> ReportDocument:
    """Parse and validate a (not compressed) document for the window [start, end) of one marketplace."""
    stream = read_document(kind, raw, marketplace_id, start, end, gzipped=False)
    rows = [kind.row(*row) for row in stream.rows]
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if (row[0], row[1]) in seen:
            raise _fail("duplicate row for one hour and ASIN", row._asdict())
        seen.add((row[0], row[1]))
    return ReportDocument(kind, stream.currency_code, rows)


def read_document(kind: Kind, raw: bytes, marketplace_id: str, start: datetime, end: datetime, *,
                  gzipped: bool = True, limit: int = DEFAULT_LIMIT) -> ReportStream:
    """Check the specification now; the rows (not yet checked for duplicates) come as they are read."""
    cursor = JsonCursor(text_chunks(gunzip_chunks(raw, limit) if gzipped else byte_chunks(raw)))
    with _reading():
        head = _head(cursor)
    if head is None:  # not the usual layout: the whole document, the old way
        body = b"".join(gunzip_chunks(raw, limit)) if gzipped else raw
        whole = _parse_whole(kind, body, marketplace_id, start, end)
        return ReportStream(kind, whole.currency_code, iter([_as_batch(kind, whole.rows)]))
    fields, at_data = head
    currency = _specification(kind, fields, marketplace_id, start, end)
    if not at_data or cursor.peek() != "[":
        raise _fail("reportData missing or not a list", fields if not at_data else cursor.sample())
    return ReportStream(kind, currency, _streamed_batches(kind, cursor, start, end))


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


def _streamed_batches(kind: Kind, cursor: JsonCursor, start: datetime, end: datetime) -> Iterator[Columns]:
    with _reading():
        hours: dict[tuple[str, str], str] = {}  # (startTime, endTime) already checked -> hour_utc
        for items in cursor.array_batches():
            yield (_fast_batch(kind, items, hours, start, end)
                   or _as_batch(kind, [_row(kind, item, start, end) for item in items]))
        while cursor.expect(",}") == ",":  # members after reportData
            key = _key(cursor)
            if key in ("reportData", "reportSpecification"):
                raise _fail(f"{key} appears twice", key)
            cursor.value()
        _end_of_document(cursor)


def _fast_batch(kind: Kind, items: list[Any], hours: dict[tuple[str, str], str], start: datetime,
                end: datetime) -> Columns | None:
    """The batch checked a column at a time, or None when some row needs `_row` (and its message)."""
    try:
        starts, ends, asins = (list(map(place, items)) for place in _PLACE)
        raw_values = [list(map(itemgetter(value.name), items)) for value in kind.values]
        one_hour = starts.count(starts[0]) == len(starts) and ends.count(ends[0]) == len(ends)
        times = [(starts[0], ends[0])] if one_hour else list(zip(starts, ends))
        pairs = set(times)
    except (KeyError, TypeError, IndexError):  # not an object, a field missing, an unhashable time, no rows
        return None
    if not (only(asins, str) and all(map(str.strip, asins))):
        return None
    values = [value.column(column) for value, column in zip(kind.values, raw_values, strict=True)]
    if any(column is None for column in values) or not _learn_hours(pairs, hours, start, end):
        return None
    hour_column = [hours[times[0]]] * len(items) if one_hour else list(map(hours.__getitem__, times))
    return kind.batch(hour_column, asins, *values)


def _learn_hours(pairs: set[tuple[str, str]], hours: dict[tuple[str, str], str], start: datetime,
                 end: datetime) -> bool:
    """Check each (startTime, endTime) not seen before; False if one is wrong (`_row` will say why)."""
    for pair in pairs - hours.keys():
        try:
            hours[pair] = hour_key(_hour({"startTime": pair[0], "endTime": pair[1]}, start, end))
        except ReportParseError:
            return False
    return True


def _as_batch(kind: Kind, rows: list[Any]) -> Columns:
    if not rows:
        return kind.batch(*([] for _ in range(2 + len(kind.values))))
    return kind.batch(*map(list, zip(*rows, strict=True)))
