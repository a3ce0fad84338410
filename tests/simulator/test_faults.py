"""Seeded fault injection: each fault at 1.0 happens, at 0 never, one seed one sequence."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from rtsales.clock import HOUR, FrozenClock
from rtsales.simulator import Faults, Simulator

from .helpers import REPORTS, T0, US, Api, gunzip_json

Check = Callable[[str, Any], None]


@pytest.fixture
def make_api(clock: FrozenClock) -> Iterator[Callable[..., Api]]:
    clients: list[httpx.Client] = []

    def make(faults: Faults, seed: int = 7) -> Api:
        sim = Simulator(seed=seed, clock=clock, faults=faults)
        clients.append(httpx.Client(transport=sim.transport(), base_url="http://127.0.0.1:8765"))
        return Api(clients[-1], clock, sim)

    yield make
    for http in clients:
        http.close()


def _document_id(api: Api) -> str:
    """Run a report to DONE with faults off, then switch the faults back on."""
    faults = api.sim.faults
    api.sim.set_faults(Faults())
    document_id: str = api.finished_report(T0 - 4 * HOUR, T0)["reportDocumentId"]
    api.sim.set_faults(faults)
    return document_id


def test_p429_throttles_reports_calls_and_downloads_but_not_lwa(make_api: Callable[..., Api]) -> None:
    api = make_api(Faults(p429=1.0))
    assert api.login().status_code == 200
    response = api.create(T0 - HOUR, T0)
    assert response.status_code == 429 and response.json()["errors"][0]["code"] == "QuotaExceeded"
    assert api.report("1").status_code == 429 and api.document("x").status_code == 429
    assert api.sim.log.entries[-1].fault == "p429"
    api.sim.set_faults(Faults())
    url = api.document(_document_id(api)).json()["url"]
    api.sim.set_faults(Faults(p429=1.0))
    assert api.client.get(url).status_code == 429


def test_injected_429s_consume_no_tokens(make_api: Callable[..., Api]) -> None:
    api = make_api(Faults(p429=1.0))
    assert all(api.create(T0 - HOUR, T0).status_code == 429 for _ in range(20))
    api.sim.set_faults(Faults())
    assert [api.create(T0 - HOUR, T0).status_code for _ in range(15)] == [202] * 15


def test_p5xx_fails_any_call_with_an_amazon_error(make_api: Callable[..., Api]) -> None:
    api = make_api(Faults(p5xx=1.0))
    login = api.login()
    assert login.status_code in (500, 503) and login.json()["error"]
    statuses = set()
    for _ in range(20):
        response = api.client.post(f"{REPORTS}/reports", json={}, headers={"x-amz-access-token": "x"})
        code = response.json()["errors"][0]["code"]
        assert (response.status_code, code) in {(500, "InternalFailure"), (503, "ServiceUnavailable")}
        statuses.add(response.status_code)
    assert statuses == {500, 503}
    assert {entry.fault for entry in api.sim.log.entries} == {"p5xx"}


def test_p_slow_times_out_in_process_without_sleeping(make_api: Callable[..., Api], clock: FrozenClock) -> None:
    api = make_api(Faults(p_slow=1.0))
    with pytest.raises(httpx.ReadTimeout):
        api.login()
    api.sim.set_faults(Faults())
    headers = api.headers
    api.sim.set_faults(Faults(p_slow=1.0))
    with pytest.raises(httpx.ReadTimeout):
        api.client.post(f"{REPORTS}/reports", headers=headers, json={
            "reportType": "GET_VENDOR_REAL_TIME_SALES_REPORT", "marketplaceIds": ["ATVPDKIKX0DER"],
            "dataStartTime": "2024-05-01T10:00:00Z", "dataEndTime": "2024-05-01T11:00:00Z"})
    assert api.sim.reports.reports, "the slow createReport was still handled"
    assert api.sim.log.entries[-1].fault == "p_slow" and api.sim.log.entries[-1].status == 202
    assert clock.instant == T0 and clock.slept == []


def test_p_truncated_cuts_the_gzip_document(make_api: Callable[..., Api]) -> None:
    api = make_api(Faults(p_truncated=1.0))
    response = api.download(_document_id(api))
    assert response.status_code == 200
    with pytest.raises((EOFError, gzip.BadGzipFile, zlib.error)):
        gzip.decompress(response.content)
    assert api.sim.log.entries[-1].fault == "p_truncated"


def test_p_fatal_ends_reports_fatal_with_an_error_document(make_api: Callable[..., Api]) -> None:
    api = make_api(Faults(p_fatal=1.0))
    report = api.finished_report(T0 - 4 * HOUR, T0)
    assert report["processingStatus"] == "FATAL" and report["reportDocumentId"]
    api.sim.set_faults(Faults())
    document = gunzip_json(api.download(report["reportDocumentId"]).content)
    assert set(document) == {"errorDetails"} and document["errorDetails"]


def test_p_expired_answers_expired_in_time(make_api: Callable[..., Api]) -> None:
    api = make_api(Faults(p_expired=1.0))
    response = api.download(_document_id(api))
    assert response.status_code == 403 and "Request has expired" in response.text
    assert api.sim.log.entries[-1].fault == "p_expired"


def test_no_faults_at_zero(make_api: Callable[..., Api], clock: FrozenClock) -> None:
    api = make_api(Faults())
    for _ in range(5):
        report = api.finished_report(T0 - 4 * HOUR, T0)
        assert report["processingStatus"] == "DONE"
        response = api.download(report["reportDocumentId"])
        assert response.status_code == 200 and gunzip_json(response.content)["reportData"]
        clock.advance(timedelta(minutes=1))
    assert all(entry.fault is None and entry.status < 400 for entry in api.sim.log.entries)


def _fault_sequence(api: Api) -> list[tuple[int, str | None]]:
    for _ in range(40):
        try:
            api.login()
            api.report("1")
        except httpx.ReadTimeout:
            pass
    return [(entry.status, entry.fault) for entry in api.sim.log.entries]


def test_one_seed_gives_one_fault_sequence(make_api: Callable[..., Api]) -> None:
    faults = Faults(p429=0.3, p5xx=0.2, p_slow=0.1)
    first = _fault_sequence(make_api(faults, seed=11))
    assert first == _fault_sequence(make_api(faults, seed=11))
    assert first != _fault_sequence(make_api(faults, seed=12))
    assert {fault for _, fault in first} >= {None, "p429", "p5xx"}


def test_faults_never_touch_the_control_endpoints(make_api: Callable[..., Api]) -> None:
    api = make_api(Faults(p429=1.0, p5xx=1.0, p_slow=1.0, p_expired=1.0, p_truncated=1.0, p_fatal=1.0,
                          p_cancel=1.0, p_400=1.0))
    for _ in range(10):
        assert api.client.get("/_sim/log").status_code == 200
        assert api.client.get("/_sim/clock").status_code == 200


def test_faults_are_validated() -> None:
    with pytest.raises(ValueError):
        Faults(p429=1.5)
    with pytest.raises(ValueError):
        Faults(p5xx=-0.1)
    with pytest.raises(ValueError):
        Faults.from_mapping({"p_oops": 0.5})
    assert Faults.from_mapping({"p429": 1}).as_dict()["p429"] == 1


# -- one seed, one sequence, whatever faults were added later ------------------------------

_LETTERS = {"p429": "t", "p5xx": "x", "p_fatal": "f", "p_expired": "e", "p_truncated": "c",
            "p_cancel": "n", "p_400": "b"}


def _letter(status: int, fault: str | None) -> str:
    if fault and "p_slow" in fault:
        return "s"
    if fault:
        return _LETTERS[fault]
    return "." if status < 400 else str(status)[0]


def _mixed_run(api: Api) -> str:
    """20 rounds of login, createReport, getReport and a download with faults on; a letter per answer."""
    faults = api.sim.faults
    api.sim.set_faults(Faults())
    headers = api.headers
    url = api.document(_document_id(api)).json()["url"]
    api.sim.set_faults(faults)
    for _ in range(20):
        for call in (api.login, lambda: api.create(T0 - 2 * HOUR, T0 - HOUR), lambda: api.report("1"),
                     lambda: api.client.get(url, headers=headers)):
            try:
                call()
            except httpx.ReadTimeout:
                pass
    return "".join(_letter(entry.status, entry.fault) for entry in api.sim.log.entries[4:])


_OLD = dict(p429=0.2, p5xx=0.2, p_slow=0.1, p_fatal=0.5, p_expired=0.3, p_truncated=0.3)
# Recorded before p_cancel and p_400 existed: the same seed must keep giving these answers.
_SEED_11 = "xf4x.t4s.t4..f4s.fx.x.xt.f4t.xtt.f4s.tx..s4.stt..f4c.ftx.tst..t..f4xx.se.xs.xf4x"


def test_existing_seeds_give_the_same_faults_as_before(make_api: Callable[..., Api]) -> None:
    assert _mixed_run(make_api(Faults(**_OLD), seed=11)) == _SEED_11


def test_new_faults_at_zero_change_nothing(make_api: Callable[..., Api]) -> None:
    assert _mixed_run(make_api(Faults(**_OLD, p_cancel=0.0, p_400=0.0), seed=11)) == _SEED_11


def test_p_cancel_leaves_the_other_faults_as_they_were(make_api: Callable[..., Api]) -> None:
    """p_cancel has dice of its own, so switching it on moves no other fault."""
    with_cancel = _mixed_run(make_api(Faults(**_OLD, p_cancel=1.0), seed=11))
    # Each round is login, createReport, getReport, download: every plain 202 of createReport is now p_cancel.
    expected = "".join("n" if index % 4 == 1 and letter == "." else letter for index, letter in enumerate(_SEED_11))
    assert "n" in expected and with_cancel == expected


def test_p_cancel_cancels_a_window_that_has_data(make_api: Callable[..., Api]) -> None:
    api = make_api(Faults(p_cancel=1.0))
    report = api.finished_report(T0 - 4 * HOUR, T0)
    assert report["processingStatus"] == "CANCELLED" and "reportDocumentId" not in report
    assert any(api.sim.truth.observed(US, T0 - HOUR * n, T0) for n in range(1, 5)), "the window has data"
    assert [(e.operation, e.status, e.fault) for e in api.sim.log.entries[1:]] == [
        ("createReport", 202, "p_cancel"), ("getReport", 200, "p_cancel")]
    api.sim.set_faults(Faults())
    assert api.finished_report(T0 - 4 * HOUR, T0)["processingStatus"] == "DONE"


def test_p_cancel_follows_the_seed(make_api: Callable[..., Api], clock: FrozenClock) -> None:
    def outcomes(seed: int) -> list[str]:
        clock.instant = T0
        api = make_api(Faults(p_cancel=0.5), seed=seed)
        return [api.finished_report(T0 - 4 * HOUR, T0)["processingStatus"] for _ in range(12)]

    first = outcomes(11)
    assert first == outcomes(11) and set(first) == {"DONE", "CANCELLED"}
    assert first != outcomes(12)


def test_p_400_answers_amazons_generic_invalid_input(make_api: Callable[..., Api], check: Check) -> None:
    api = make_api(Faults(p_400=1.0))
    for _ in range(20):
        response = api.create(T0 - HOUR, T0)
        assert response.status_code == 400
        assert response.json() == {"errors": [{"code": "400", "message": "Invalid input", "details": "Invalid input"}]}
    check("ErrorList", response.json())
    assert api.sim.reports.reports == {}
    assert api.sim.log.entries[-1].operation == "createReport" and api.sim.log.entries[-1].fault == "p_400"
    assert api.report("1").status_code == 404 and api.login().status_code == 200, "only createReport"
    api.sim.set_faults(Faults())
    assert [api.create(T0 - HOUR, T0).status_code for _ in range(16)] == [202] * 15 + [429]
