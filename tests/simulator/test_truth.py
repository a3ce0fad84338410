"""Ground truth: deterministic per seed, hash-based per hour, with quiet hours,
cancellations, zero rows and late revisions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from rtsales.clock import HOUR
from rtsales.simulator import Sales, SalesTruth

from .helpers import DE, T0, US

HOURS = [T0 - HOUR * n for n in range(1, 400)]


def test_same_seed_same_numbers_and_other_seed_differs() -> None:
    a, b, c = SalesTruth(1), SalesTruth(1), SalesTruth(2)
    assert [a.final_truth(US, h) for h in HOURS[:50]] == [b.final_truth(US, h) for h in HOURS[:50]]
    assert [a.final_truth(US, h) for h in HOURS[:50]] != [c.final_truth(US, h) for h in HOURS[:50]]
    assert a.catalogue(US) != c.catalogue(US)


def test_each_hour_is_computed_on_its_own() -> None:
    forwards, backwards = SalesTruth(3), SalesTruth(3)
    first = {h: forwards.final_truth(US, h) for h in HOURS[:30]}
    second = {h: backwards.final_truth(US, h) for h in reversed(HOURS[:30])}
    assert first == second
    assert SalesTruth(3).observed(DE, HOURS[5], T0) == backwards.observed(DE, HOURS[5], T0)


def test_catalogue_is_asin_like_and_sized() -> None:
    truth = SalesTruth(0, asins_per_marketplace=20)
    asins = truth.catalogue(US)
    assert len(asins) == len(set(asins)) == 20
    assert all(re.fullmatch(r"B0[0-9A-Z]{8}", asin) for asin in asins)
    assert set(truth.catalogue(DE)) != set(asins)
    for hour in HOURS[:50]:
        assert set(truth.final_truth(US, hour)) <= set(asins)


def test_hours_without_sales_exist_and_others_have_rows() -> None:
    truth = SalesTruth(0)
    empty = [h for h in HOURS if not truth.final_truth(US, h)]
    assert 0.03 * len(HOURS) < len(empty) < 0.15 * len(HOURS)
    assert all(not truth.has_sales(US, h) and not truth.observed(US, h, h + HOUR) for h in empty)
    assert all(truth.final_truth(US, h) for h in HOURS if truth.has_sales(US, h))


def test_quiet_windows_have_no_sales_anywhere() -> None:
    start = HOURS[10]
    truth = SalesTruth(0, quiet_windows=[(start, start + 3 * HOUR)])
    for hour in (start, start + HOUR, start + 2 * HOUR):
        assert truth.final_truth(US, hour) == {} == truth.final_truth(DE, hour)
        assert truth.observed(US, hour, hour + HOUR) == {}
    assert truth.final_truth(US, start + 3 * HOUR) == SalesTruth(0).final_truth(US, start + 3 * HOUR)
    truth.add_quiet_window(start + 3 * HOUR, start + 4 * HOUR)
    assert truth.final_truth(US, start + 3 * HOUR) == {}


def test_cancellations_zero_rows_and_cent_revenue() -> None:
    truth = SalesTruth(0)
    rows = [sales for hour in HOURS for sales in truth.final_truth(US, hour).values()]
    assert any(s.units < 0 and s.revenue_cents < 0 for s in rows)
    assert any(s == Sales(0, 0) for s in rows)
    assert all(isinstance(s.units, int) and isinstance(s.revenue_cents, int) for s in rows)
    assert all((s.units > 0) == (s.revenue_cents > 0) for s in rows)


def test_observed_differs_until_revision_hours_then_equals_final() -> None:
    truth = SalesTruth(0, revision_hours=3)
    busy = [h for h in HOURS if truth.has_sales(US, h)][:100]
    for hour in busy:
        final = truth.final_truth(US, hour)
        settled = hour + HOUR + timedelta(hours=3)
        assert truth.observed(US, hour, hour + HOUR) != final
        assert truth.observed(US, hour, settled - timedelta(seconds=1)) != final
        assert truth.observed(US, hour, settled) == final
        assert truth.observed(US, hour, settled + timedelta(days=30)) == final
        assert truth.observed(US, hour, hour - timedelta(seconds=1)) == {}


def test_early_numbers_are_higher_and_some_asins_vanish() -> None:
    truth = SalesTruth(0)
    vanished = 0
    for hour in HOURS[:200]:
        early, final = truth.observed(US, hour, hour + HOUR), truth.final_truth(US, hour)
        assert set(final) <= set(early)
        assert all(early[asin].units >= sales.units for asin, sales in final.items())
        vanished += len(set(early) - set(final))
    assert vanished > 0


def test_revision_period_is_configurable() -> None:
    truth = SalesTruth(0, revision_hours=1)
    hour = next(h for h in HOURS if truth.has_sales(US, h))
    assert truth.observed(US, hour, hour + 2 * HOUR) == truth.final_truth(US, hour)


def test_hour_must_be_whole() -> None:
    with pytest.raises(ValueError):
        SalesTruth(0).final_truth(US, T0 + timedelta(minutes=5))
