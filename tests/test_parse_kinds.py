"""The one report parser, driven by a Kind: traffic and inventory documents as strictly as sales."""

from __future__ import annotations

import copy
import gzip
import json
import re
from datetime import timedelta
from typing import Any

import pytest

from rtsales.amazon import jsonstream
from rtsales.amazon.document import parse_document, read_document
from rtsales.amazon.parse import parse_sales_document
from rtsales.clock import HOUR, hour_key, iso, parse_instant
from rtsales.errors import ReportParseError
from rtsales.kinds import INVENTORY, KINDS, SALES, TRAFFIC, Kind, kind_for
from tests.conftest import SHARED_SPAPI, at
from tests.test_parse import _DELETE, DOC

MP = "ATVPDKIKX0DER"
START = at("2022-10-01T00:00:00Z")
END = START + 3 * HOUR
FIELD = {"traffic": "glanceViews", "inventory": "highlyAvailableInventory"}
NEW_KINDS = [TRAFFIC, INVENTORY]


def _doc(kind: Kind, hours: int = 3, asins: int = 25) -> dict[str, Any]:
    return {
        "reportSpecification": {"reportType": kind.report_type, "dataStartTime": iso(START),
                                "dataEndTime": iso(END), "marketplaceIds": [MP]},
        "reportData": [
            {"startTime": iso(START + h * HOUR), "endTime": iso(START + (h + 1) * HOUR), "asin": f"B0{a:08d}",
             FIELD[kind.name]: (a * 37 + h) % 500}
            for h in range(hours) for a in range(asins)],
    }


