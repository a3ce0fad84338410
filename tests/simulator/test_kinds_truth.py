"""Ground truth of traffic and inventory: consistent with the sales, deterministic per seed,
and documents the strict parsers accept."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import Any

import pytest

from rtsales.amazon.document import parse_document, read_document
from rtsales.clock import HOUR, hour_key, iso
from rtsales.kinds import INVENTORY, TRAFFIC
from rtsales.simulator import SalesTruth
from rtsales.simulator.kinds_reports import inventory_document, traffic_document
from rtsales.simulator.kinds_truth import InventoryTruth, TrafficTruth
from rtsales.simulator.reports import gzip_json

from .helpers import DE, SPAPI_DIR, T0, US, schema_errors

DAYS = [T0 - HOUR * n for n in range(1, 5 * 24)][::-1]  # five simulated days, oldest first


def _linked(seed: int = 0, **options: Any) -> tuple[SalesTruth, TrafficTruth, InventoryTruth]:
    sales = SalesTruth(seed, **options)
    return sales, TrafficTruth(sales), InventoryTruth(sales)


@pytest.mark.parametrize("marketplace", [US, DE])
def test_glance_views_are_at_least_the_units_of_every_asin_hour(marketplace: str) -> None:
    sales, traffic, _ = _linked(1)
    checked = 0
    for hour in DAYS:
        settled = hour + HOUR + sales.revision
        for at in (hour, hour + HOUR, hour + HOUR + sales.revision / 2, settled):
            views = traffic.observed(marketplace, hour, at)
            for asin, sold in sales.observed(marketplace, hour, at).items():
                assert views.get(asin, 0) >= sold.units, (hour, at, asin)
                checked += sold.units > 0
        final = traffic.final_truth(marketplace, hour)
        assert all(final.get(asin, 0) >= sold.units for asin, sold in sales.final_truth(marketplace, hour).items())
    assert checked > 500


def test_conversion_varies_by_asin() -> None:
    sales, traffic, _ = _linked(2)
    units: dict[str, int] = {}
    views: dict[str, int] = {}
    for hour in DAYS:
        for asin, sold in sales.final_truth(US, hour).items():
            units[asin] = units.get(asin, 0) + max(sold.units, 0)
        for asin, seen in traffic.final_truth(US, hour).items():
            views[asin] = views.get(asin, 0) + seen
    rates = sorted(units[asin] / views[asin] for asin in units if units[asin])
    assert len(rates) >= 8 and rates[-1] > 2 * rates[0]
    assert len({traffic.conversion(US, asin) for asin in sales.catalogue(US)}) == len(sales.catalogue(US))


@pytest.mark.parametrize("seed", [0, 3])
def test_stock_is_never_negative_runs_down_with_sales_and_is_replenished(seed: int) -> None:
    sales, _, inventory = _linked(seed)
    replenished = 0
    for hour in DAYS:
        stock, after = inventory.stock(US, hour), inventory.stock(US, hour + HOUR)
        assert set(stock) == set(sales.catalogue(US)) and all(units >= 0 for units in stock.values())
        sold = sales.final_truth(US, hour)
        for asin, units in stock.items():
            left = max(0, units - max(0, sold[asin].units if asin in sold else 0))
            full = inventory.capacity(US, asin)
            assert after[asin] in (left, full), (hour, asin)  # sold down, or a delivery filled it up
            replenished += after[asin] > units
    assert replenished > 0


@pytest.mark.parametrize("seed", [0, 1])
def test_an_asin_at_zero_stock_sells_nothing_in_that_hour(seed: int) -> None:
    sales, traffic, inventory = _linked(seed)
    empty = 0
    for hour in DAYS:
        early, final = sales.observed(US, hour, hour + HOUR), sales.final_truth(US, hour)
        for asin, units in inventory.stock(US, hour).items():
            if units == 0:
                empty += 1
                assert asin not in early and asin not in final, (hour, asin)
    assert empty > 10  # the property was really exercised


def test_without_inventory_sales_are_unchanged_and_with_it_they_stop() -> None:
    plain = SalesTruth(4)
    gated_open = SalesTruth(4, stock_gate=lambda marketplace, hour, asin: True)
    assert all(plain.observed(US, h, h + HOUR) == gated_open.observed(US, h, h + HOUR)
               and plain.final_truth(US, h) == gated_open.final_truth(US, h) for h in DAYS)
    linked, _, _ = _linked(4)
    assert any(plain.final_truth(US, h) != linked.final_truth(US, h) for h in DAYS)
    untouched = SalesTruth(4)
    InventoryTruth(untouched, stops_sales=False)
    assert all(plain.final_truth(US, h) == untouched.final_truth(US, h) for h in DAYS)


def test_same_seed_same_numbers_in_any_order_other_seed_differs() -> None:
    _, traffic_a, inventory_a = _linked(5)
    _, traffic_b, inventory_b = _linked(5)
    _, traffic_c, inventory_c = _linked(6)
    forwards = [(traffic_a.final_truth(DE, h), inventory_a.stock(DE, h)) for h in DAYS]
    backwards = [(traffic_b.final_truth(DE, h), inventory_b.stock(DE, h)) for h in reversed(DAYS)][::-1]
    assert forwards == backwards
    assert forwards != [(traffic_c.final_truth(DE, h), inventory_c.stock(DE, h)) for h in DAYS]


def test_traffic_is_revised_late_like_sales() -> None:
    sales, traffic, _ = _linked(0)
    vanished = 0
    for hour in [h for h in DAYS if traffic.final_truth(US, h)][:60]:
        final = traffic.final_truth(US, hour)
        settled = hour + HOUR + sales.revision
        early = traffic.observed(US, hour, hour + HOUR)
        assert early != final and traffic.observed(US, hour, settled - timedelta(seconds=1)) != final
        assert traffic.observed(US, hour, settled) == final == traffic.observed(US, hour, settled + timedelta(days=9))
        assert traffic.observed(US, hour, hour - timedelta(seconds=1)) == {}
        assert set(final) <= set(early) and all(early[asin] >= views for asin, views in final.items())
        vanished += len(set(early) - set(final))
    assert vanished > 0


def test_quiet_windows_have_no_traffic_or_inventory_rows() -> None:
    start = DAYS[30]
    sales, traffic, inventory = _linked(0, quiet_windows=[(start, start + 2 * HOUR)])
    for hour in (start, start + HOUR):
        assert traffic.observed(US, hour, T0) == {} == inventory.observed(US, hour, T0)
        assert sales.final_truth(US, hour) == {}
    assert traffic.observed(US, start + 2 * HOUR, T0) and inventory.observed(US, start + 2 * HOUR, T0)
    assert inventory.observed(US, T0, T0 - timedelta(seconds=1)) == {}


# -- documents, through the strict parsers --------------------------------------------------

def _windows() -> list[tuple[Any, Any, Any]]:
    """(start, end, at): whole days, a ragged window, and one generated before its revisions settled."""
    return [(DAYS[0], DAYS[24], T0), (DAYS[30] + timedelta(minutes=20), DAYS[40] + timedelta(minutes=5), T0),
            (DAYS[-6], DAYS[-1], DAYS[-1] + timedelta(minutes=30))]


@pytest.mark.parametrize("marketplace", [US, DE])
def test_traffic_documents_round_trip_through_the_parser(marketplace: str) -> None:
    _, traffic, _ = _linked(8)
    for start, end, at in _windows():
        document = traffic_document(traffic, marketplace, start, end, at)
        expected = [(hour_key(h), asin, views) for h in DAYS if start <= h and h + HOUR <= end
                    for asin, views in sorted(traffic.observed(marketplace, h, at).items())]
        assert expected and _streamed(document, TRAFFIC, marketplace, start, end) == expected
        assert parse_document(TRAFFIC, json.dumps(document).encode(), marketplace, start, end).rows == expected


@pytest.mark.parametrize("marketplace", [US, DE])
def test_inventory_documents_round_trip_through_the_parser(marketplace: str) -> None:
    sales, _, inventory = _linked(8)
    for start, end, at in _windows():
        document = inventory_document(inventory, marketplace, start, end, at)
        expected = [(hour_key(h), asin, units) for h in DAYS if start <= h and h + HOUR <= end and h <= at
                    for asin, units in sorted(inventory.stock(marketplace, h).items())]
        assert len(expected) >= len(sales.catalogue(marketplace))
        assert _streamed(document, INVENTORY, marketplace, start, end) == expected
        assert parse_document(INVENTORY, json.dumps(document).encode(), marketplace, start, end).rows == expected


def _streamed(document: dict[str, Any], kind: Any, marketplace: str, start: Any, end: Any) -> list[Any]:
    body = gzip_json(document)
    assert gzip.decompress(body)
    return list(read_document(kind, body, marketplace, start, end).rows)


@pytest.mark.skipif(not SPAPI_DIR.is_dir(), reason="shared/spapi not present")
@pytest.mark.parametrize("name", ["vendorRealTimeTrafficReport", "vendorRealTimeInventoryReport"])
def test_documents_fit_amazons_schemas(name: str) -> None:
    schema = json.loads((SPAPI_DIR / f"{name}.json").read_text())
    _, traffic, inventory = _linked(9)
    build = traffic_document if "Traffic" in name else inventory_document
    document = build(traffic if "Traffic" in name else inventory, US, DAYS[0], DAYS[24], T0)  # type: ignore[arg-type]
    assert document["reportData"] and schema_errors(document, schema, schema) == []
    assert set(document["reportSpecification"]) == set(schema["properties"]["reportSpecification"]["required"])
    assert document["reportSpecification"]["dataStartTime"] == iso(DAYS[0])
