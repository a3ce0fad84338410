"""The strict real-time sales document parser."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from rtsales.amazon.parse import describe_error_document, parse_sales_document
from rtsales.errors import ReportParseError
from tests.conftest import SHARED_SPAPI, at

MP = "ATVPDKIKX0DER"
START, END = at("2022-04-20T20:00:00Z"), at("2022-04-20T21:00:00Z")

DOC: dict[str, Any] = {
    "reportSpecification": {"reportType": "GET_VENDOR_REAL_TIME_SALES_REPORT",
                            "dataStartTime": "2022-04-20T20:00:00Z", "dataEndTime": "2022-04-20T21:00:00Z",
                            "marketplaceIds": [MP], "reportOptions": {"currencyCode": "USD"}},
    "reportData": [
        {"startTime": "2022-04-20T20:00:00Z", "endTime": "2022-04-20T21:00:00Z",
         "asin": "B00ABCD123", "orderedUnits": 1, "orderedRevenue": 167.14},
        {"startTime": "2022-04-20T20:00:00Z", "endTime": "2022-04-20T21:00:00Z",
         "asin": "B00ABCD456", "orderedUnits": 0, "orderedRevenue": 0.0},
        {"startTime": "2022-04-20T20:00:00Z", "endTime": "2022-04-20T21:00:00Z",
         "asin": "B00LMNO147", "orderedUnits": -2, "orderedRevenue": -103.98},
    ],
}


def _parse(doc: Any, start: Any = START, end: Any = END) -> Any:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return parse_sales_document(raw, MP, start, end)


def test_parses_rows_including_zero_and_negative_units() -> None:
    parsed = _parse(DOC)
    assert parsed.currency_code == "USD"
    assert [(r.asin, r.ordered_units, r.ordered_revenue) for r in parsed.rows] == [
        ("B00ABCD123", 1, 167.14), ("B00ABCD456", 0, 0.0), ("B00LMNO147", -2, -103.98)]
    assert {r.hour_utc for r in parsed.rows} == {"2022-04-20T20:00:00Z"}


@pytest.mark.skipif(not SHARED_SPAPI.is_dir(), reason="shared/spapi not present")
def test_amazons_own_example_parses() -> None:
    raw = (SHARED_SPAPI / "vendorRealTimeSalesReport.example.json").read_bytes()
    parsed = parse_sales_document(raw, MP, START, END)
    assert len(parsed.rows) == 7
    assert sum(r.ordered_units for r in parsed.rows) == 6
    assert round(sum(r.ordered_revenue for r in parsed.rows), 2) == 452.63


def test_empty_report_data_is_valid_and_empty() -> None:
    doc = copy.deepcopy(DOC)
    doc["reportData"] = []
    assert _parse(doc).rows == []


def _broken(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    target: Any = doc
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(("path", "value", "message"), [
    ("reportSpecification.reportType", "GET_VENDOR_REAL_TIME_TRAFFIC_REPORT", "reportType"),
    ("reportSpecification", _DELETE, "reportSpecification"),
    ("reportSpecification.marketplaceIds", ["A1PA6795UKMFR9"], "marketplaceIds"),
    ("reportSpecification.reportOptions", {}, "currencyCode"),
    ("reportData", _DELETE, "reportData"),
    ("reportData", {"rows": 1}, "reportData"),
    ("reportData.0.asin", _DELETE, "asin"),
    ("reportData.0.asin", 12345, "asin"),
    ("reportData.0.orderedUnits", "3", "orderedUnits"),
    ("reportData.0.orderedUnits", 1.5, "orderedUnits"),
    ("reportData.0.orderedUnits", True, "orderedUnits"),
    ("reportData.0.orderedRevenue", "12.00", "orderedRevenue"),
    ("reportData.0.orderedRevenue", _DELETE, "orderedRevenue"),
    ("reportData.0.startTime", "2022-04-20T19:00:00Z", "endTime is not one hour"),
    ("reportData.0.startTime", "2022-04-20T20:30:00Z", "startTime"),
    ("reportData.0.startTime", "noon", "startTime"),
    ("reportData.0", "not an object", "not an object"),
])
def test_malformed_documents_raise_with_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(ReportParseError, match=message):
        _parse(_broken(path, value))


def test_rows_outside_the_window_are_refused() -> None:
    doc = copy.deepcopy(DOC)
    doc["reportData"][0]["startTime"] = "2022-04-20T21:00:00Z"
    doc["reportData"][0]["endTime"] = "2022-04-20T22:00:00Z"
    with pytest.raises(ReportParseError, match="outside the requested window"):
        _parse(doc)


def test_duplicate_rows_are_refused() -> None:
    doc = copy.deepcopy(DOC)
    doc["reportData"].append(copy.deepcopy(doc["reportData"][0]))
    with pytest.raises(ReportParseError, match="duplicate"):
        _parse(doc)


@pytest.mark.parametrize(("raw", "message"), [
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"<html><body>Service Unavailable</body></html>", "not JSON"),
    (b"[1, 2, 3]", "top level"),
])
def test_undecodable_bytes(raw: bytes, message: str) -> None:
    with pytest.raises(ReportParseError, match=message) as caught:
        _parse(raw)
    assert "sample:" in caught.value.message


def test_error_document_summary() -> None:
    assert describe_error_document(b'{"errorDetails": "Report generation failed"}') == "Report generation failed"
    assert describe_error_document(b"\x00\xff") != ""
