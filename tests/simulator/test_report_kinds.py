"""The simulator makes all three real-time report types over the same endpoints, from one truth."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import httpx

from rtsales.amazon.document import parse_document
from rtsales.clock import HOUR, FrozenClock, iso
from rtsales.kinds import INVENTORY, SALES, TRAFFIC, Kind
from rtsales.simulator import Simulator
from tests.simulator.helpers import REPORTS, T0, US, Api


def _fetch(sim: Simulator, clock: FrozenClock, kind: Kind, start: object, end: object) -> tuple[str, bytes | None]:
    client = httpx.Client(transport=sim.transport(), base_url="http://127.0.0.1:8765")
    headers = Api(client, clock, sim).headers
    created = client.post(f"{REPORTS}/reports", headers=headers, json={
        "reportType": kind.report_type, "marketplaceIds": [US], "dataStartTime": iso(start), "dataEndTime": iso(end)})
    assert created.status_code == 202, created.text
    clock.advance(timedelta(minutes=5))
    report = client.get(f"{REPORTS}/reports/{created.json()['reportId']}", headers=headers).json()
    assert report["reportType"] == kind.report_type
    if report["processingStatus"] != "DONE":
        return report["processingStatus"], None
    document = client.get(f"{REPORTS}/documents/{report['reportDocumentId']}", headers=headers).json()
    return "DONE", gzip.decompress(client.get(document["url"]).content)


def test_one_truth_for_sales_traffic_and_inventory() -> None:
    clock = FrozenClock(T0)
    sim = Simulator(seed=4, clock=clock)
    start, end = T0 - 8 * HOUR, T0 - 2 * HOUR
    documents = {}
    for kind in (SALES, TRAFFIC, INVENTORY):
        status, body = _fetch(sim, clock, kind, start, end)
        assert status == "DONE" and body is not None
        documents[kind.name] = parse_document(kind, body, US, start, end)
        assert json.loads(body)["reportSpecification"]["reportType"] == kind.report_type
    units = {(r.hour_utc, r.asin): r.ordered_units for r in documents["sales"].rows}
    views = {(r.hour_utc, r.asin): r.glance_views for r in documents["traffic"].rows}
    stock = {(r.hour_utc, r.asin) for r in documents["inventory"].rows}
    assert units and all(views.get(key, 0) >= max(0, n) for key, n in units.items())  # glance views >= orders
    assert {key for key in units} <= stock  # every ASIN that sold has a stock row that hour


def test_sales_numbers_are_unchanged_by_the_other_kinds() -> None:
    start, end = T0 - 6 * HOUR, T0 - 2 * HOUR
    alone, beside = FrozenClock(T0), FrozenClock(T0 - timedelta(minutes=10))
    plain, mixed = Simulator(seed=4, clock=alone), Simulator(seed=4, clock=beside)
    _fetch(mixed, beside, INVENTORY, start, end)
    _fetch(mixed, beside, TRAFFIC, start, end)  # both asked first; sales then asked at the same instant
    assert _fetch(plain, alone, SALES, start, end) == _fetch(mixed, beside, SALES, start, end)
