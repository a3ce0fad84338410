"""The streaming reader: the rows and refusals of a whole-document parse, wherever the chunks are cut."""

from __future__ import annotations

import copy
import gzip
import json
from typing import Any

import pytest

from rtsales.amazon import jsonstream
from rtsales.amazon.parse import parse_sales_document, read_sales_document
from rtsales.clock import HOUR, hour_key, iso, parse_instant
from rtsales.errors import ReportParseError
from tests.test_parse import _DELETE, DOC, END, MP, START, _broken

CHUNKS = [1, 7, 64, jsonstream.CHUNK]
WIDE_END = START + 3 * HOUR


def _doc(hours: int = 3, asins: int = 25) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    doc["reportData"] = [
        {"startTime": iso(START + h * HOUR), "endTime": iso(START + (h + 1) * HOUR), "asin": f"B0{a:08d}",
         "orderedUnits": (a % 7) - 2, "orderedRevenue": round(((a % 7) - 2) * 12.345 + h, 2)}
        for h in range(hours) for a in range(asins)]
    doc["reportData"][-1]["orderedRevenue"] = 0  # an integer revenue, read as 0.0
    return doc


def _expected(doc: dict[str, Any]) -> list[tuple[str, str, int, float]]:
    """The rows, worked out here without the parser."""
    return [(hour_key(parse_instant(item["startTime"])), item["asin"], item["orderedUnits"],
             float(item["orderedRevenue"])) for item in doc["reportData"]]


def _read(doc: Any, gzipped: bool = True, end: Any = WIDE_END, **dumps: Any) -> list[tuple[Any, ...]]:
    body = doc if isinstance(doc, bytes) else json.dumps(doc, **dumps).encode()
    stream = read_sales_document(gzip.compress(body) if gzipped else body, MP, START, end, gzipped=gzipped)
    return [tuple(row) for row in stream.rows]


@pytest.fixture(params=CHUNKS, ids=lambda n: f"chunk{n}")
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(jsonstream, "CHUNK", request.param)
    return int(request.param)


@pytest.mark.parametrize("layout", [{}, {"indent": 2}, {"separators": (",", ":")}], ids=["default", "pretty", "tight"])
def test_streamed_rows_equal_the_document_at_any_chunk_size(chunk: int, layout: dict[str, Any]) -> None:
    doc = _doc()
    assert _read(doc, **layout) == _expected(doc)
    assert _read(doc, gzipped=False, **layout) == _expected(doc)


def test_brace_comma_inside_strings_and_nested_values(chunk: int) -> None:
    doc = _doc(hours=1, asins=4)
    doc["reportData"][1]["asin"] = "B0},{X\"},"
    doc["reportData"][2]["note"] = {"nested": {"a": 1}, "b": [{"c": 2}, {"d": 3}]}
    doc["reportSpecification"]["extra"] = "},"
    assert _read(doc) == _expected(doc)


def test_report_data_before_specification_is_read_whole(chunk: int) -> None:
    doc = _doc(hours=1)
    reordered = {"reportData": doc["reportData"], "reportSpecification": doc["reportSpecification"]}
    assert _read(reordered) == _expected(doc)


def test_other_members_before_and_after_report_data_are_allowed(chunk: int) -> None:
    doc = {"version": 12345.5, **_doc(hours=1), "trailer": {"rows": [1, 2, 3]}, "count": 12345}
    assert _read(doc) == _expected(doc)


@pytest.mark.parametrize(("body", "message"), [
    (json.dumps(DOC).encode() + b" {}", "not JSON"),
    (json.dumps(DOC).encode()[:-1] + b', "reportData": []}', "reportData appears twice"),
    (json.dumps(DOC).encode()[:-3] + b",]}", "not JSON"),  # trailing comma in reportData
    (json.dumps(DOC).encode()[:-40], "not JSON"),  # cut short, but valid gzip
    (json.dumps(DOC).encode().replace(b"167.14", b"1" + b"0" * 400), "orderedRevenue is not a number"),
    (json.dumps(DOC).encode().replace(b"167.14", b"NaN"), "orderedRevenue is not a number"),
    (json.dumps(DOC).encode().replace(b"B00ABCD456", b"B00\xff\xfeD456"), "not UTF-8"),
])
def test_streamed_refusals(chunk: int, body: bytes, message: str) -> None:
    with pytest.raises(ReportParseError, match=message):
        _read(body, end=END)


@pytest.mark.parametrize(("path", "value", "message"), [
    ("reportSpecification.reportType", "OTHER", "reportType"),
    ("reportSpecification", _DELETE, "reportSpecification"),
    ("reportSpecification.reportOptions", {}, "currencyCode"),
    ("reportData", _DELETE, "reportData"),
    ("reportData", {"rows": 1}, "reportData"),
    ("reportData.2.asin", "  ", "asin"),
    ("reportData.2.orderedUnits", 1.5, "orderedUnits"),
    ("reportData.2.orderedUnits", True, "orderedUnits"),
    ("reportData.2.orderedRevenue", "12.00", "orderedRevenue"),
    ("reportData.2.startTime", "2022-04-20T19:00:00Z", "endTime is not one hour"),
    ("reportData.2.endTime", "2022-04-20T22:00:00Z", "endTime is not one hour"),
    ("reportData.2.startTime", ["2022-04-20T20:00:00Z"], "startTime"),
    ("reportData.2", [1, 2], "not an object"),
])
def test_streamed_field_refusals(chunk: int, path: str, value: Any, message: str) -> None:
    with pytest.raises(ReportParseError, match=message):
        _read(_broken(path, value), end=END)


def test_a_late_bad_row_raises_only_after_the_good_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "CHUNK", 256)
    doc = _doc(hours=3)
    doc["reportData"][-1]["orderedUnits"] = "7"
    stream = read_sales_document(gzip.compress(json.dumps(doc).encode()), MP, START, WIDE_END)
    seen = []
    with pytest.raises(ReportParseError, match="orderedUnits"):
        for row in stream.rows:
            seen.append(row)
    assert len(seen) == len(doc["reportData"]) - 1


@pytest.mark.parametrize(("raw", "message"), [
    (gzip.compress(json.dumps(DOC).encode())[:-30], "truncated"),
    (b"this is not gzip at all", "not valid gzip"),
])
def test_gzip_problems(chunk: int, raw: bytes, message: str) -> None:
    with pytest.raises(ReportParseError, match=message):
        list(read_sales_document(raw, MP, START, END).rows)


def test_inflated_size_is_capped() -> None:
    raw = gzip.compress(json.dumps(_doc()).encode())
    with pytest.raises(ReportParseError, match="expands beyond"):
        list(read_sales_document(raw, MP, START, WIDE_END, limit=1000).rows)


def test_whole_parser_still_refuses_duplicates_found_by_the_stream(chunk: int) -> None:
    doc = _doc(hours=1, asins=3)
    doc["reportData"].append(copy.deepcopy(doc["reportData"][0]))
    with pytest.raises(ReportParseError, match="duplicate"):
        parse_sales_document(json.dumps(doc).encode(), MP, START, WIDE_END)
