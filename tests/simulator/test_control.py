"""The /_sim/ control endpoints, in-process."""

from __future__ import annotations

from datetime import timedelta

import httpx

from rtsales.clock import HOUR, FrozenClock, SystemClock, iso
from rtsales.simulator import Faults, Simulator

from .helpers import T0, US, Api


def test_clock_can_be_read_set_and_advanced(api: Api, clock: FrozenClock) -> None:
    assert api.client.get("/_sim/clock").json() == {"now": iso(T0)}
    later = T0 + timedelta(hours=5)
    assert api.client.post("/_sim/clock", json={"now": iso(later)}).json() == {"now": iso(later)}
    assert clock.now() == later
    api.client.post("/_sim/clock", json={"advance_seconds": 90})
    assert clock.now() == later + timedelta(seconds=90)
    assert api.client.post("/_sim/clock", json={"now": "soon"}).status_code == 400
    assert api.client.post("/_sim/clock", json={}).status_code == 400


def test_setting_a_running_clock_keeps_it_running() -> None:
    sim = Simulator(clock=SystemClock())
    sim.set_now(T0)
    assert abs((sim.now() - T0).total_seconds()) < 5
    sim.set_now(T0 + HOUR)
    assert abs((sim.now() - T0 - HOUR).total_seconds()) < 5
    assert not sim.clock.frozen


def test_faults_are_replaced_as_a_whole(api: Api, sim: Simulator) -> None:
    sim.set_faults(Faults(p5xx=0.5, p_slow=0.2))
    response = api.client.post("/_sim/faults", json={"p429": 0.25})
    assert response.status_code == 200
    assert sim.faults == Faults(p429=0.25)
    assert api.client.get("/_sim/faults").json()["p429"] == 0.25
    assert api.client.post("/_sim/faults", json={"p429": 2}).status_code == 400
    assert api.client.post("/_sim/faults", json={"bogus": 1}).status_code == 400
    assert api.client.post("/_sim/faults", content=b"[]").status_code == 400
    assert sim.faults == Faults(p429=0.25)
    assert api.client.post("/_sim/faults", json={"p_cancel": 0.5, "p_400": 1}).status_code == 200
    assert sim.faults == Faults(p_cancel=0.5, p_400=1.0)
    assert api.client.get("/_sim/faults").json()["p_400"] == 1


def test_log_lists_every_request(api: Api) -> None:
    api.create(T0 - HOUR, T0)
    body = api.client.get("/_sim/log").json()
    operations = [entry["operation"] for entry in body["entries"]]
    assert operations == ["lwa", "createReport"]  # this very request is logged after it is answered
    assert api.sim.log.entries[-1].operation == "control"
    assert body["entries"][1]["marketplace_id"] == US and body["entries"][1]["at"] == iso(T0)
    assert body["counts"]["createReport"] == {"202": 1}


def test_truth_endpoint_gives_final_and_observed(api: Api, sim: Simulator) -> None:
    hour = T0 - 3 * HOUR
    body = api.client.get("/_sim/truth", params={"marketplace_id": US, "hour": iso(hour)}).json()
    final = sim.truth.final_truth(US, hour)
    assert {row["asin"]: row["orderedUnits"] for row in body["final"]} == {a: s.units for a, s in final.items()}
    assert {row["asin"]: row["revenueCents"] for row in body["final"]} == {
        a: s.revenue_cents for a, s in final.items()}
    assert "observed" not in body
    body = api.client.get("/_sim/truth", params={"marketplace_id": US, "hour": iso(hour), "at": iso(T0)}).json()
    assert {row["asin"] for row in body["observed"]} == set(sim.truth.observed(US, hour, T0))


def test_bad_control_requests(client: httpx.Client) -> None:
    assert client.get("/_sim/truth", params={"marketplace_id": "nope", "hour": iso(T0)}).status_code == 400
    assert client.get("/_sim/truth", params={"marketplace_id": US, "hour": "2024-05-01T10:30:00Z"}).status_code == 400
    assert client.get("/_sim/nothing").status_code == 404