def _expected(kind: Kind, doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows, worked out here without the parser."""
    return [(hour_key(parse_instant(item["startTime"])), item["asin"], item[FIELD[kind.name]])
            for item in doc["reportData"]]


def _body(doc: Any) -> bytes:
    return doc if isinstance(doc, bytes) else json.dumps(doc).encode()


def _read(kind: Kind, doc: Any, gzipped: bool = True) -> list[tuple[Any, ...]]:
    body = _body(doc)
    stream = read_document(kind, gzip.compress(body) if gzipped else body, MP, START, END, gzipped=gzipped)
    return [tuple(row) for row in stream.rows]


def _broken(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    target: Any = doc
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return doc


@pytest.fixture(params=NEW_KINDS, ids=lambda kind: kind.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=[1, 7, 64, jsonstream.CHUNK], ids=lambda n: f"chunk{n}")
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(jsonstream, "CHUNK", request.param)
    return int(request.param)


def test_rows_come_out_named_and_typed(kind: Kind) -> None:
    parsed = parse_document(kind, _body(_doc(kind, hours=1, asins=2)), MP, START, END)
    assert parsed.currency_code is None
    assert parsed.rows == [(iso(START), "B000000000", 0), (iso(START), "B000000001", 37)]
    assert parsed.rows[1]._fields == ("hour_utc", "asin", {"traffic": "glance_views",
                                                           "inventory": "highly_available_inventory"}[kind.name])


def test_streamed_rows_equal_the_document_at_any_chunk_size(kind: Kind, chunk: int) -> None:
    doc = _doc(kind)
    assert _read(kind, doc) == _expected(kind, doc)
    assert _read(kind, doc, gzipped=False) == _expected(kind, doc)
    reordered = {"reportData": doc["reportData"], "reportSpecification": doc["reportSpecification"]}
    assert _read(kind, reordered) == _expected(kind, doc)


def test_zero_is_a_value_and_an_empty_report_is_empty(kind: Kind) -> None:
    doc = _doc(kind, hours=1, asins=1)
    assert _read(kind, doc) == [(iso(START), "B000000000", 0)]
    doc["reportData"] = []
    assert _read(kind, doc) == []


@pytest.mark.parametrize(("path", "value", "message"), [
    ("reportSpecification", _DELETE, "reportSpecification"),
    ("reportSpecification.reportType", SALES.report_type, "reportType"),
    ("reportSpecification.marketplaceIds", ["A1PA6795UKMFR9"], "marketplaceIds"),
    ("reportSpecification.marketplaceIds", MP, "marketplaceIds"),
    ("reportSpecification.dataStartTime", _DELETE, "dataStartTime"),
    ("reportSpecification.dataEndTime", "tomorrow", "dataEndTime"),
    ("reportSpecification.dataEndTime", "2022-10-01T02:00:00", "dataEndTime"),  # no zone
    ("reportSpecification.dataStartTime", "2022-10-01T01:00:00Z", "does not cover the requested window"),
    ("reportSpecification.dataEndTime", "2022-10-01T02:00:00Z", "does not cover the requested window"),
    ("reportData", _DELETE, "reportData"),
    ("reportData", {"rows": 1}, "reportData"),
    ("reportData.4", "not an object", "not an object"),
    ("reportData.4.asin", _DELETE, "asin"),
    ("reportData.4.asin", "   ", "asin"),
    ("reportData.4.asin", 12345, "asin"),
    ("reportData.4.startTime", "2022-10-01T00:30:00Z", "startTime"),
    ("reportData.4.startTime", "noon", "startTime"),
    ("reportData.4.endTime", "2022-10-01T03:00:00Z", "endTime is not one hour"),
    ("reportData.4.endTime", _DELETE, "endTime"),
    ("reportData.4.VALUE", _DELETE, "VALUE"),
    ("reportData.4.VALUE", "3", "VALUE is not an integer >= 0"),
    ("reportData.4.VALUE", 1.5, "VALUE is not an integer >= 0"),
    ("reportData.4.VALUE", 3.0, "VALUE is not an integer >= 0"),
    ("reportData.4.VALUE", True, "VALUE is not an integer >= 0"),
    ("reportData.4.VALUE", -1, "VALUE is not an integer >= 0"),
    ("reportData.4.VALUE", None, "VALUE is not an integer >= 0"),
])
def test_refusals_name_the_field_and_show_a_sample(kind: Kind, chunk: int, path: str, value: Any,
                                                   message: str) -> None:
    name = FIELD[kind.name]
    doc = _broken(_doc(kind, hours=2, asins=3), path.replace("VALUE", name), value)
    for read in (lambda: _read(kind, doc), lambda: parse_document(kind, _body(doc), MP, START, END)):
        with pytest.raises(ReportParseError, match=re.escape(message.replace("VALUE", name))) as caught:
            read()
        assert "(sample: " in caught.value.message


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-0.0"])
def test_non_finite_and_non_integer_numbers_are_refused(kind: Kind, number: bytes) -> None:
    body = json.dumps(_doc(kind, hours=1, asins=3)).encode().replace(b": 37}", b": " + number + b"}")
    assert number in body
    with pytest.raises(ReportParseError, match=FIELD[kind.name]):
        _read(kind, body)


def test_rows_outside_the_window_are_refused(kind: Kind) -> None:
    doc = _doc(kind, hours=4, asins=2)
    with pytest.raises(ReportParseError, match="outside the requested window"):
        _read(kind, doc)


def test_a_wider_specification_is_accepted(kind: Kind) -> None:
    doc = _doc(kind, hours=2, asins=2)
    doc["reportSpecification"]["dataStartTime"] = iso(START - 5 * HOUR)
    doc["reportSpecification"]["dataEndTime"] = iso(END + timedelta(minutes=17))
    assert _read(kind, doc) == _expected(kind, doc)


def test_duplicate_hour_and_asin_refused_when_materialised(kind: Kind, chunk: int) -> None:
    doc = _doc(kind, hours=2, asins=3)
    doc["reportData"].append(copy.deepcopy(doc["reportData"][4]))
    assert len(_read(kind, doc)) == 7  # streamed rows leave duplicates to the table's primary key
    with pytest.raises(ReportParseError, match="duplicate row for one hour and ASIN"):
        parse_document(kind, _body(doc), MP, START, END)


def test_a_sales_document_is_not_a_traffic_document(kind: Kind) -> None:
    sales = copy.deepcopy(DOC)
    with pytest.raises(ReportParseError, match="reportType"):
        parse_document(kind, _body(sales), MP, at("2022-04-20T20:00:00Z"), at("2022-04-20T21:00:00Z"))


def test_sales_through_the_generic_parser_equals_the_sales_entry_point() -> None:
    raw, start, end = _body(DOC), at("2022-04-20T20:00:00Z"), at("2022-04-20T21:00:00Z")
    generic, sales = parse_document(SALES, raw, MP, start, end), parse_sales_document(raw, MP, start, end)
    assert generic.currency_code == sales.currency_code == "USD"
    assert generic.rows == sales.rows


def test_kinds_are_registered_by_name_and_report_type() -> None:
    assert [KINDS[name] for name in ("sales", "traffic", "inventory")] == [SALES, TRAFFIC, INVENTORY]
    assert kind_for("GET_VENDOR_REAL_TIME_TRAFFIC_REPORT") is TRAFFIC
    assert kind_for("GET_VENDOR_REAL_TIME_INVENTORY_REPORT") is INVENTORY
    with pytest.raises(KeyError):
        kind_for("GET_VENDOR_INVENTORY_REPORT")


def test_window_limits_of_each_kind() -> None:
    now = at("2022-10-08T12:30:00Z")
    assert INVENTORY.limits.refusal(now - timedelta(hours=168), now - timedelta(hours=144), now) is None
    assert "168 hours before" in str(INVENTORY.limits.refusal(now - timedelta(hours=169), now - 150 * HOUR, now))
    assert "24 hours after" in str(INVENTORY.limits.refusal(now - 30 * HOUR, now - 5 * HOUR, now))
    assert INVENTORY.limits.refusal(now - 2 * HOUR, now, now) is None  # the current hour is allowed
    assert TRAFFIC.limits.refusal(now - 30 * HOUR, now - HOUR, now) is None
    assert "60 minutes before" in str(TRAFFIC.limits.refusal(now - 3 * HOUR, now - timedelta(minutes=59), now))
    assert SALES.limits.refusal(now - 1000 * HOUR, now, now) is None


@pytest.mark.skipif(not SHARED_SPAPI.is_dir(), reason="shared/spapi not present")
@pytest.mark.parametrize(("name", "start", "end", "total", "rows"), [
    ("vendorRealTimeTrafficReport", "2022-04-20T20:00:00Z", "2022-04-20T21:00:00Z", 75, 1),
    ("vendorRealTimeInventoryReport", "2022-10-01T00:00:00Z", "2022-10-01T02:00:00Z", 270 + 650 + 250 + 550, 4),
])
def test_amazons_own_examples_parse(name: str, start: str, end: str, total: int, rows: int) -> None:
    raw = (SHARED_SPAPI / f"{name}.example.json").read_bytes()
    kind = kind_for(json.loads(raw)["reportSpecification"]["reportType"])
    parsed = parse_document(kind, raw, MP, at(start), at(end))
    assert len(parsed.rows) == rows and sum(row[2] for row in parsed.rows) == total
    streamed = read_document(kind, gzip.compress(raw), MP, at(start), at(end))
    assert list(streamed.rows) == parsed.rows


@pytest.mark.skipif(not SHARED_SPAPI.is_dir(), reason="shared/spapi not present")
@pytest.mark.parametrize(("kind", "member", "phrase", "limit"), [
    (INVENTORY, "dataStartTime", r"up to (\d+) hours before the time of the request", "max_data_age"),
    (INVENTORY, "dataEndTime", r"not be more than (\d+) hours from the start time", "max_span"),
    (TRAFFIC, "dataEndTime", r"at least (\d+) minutes earlier than the time of the request", "min_end_age"),
], ids=["inventory-age", "inventory-span", "traffic-end"])
def test_limits_are_the_ones_amazons_schemas_state(kind: Kind, member: str, phrase: str, limit: str) -> None:
    name = {"traffic": "vendorRealTimeTrafficReport", "inventory": "vendorRealTimeInventoryReport"}[kind.name]
    schema = json.loads((SHARED_SPAPI / f"{name}.json").read_text())
    text = schema["properties"]["reportSpecification"]["properties"][member]["description"]
    found = re.search(phrase, text)
    assert found, text
    unit = timedelta(minutes=1) if "minutes" in phrase else HOUR
    assert getattr(kind.limits, limit) == int(found.group(1)) * unit
    assert schema["definitions"]["ReportData"]["properties"][FIELD[kind.name]]["type"] == "integer"
    assert schema["definitions"]["ReportData"]["properties"][FIELD[kind.name]]["minimum"] == 0
