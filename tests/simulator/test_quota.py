"""Usage plans as token buckets in simulated time."""

from __future__ import annotations

from datetime import timedelta

from rtsales.clock import HOUR, FrozenClock

from .helpers import DE, T0, US, Api

QUOTA_ERROR = {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}


def test_create_report_burst_15_then_one_a_minute(api: Api, clock: FrozenClock) -> None:
    statuses = [api.create(T0 - HOUR, T0).status_code for _ in range(16)]
    assert statuses == [202] * 15 + [429]
    throttled = api.create(T0 - HOUR, T0)
    assert throttled.json() == {"errors": [QUOTA_ERROR]}
    assert "x-amzn-RateLimit-Limit" not in throttled.headers
    clock.advance(timedelta(seconds=59))
    assert api.create(T0 - HOUR, T0).status_code == 429
    clock.advance(timedelta(seconds=1))
    assert api.create(T0 - HOUR, T0).status_code == 202
    assert api.create(T0 - HOUR, T0).status_code == 429


def test_throttled_requests_consume_nothing(api: Api, clock: FrozenClock) -> None:
    for _ in range(15):
        api.create(T0 - HOUR, T0)
    clock.advance(timedelta(seconds=30))
    assert [api.create(T0 - HOUR, T0).status_code for _ in range(5)] == [429] * 5
    clock.advance(timedelta(seconds=30))
    assert api.create(T0 - HOUR, T0).status_code == 202


def test_bucket_is_shared_across_marketplaces(api: Api) -> None:
    for _ in range(15):
        assert api.create(T0 - HOUR, T0, US).status_code == 202
    assert api.create(T0 - HOUR, T0, DE).status_code == 429


def test_bucket_refills_to_burst_only(api: Api, clock: FrozenClock) -> None:
    api.create(T0 - HOUR, T0)
    clock.advance(timedelta(hours=2))
    api.relogin()
    statuses = [api.create(T0 - HOUR, T0 + timedelta(hours=2)).status_code for _ in range(16)]
    assert statuses == [202] * 15 + [429]


def test_get_report_burst_15_then_two_a_second(api: Api, clock: FrozenClock) -> None:
    report_id = api.create(T0 - HOUR, T0).json()["reportId"]
    assert [api.report(report_id).status_code for _ in range(16)] == [200] * 15 + [429]
    clock.advance(timedelta(milliseconds=500))
    assert [api.report(report_id).status_code for _ in range(2)] == [200, 429]
    clock.advance(timedelta(seconds=1))
    assert [api.report(report_id).status_code for _ in range(3)] == [200, 200, 429]
    assert api.report(report_id).headers.get("x-amzn-RateLimit-Limit") is None


def test_get_report_document_has_its_own_bucket(api: Api, clock: FrozenClock) -> None:
    document_id = api.finished_report(T0 - 4 * HOUR, T0)["reportDocumentId"]
    assert [api.document(document_id).status_code for _ in range(16)] == [200] * 15 + [429]
    report_calls = api.sim.log.count("getReport", 200)
    assert report_calls == 1
    clock.advance(timedelta(seconds=60))
    assert api.document(document_id).status_code == 200


def test_unauthorised_requests_consume_nothing(api: Api) -> None:
    for _ in range(20):
        assert api.client.post("/reports/2021-06-30/reports", json={}).status_code == 403
    assert [api.create(T0 - HOUR, T0).status_code for _ in range(15)] == [202] * 15


def test_the_log_counts_each_operation_and_status(api: Api) -> None:
    for _ in range(16):
        api.create(T0 - HOUR, T0)
    assert api.sim.log.count("createReport", 202) == 15
    assert api.sim.log.count("createReport", 429) == 1
    assert api.sim.log.counts()["createReport"] == {"202": 15, "429": 1}
    last = api.sim.log.entries[-1]
    assert (last.operation, last.status, last.fault, last.at) == ("createReport", 429, None, "2024-05-01T12:00:00Z")
    assert api.sim.log.entries[1].marketplace_id == US
