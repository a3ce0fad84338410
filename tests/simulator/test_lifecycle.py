"""Report lifecycle, CANCELLED windows, document contents and the pre-signed URL."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from rtsales.clock import HOUR, FrozenClock, iso
from rtsales.simulator import Sales, Simulator

from .helpers import DE, T0, US, Api, gunzip_json, schema_errors

Check = Callable[[str, Any], None]


def _status_after(api: Api, report_id: str, seconds: float) -> dict[str, Any]:
    api.clock.instant = T0 + timedelta(seconds=seconds)
    report: dict[str, Any] = api.report(report_id).json()
    return report


def test_in_queue_then_in_progress_then_done(api: Api, check: Check) -> None:
    report_id = api.create(T0 - 3 * HOUR, T0 - HOUR).json()["reportId"]
    seen = {seconds: _status_after(api, report_id, seconds) for seconds in (0, 29, 30, 89, 90, 3599)}
    assert [seen[s]["processingStatus"] for s in (0, 29, 30, 89, 90, 3599)] == [
        "IN_QUEUE", "IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS", "DONE", "DONE"]
    assert "processingStartTime" not in seen[0] and "reportDocumentId" not in seen[89]
    assert seen[30]["processingStartTime"] == iso(T0 + timedelta(seconds=30))
    done = seen[90]
    assert done["processingEndTime"] == iso(T0 + timedelta(seconds=90))
    assert done == seen[3599]
    assert done["reportId"] == report_id and done["marketplaceIds"] == [US]
    assert (done["dataStartTime"], done["dataEndTime"], done["createdTime"]) == (
        iso(T0 - 3 * HOUR), iso(T0 - HOUR), iso(T0))
    for report in seen.values():
        check("Report", report)


def test_queue_and_processing_times_are_configurable(clock: FrozenClock) -> None:
    sim = Simulator(seed=7, clock=clock, queue_seconds=5, processing_seconds=10)
    with httpx.Client(transport=sim.transport(), base_url="http://sim") as http:
        api = Api(http, clock, sim)
        report_id = api.create(T0 - 3 * HOUR, T0 - HOUR).json()["reportId"]
        assert [_status_after(api, report_id, s)["processingStatus"] for s in (4, 5, 10)] == [
            "IN_QUEUE", "IN_PROGRESS", "DONE"]
    with pytest.raises(ValueError):
        Simulator(queue_seconds=60, processing_seconds=30)


def test_a_window_without_sales_is_cancelled(clock: FrozenClock, check: Check) -> None:
    quiet_start = T0 - 6 * HOUR
    sim = Simulator(seed=7, clock=clock, quiet_windows=[(quiet_start, quiet_start + 2 * HOUR)])
    with httpx.Client(transport=sim.transport(), base_url="http://sim") as http:
        api = Api(http, clock, sim)
        report = api.finished_report(quiet_start, quiet_start + 2 * HOUR)
        assert report["processingStatus"] == "CANCELLED" and "reportDocumentId" not in report
        assert report["processingEndTime"] == iso(T0 + timedelta(seconds=90))
        check("Report", report)
        assert api.finished_report(quiet_start, quiet_start + 3 * HOUR)["processingStatus"] == "DONE"


def test_a_window_shorter_than_a_whole_hour_is_cancelled(api: Api) -> None:
    report = api.finished_report(T0 - timedelta(minutes=90), T0 - timedelta(minutes=31))
    assert report["processingStatus"] == "CANCELLED"


def test_document_is_gzip_without_content_encoding_and_fits_amazons_schema(
        api: Api, sales_schema: dict[str, Any]) -> None:
    report = api.finished_report(T0 - 4 * HOUR, T0, DE)
    response = api.download(report["reportDocumentId"])
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content[:2] == b"\x1f\x8b"
    document = gunzip_json(response.content)
    assert schema_errors(document, sales_schema, sales_schema) == []
    assert document["reportSpecification"]["reportOptions"] == {"currencyCode": "EUR"}
    assert document["reportSpecification"]["marketplaceIds"] == [DE]
    revenues = [row["orderedRevenue"] for row in document["reportData"]]
    assert all(round(value, 2) == value for value in revenues)


def test_the_validator_can_fail(sales_schema: dict[str, Any]) -> None:
    row = {"startTime": "x", "endTime": "y", "asin": "B0", "orderedUnits": 1.5}
    document = {"reportSpecification": {"reportType": "OTHER"}, "reportData": [row]}
    errors = schema_errors(document, sales_schema, sales_schema)
    assert any("orderedUnits" in e for e in errors) and any("orderedRevenue" in e for e in errors)
    assert any("OTHER" in e for e in errors) and any("reportOptions" in e for e in errors)


def _rows_to_truth(document: dict[str, Any]) -> dict[tuple[str, str], Sales]:
    return {(row["startTime"], row["asin"]): Sales(row["orderedUnits"], round(row["orderedRevenue"] * 100))
            for row in document["reportData"]}


def test_document_holds_the_numbers_as_of_the_done_instant(api: Api, sim: Simulator) -> None:
    start, end = T0 - 3 * HOUR, T0
    report_id = api.create(start, end).json()["reportId"]
    api.clock.advance(timedelta(hours=6))  # polled long after DONE, when every hour has settled
    api.relogin()
    document = gunzip_json(api.download(api.report(report_id).json()["reportDocumentId"]).content)
    done_at = T0 + timedelta(seconds=90)
    expected = {(iso(h), asin): sales for h in (start, start + HOUR, start + 2 * HOUR)
                for asin, sales in sim.truth.observed(US, h, done_at).items()}
    final = {(iso(h), asin): sales for h in (start, start + HOUR, start + 2 * HOUR)
             for asin, sales in sim.truth.final_truth(US, h).items()}
    assert _rows_to_truth(document) == expected
    assert expected != final
    rows = document["reportData"]
    assert all(row["endTime"] == iso(T0 - HOUR * (2 - i)) for i in range(3)
               for row in rows if row["startTime"] == iso(start + i * HOUR))


def test_only_whole_hours_inside_the_window_are_reported(api: Api) -> None:
    report = api.finished_report(T0 - timedelta(hours=7, minutes=30), T0 - timedelta(hours=3, minutes=30))
    document = gunzip_json(api.download(report["reportDocumentId"]).content)
    hours = sorted({row["startTime"] for row in document["reportData"]})
    assert hours == [iso(T0 - 7 * HOUR), iso(T0 - 6 * HOUR), iso(T0 - 5 * HOUR)]


def test_download_url_expires_after_five_minutes(api: Api, clock: FrozenClock) -> None:
    document_id = api.finished_report(T0 - 4 * HOUR, T0)["reportDocumentId"]
    url = api.document(document_id).json()["url"]
    clock.advance(timedelta(seconds=300))
    assert api.client.get(url).status_code == 200
    clock.advance(timedelta(seconds=1))
    expired = api.client.get(url)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.text
    fresh = api.document(document_id).json()["url"]
    assert api.client.get(fresh).status_code == 200


def test_download_needs_the_signature_but_no_token(api: Api) -> None:
    url = api.document(api.finished_report(T0 - 4 * HOUR, T0)["reportDocumentId"]).json()["url"]
    with httpx.Client(transport=api.sim.transport()) as anonymous:
        assert anonymous.get(url).status_code == 200
        assert anonymous.get(url.replace("sig=", "sig=0")).status_code == 403
        assert "SignatureDoesNotMatch" in anonymous.get(url.split("?")[0]).text


def test_document_url_points_back_at_the_host_that_was_asked(api: Api, sim: Simulator) -> None:
    document_id = api.finished_report(T0 - 4 * HOUR, T0)["reportDocumentId"]
    with httpx.Client(transport=sim.transport(), base_url="https://sim.example:9443") as other:
        body = other.get(f"/reports/2021-06-30/documents/{document_id}", headers=api.headers).json()
    assert body["url"].startswith("https://sim.example:9443/_sim/documents/")


def test_documents_are_byte_identical_across_runs() -> None:
    contents = []
    for _ in range(2):
        clock = FrozenClock(T0)
        sim = Simulator(seed=7, clock=clock)
        with httpx.Client(transport=sim.transport(), base_url="http://sim") as http:
            api = Api(http, clock, sim)
            contents.append(api.download(api.finished_report(T0 - 4 * HOUR, T0)["reportDocumentId"]).content)
    assert contents[0] == contents[1]
    assert gzip.decompress(contents[0])
