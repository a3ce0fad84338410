"""Each endpoint's happy path and error paths, in-process with a frozen clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from rtsales.clock import HOUR, FrozenClock, iso
from rtsales.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, Simulator

from .helpers import REPORTS, T0, US, Api, gunzip_json

Check = Callable[[str, Any], None]


def test_lwa_issues_bearer_tokens(api: Api) -> None:
    response = api.login()
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["refresh_token"] == DEFAULT_REFRESH_TOKEN and body["access_token"]
    assert api.login().json()["access_token"] != body["access_token"]


@pytest.mark.parametrize(("overrides", "status", "error"), [
    ({"refresh_token": "wrong"}, 400, "invalid_grant"),
    ({"client_id": "wrong"}, 401, "invalid_client"),
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
])
def test_lwa_rejects_bad_credentials(api: Api, overrides: dict[str, str], status: int, error: str) -> None:
    response = api.login(**overrides)
    assert response.status_code == status
    assert response.json()["error"] == error and response.json()["error_description"]


def test_lwa_credentials_are_constructor_parameters(clock: FrozenClock) -> None:
    sim = Simulator(clock=clock, client_id="id", client_secret="secret", refresh_token="refresh")
    with httpx.Client(transport=sim.transport(), base_url="http://sim") as http:
        form = {"grant_type": "refresh_token", "client_id": "id", "client_secret": "secret"}
        assert http.post("/auth/o2/token", data={**form, "refresh_token": "refresh"}).status_code == 200
        assert http.post("/auth/o2/token", data={**form, "refresh_token": DEFAULT_REFRESH_TOKEN}).status_code == 400
    assert (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET) == ("sim-client-id", "sim-client-secret")


def test_create_report_happy_path(api: Api, check: Check) -> None:
    response = api.create(T0 - 3 * HOUR, T0 - HOUR)
    assert response.status_code == 202
    assert response.json()["reportId"].isdigit()
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    assert response.headers["x-amzn-RequestId"]
    check("CreateReportResponse", response.json())


@pytest.mark.parametrize(("token", "details"), [
    (None, "missing"),
    ("Atza|made-up", "invalid"),
])
def test_reports_calls_need_a_known_token(client: httpx.Client, token: str | None, details: str,
                                          check: Check) -> None:
    headers = {"x-amz-access-token": token} if token else {}
    for response in (client.post(f"{REPORTS}/reports", json={}, headers=headers),
                     client.get(f"{REPORTS}/reports/1", headers=headers),
                     client.get(f"{REPORTS}/documents/1", headers=headers)):
        assert response.status_code == 403
        error = response.json()["errors"][0]
        assert error["code"] == "Unauthorized" and details in error["details"]
        assert "x-amzn-RateLimit-Limit" not in response.headers
        check("ErrorList", response.json())


def test_expired_token_is_refused(api: Api, clock: FrozenClock) -> None:
    headers = api.headers
    clock.advance(timedelta(seconds=3599))
    assert api.create(T0 - HOUR, T0).status_code == 202
    clock.advance(timedelta(seconds=1))
    response = api.client.post(f"{REPORTS}/reports", json={}, headers=headers)
    assert response.status_code == 403
    assert response.json()["errors"][0] == {
        "code": "Unauthorized", "message": "Access to requested resource is denied.",
        "details": "The access token you provided has expired."}


@pytest.mark.parametrize(("change", "fragment"), [
    ({"reportType": "GET_VENDOR_SALES_REPORT"}, "reportType"),
    ({"reportType": "GET_VENDOR_REAL_TIME_TRAFFIC_REPORT", "dataEndTime": iso(T0 - timedelta(minutes=30))},
     "not yet available"),  # traffic: ends 60 minutes before the request at the latest
    ({"reportType": "GET_VENDOR_REAL_TIME_INVENTORY_REPORT", "dataStartTime": iso(T0 - 169 * HOUR),
      "dataEndTime": iso(T0 - 168 * HOUR)}, "out of range"),
    ({"reportType": "GET_VENDOR_REAL_TIME_INVENTORY_REPORT", "dataStartTime": iso(T0 - 49 * HOUR)}, "24 hours"),
    ({"marketplaceIds": [US, "A1PA6795UKMFR9"]}, "exactly one"),
    ({"marketplaceIds": []}, "exactly one"),
    ({"marketplaceIds": ["XXXXXXXX"]}, "marketplace"),
    ({"dataStartTime": None}, "dataStartTime"),
    ({"dataEndTime": "yesterday"}, "dataEndTime"),
    ({"dataStartTime": "2024-05-01T10:00:00"}, "dataStartTime"),
    ({"dataStartTime": iso(T0 - HOUR), "dataEndTime": iso(T0 - HOUR)}, "before"),
    ({"dataStartTime": iso(T0 - HOUR), "dataEndTime": iso(T0 - 2 * HOUR)}, "before"),
    ({"dataStartTime": iso(T0 - HOUR), "dataEndTime": iso(T0 + timedelta(seconds=1))}, "future"),
    ({"dataStartTime": iso(T0 - 25 * HOUR), "dataEndTime": iso(T0)}, "24 hours"),
])
def test_create_report_validation(api: Api, change: dict[str, Any], fragment: str, check: Check) -> None:
    body = {"reportType": "GET_VENDOR_REAL_TIME_SALES_REPORT", "marketplaceIds": [US],
            "dataStartTime": iso(T0 - 2 * HOUR), "dataEndTime": iso(T0 - HOUR)}
    body.update(change)
    response = api.client.post(f"{REPORTS}/reports", json={k: v for k, v in body.items() if v is not None},
                               headers=api.headers)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["code"] == "InvalidInput" and fragment in error["message"]
    check("ErrorList", response.json())


def test_create_report_rejects_a_body_that_is_not_json(api: Api) -> None:
    response = api.client.post(f"{REPORTS}/reports", content=b"{not json", headers=api.headers)
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "InvalidInput"


def test_window_limits(api: Api, clock: FrozenClock) -> None:
    assert api.create(T0 - 24 * HOUR, T0).status_code == 202
    assert api.create(T0 - HOUR, T0).status_code == 202  # end == now is allowed
    sim = Simulator(clock=clock, max_window_hours=2)
    with httpx.Client(transport=sim.transport(), base_url="http://sim") as http:
        small = Api(http, clock, sim)
        assert small.create(T0 - 2 * HOUR, T0).status_code == 202
        assert small.create(T0 - 3 * HOUR, T0).status_code == 400


def test_get_report_and_document_not_found(api: Api, check: Check) -> None:
    for response in (api.report("123"), api.document("amzn1.spdoc.nope")):
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "NotFound"
        check("ErrorList", response.json())


def test_get_report_document_happy_path(api: Api, check: Check) -> None:
    report = api.finished_report(T0 - 3 * HOUR, T0 - HOUR)
    response = api.document(report["reportDocumentId"])
    assert response.status_code == 200
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    body = response.json()
    check("ReportDocument", body)
    assert body["reportDocumentId"] == report["reportDocumentId"] and body["compressionAlgorithm"] == "GZIP"
    assert body["url"].startswith("http://127.0.0.1:8765/_sim/documents/")
    assert "expires=" in body["url"] and "sig=" in body["url"]


def test_unknown_paths_are_404(api: Api) -> None:
    assert api.client.get("/reports/2021-06-30/schedules", headers=api.headers).status_code == 404
    assert api.client.delete(f"{REPORTS}/reports/1", headers=api.headers).status_code == 404


def test_every_response_has_its_own_request_id(api: Api) -> None:
    responses = [api.login(), api.login(refresh_token="x"), api.report("1"), api.client.get("/nowhere")]
    ids = [r.headers["x-amzn-RequestId"] for r in responses]
    assert all(ids) and len(set(ids)) == len(ids)


def test_lwa_accepts_a_json_body_too(client: httpx.Client) -> None:
    body = {"grant_type": "refresh_token", "refresh_token": DEFAULT_REFRESH_TOKEN,
            "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
    assert client.post("/auth/o2/token", json=body).status_code == 200
    assert client.post("/auth/o2/token", json={**body, "refresh_token": "x"}).status_code == 400


def _create(api: Api, **body: Any) -> httpx.Response:
    return api.client.post(f"{REPORTS}/reports", headers=api.headers, json={
        "reportType": "GET_VENDOR_REAL_TIME_SALES_REPORT", "marketplaceIds": [US], **body})


def test_data_end_time_defaults_to_now(api: Api, clock: FrozenClock, sim: Simulator) -> None:
    now = T0 + timedelta(minutes=25)
    clock.instant = now
    response = _create(api, dataStartTime=iso(T0 - 3 * HOUR))
    assert response.status_code == 202, response.text
    clock.advance(timedelta(seconds=90))
    report = api.report(response.json()["reportId"]).json()
    assert (report["processingStatus"], report["dataEndTime"]) == ("DONE", iso(now))
    document = gunzip_json(api.download(report["reportDocumentId"]).content)
    assert document["reportSpecification"]["dataEndTime"] == iso(now)
    done_at = now + timedelta(seconds=90)
    hours = [T0 - n * HOUR for n in (3, 2, 1)]
    expected = {(iso(hour), asin) for hour in hours for asin in sim.truth.observed(US, hour, done_at)}
    assert {(row["startTime"], row["asin"]) for row in document["reportData"]} == expected
    assert max(row["endTime"] for row in document["reportData"]) == iso(T0), "whole hours only"


def test_default_end_still_limits_the_window(api: Api) -> None:
    response = _create(api, dataStartTime=iso(T0 - 25 * HOUR))
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == (
        "The date range between dataStartTime and dataEndTime cannot exceed 24 hours.")


def test_the_three_range_messages_are_exact(api: Api) -> None:
    """Clients classify these messages; their wording is fixed."""
    future = _create(api, dataStartTime=iso(T0 - HOUR), dataEndTime=iso(T0 + HOUR))
    assert future.json()["errors"][0] == {"code": "InvalidInput", "message": (
        "dataEndTime 2024-05-01T13:00:00Z is in the future (now is 2024-05-01T12:00:00Z).")}
    too_long = _create(api, dataStartTime=iso(T0 - 30 * HOUR), dataEndTime=iso(T0))
    assert too_long.json()["errors"][0]["message"] == (
        "The date range between dataStartTime and dataEndTime cannot exceed 24 hours.")
    too_old = _create(api, dataStartTime=iso(T0 - 169 * HOUR), dataEndTime=iso(T0 - 168 * HOUR))
    assert too_old.status_code == 400
    assert too_old.json() == {"errors": [{"code": "InvalidInput", "message": (
        "dataStartTime 2024-04-24T11:00:00Z is out of range: "
        "it may be at most 168 hours before the time of the request.")}]}


def test_data_age_limit(api: Api, clock: FrozenClock) -> None:
    assert _create(api, dataStartTime=iso(T0 - 168 * HOUR), dataEndTime=iso(T0 - 167 * HOUR)).status_code == 202
    sim = Simulator(clock=clock, max_data_age_hours=2.5)
    with httpx.Client(transport=sim.transport(), base_url="http://sim") as http:
        young = Api(http, clock, sim)
        assert young.create(T0 - 2 * HOUR - timedelta(minutes=30), T0 - HOUR).status_code == 202
        response = young.create(T0 - 3 * HOUR, T0 - 2 * HOUR)
        assert response.status_code == 400 and response.json()["errors"][0]["message"] == (
            "dataStartTime 2024-05-01T09:00:00Z is out of range: "
            "it may be at most 2.5 hours before the time of the request.")
    assert [entry.status for entry in sim.log.entries] == [200, 202, 400]
    with pytest.raises(ValueError):
        Simulator(max_data_age_hours=0)
