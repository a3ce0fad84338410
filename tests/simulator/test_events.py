"""Injected events and the busier catalogue: stock-outs, suppressions and spikes change their ASIN's
hours only, in every report kind, and the draws are deterministic from the seed."""

from __future__ import annotations

import random
import statistics
from datetime import datetime

import pytest

from rtsales.clock import HOUR, floor_hour
from rtsales.simulator import Demand, Event, SalesTruth, plan_events
from rtsales.simulator.kinds_truth import InventoryTruth, TrafficTruth

from .helpers import DE, T0, US

DAY = [floor_hour(T0) - HOUR * n for n in range(1, 25)][::-1]
START, END = DAY[8], DAY[8] + 4 * HOUR


def _linked(*events: Event, seed: int = 3) -> tuple[SalesTruth, TrafficTruth, InventoryTruth]:
    sales = SalesTruth(seed, demand=Demand(busy_share=1.0), events=events)
    return sales, TrafficTruth(sales), InventoryTruth(sales, stops_sales=False)


def _busy_asin(sales: SalesTruth) -> str:
    return max(sales.catalogue(US), key=lambda asin: sales.rate(US, asin))


Truths = tuple[SalesTruth, TrafficTruth, InventoryTruth]


def _with_event(kind: str, factor: float = 1.0) -> tuple[Truths, str, Truths]:
    """(the truths without events, the busiest US ASIN, the truths with an event on it over START..END)."""
    plain = _linked()
    asin = _busy_asin(plain[0])
    return plain, asin, _linked(Event(kind, US, asin, START, END, factor))


def _everything(truths: Truths, hour: datetime,
                asin: str) -> tuple[object, ...]:
    """Every number of the hour but the event ASIN's stock, which keeps what it did not sell."""
    sales, traffic, inventory = truths
    stock = {a: units for a, units in inventory.final_truth(US, hour).items() if a != asin}
    return (sales.final_truth(US, hour), sales.observed(US, hour, hour + HOUR), traffic.final_truth(US, hour),
            stock, sales.final_truth(DE, hour), inventory.final_truth(DE, hour))


def test_a_stockout_sells_nothing_shows_no_stock_and_keeps_its_shoppers() -> None:
    plain, asin, (sales, traffic, inventory) = _with_event("stockout")
    for hour in DAY:
        inside = START <= hour < END
        assert (asin in sales.final_truth(US, hour)) is not inside, hour
        assert (asin in sales.observed(US, hour, hour + HOUR)) is not inside, hour
        assert (inventory.final_truth(US, hour)[asin] == 0) is inside, hour
        assert traffic.final_truth(US, hour)[asin] == plain[1].final_truth(US, hour)[asin]


def test_a_suppressed_listing_sells_nothing_and_is_not_seen_but_keeps_its_stock() -> None:
    # Stock runs down by what sold: a listing that sells nothing keeps at least the stock it had.
    plain, asin, (sales, traffic, inventory) = _with_event("suppression")
    for hour in DAY:
        inside = START <= hour < END
        assert (asin in sales.final_truth(US, hour)) is not inside, hour
        assert (traffic.final_truth(US, hour).get(asin, 0) == 0) is inside, hour
        assert inventory.final_truth(US, hour)[asin] >= plain[2].final_truth(US, hour)[asin] > 0


def test_a_spike_multiplies_the_units_and_revenue_of_its_hours() -> None:
    plain, asin, (sales, _, _) = _with_event("spike", factor=5.0)
    for hour in DAY:
        before, after = plain[0].final_truth(US, hour)[asin], sales.final_truth(US, hour)[asin]
        times = 5 if START <= hour < END else 1
        assert (after.units, after.revenue_cents) == (before.units * times, before.revenue_cents * times), hour


def test_an_event_changes_only_its_asin_and_its_hours() -> None:
    plain, asin, changed = _with_event("stockout")
    for hour in DAY:
        if START <= hour < END:
            continue
        assert _everything(changed, hour, asin) == _everything(plain, hour, asin), hour
    for hour in (START, END - HOUR):
        others = {a: s for a, s in changed[0].final_truth(US, hour).items()}
        assert others == {a: s for a, s in plain[0].final_truth(US, hour).items() if a != asin}


def test_the_busier_catalogue_sells_every_hour_around_its_expected_units_with_a_daily_shape() -> None:
    sales = SalesTruth(5, demand=Demand(busy_share=1.0), no_sales_rate=0.5)
    asin = _busy_asin(sales)
    units = [sales.final_truth(US, hour).get(asin) for hour in DAY]
    assert all(sales.final_truth(US, hour) for hour in DAY)  # no_sales_rate does not apply
    expected = [sales.expected_units(US, asin, hour) for hour in DAY]
    assert sum(u.units for u in units if u) == pytest.approx(sum(expected), rel=0.25)
    assert max(expected) > 2 * min(expected)  # a quiet night, a busy afternoon
    assert 5 <= sales.rate(US, asin) <= 30


def test_without_demand_rates_are_zero_and_numbers_unchanged() -> None:
    plain, same = SalesTruth(1), SalesTruth(1, events=[Event("spike", DE, "B0XXXXXXXX", START, END, 3.0)])
    assert plain.rate(US, plain.catalogue(US)[0]) == 0 and plain.expected_units(US, plain.catalogue(US)[0], START) == 0
    assert all(plain.final_truth(US, h) == same.final_truth(US, h) for h in DAY)


def test_planned_events_are_deterministic_and_never_overlap_on_one_asin() -> None:
    sales = SalesTruth(9, asins_per_marketplace=6)
    catalogues = {mp: sales.catalogue(mp) for mp in (US, DE)}
    first = plan_events(random.Random(4), catalogues, DAY[0], DAY[0] + 10 * 24 * HOUR, 8)
    assert first == plan_events(random.Random(4), catalogues, DAY[0], DAY[0] + 10 * 24 * HOUR, 8)
    assert len(first) == 16 and {e.kind for e in first} == {"stockout", "suppression", "spike"}
    for a in first:
        assert 2 <= a.hours <= 10 and a.asin in catalogues[a.marketplace_id]
        assert a.end <= DAY[0] + 10 * 24 * HOUR
        twins = [b for b in first if b != a and (b.marketplace_id, b.asin) == (a.marketplace_id, a.asin)]
        assert all(b.end <= a.start or a.end <= b.start for b in twins)
    assert statistics.mean(e.factor for e in first if e.kind == "spike") >= 4


def test_an_event_refuses_an_unknown_kind_or_an_empty_span() -> None:
    with pytest.raises(ValueError, match="kind"):
        Event("outage", US, "B0X", START, END)
    with pytest.raises(ValueError, match="before it ends"):
        Event("spike", US, "B0X", END, START)


def test_stock_follows_an_event_added_after_it_was_first_asked_for() -> None:
    sales, _, inventory = _linked()
    asin = _busy_asin(sales)
    before = inventory.final_truth(US, END + HOUR)[asin]
    sales.add_event(Event("suppression", US, asin, START, END))  # sells nothing for 4 hours: more stock left
    assert inventory.final_truth(US, END + HOUR)[asin] > before
