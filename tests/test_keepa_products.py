"""Keepa products under the budget, against a fake Keepa token model on the injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pytest_httpx import HTTPXMock

from rtsales.clock import FrozenClock
from rtsales.config import Settings
from rtsales.errors import ExitCode, KeepaCooldownError, KeepaError, LockBusyError
from rtsales.keepa import status as token_status
from rtsales.keepa.cache import cached_titles
from rtsales.keepa.products import fetch_products, parse_product
from rtsales.keepa.status import from_body
from rtsales.lock import acquire
from rtsales.store import Database, open_db
from tests.conftest import T0
from tests.clocks import SteppingClock
from tests.keepa_fake import BASE, KEY, FakeKeepa, asin


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "rtsales.db"


@pytest.fixture
def db(db_path: Path) -> Database:
    return open_db(db_path)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(KEEPA_API_KEY=KEY)


def rows(db: Database) -> dict[str, tuple[str, int]]:
    return {a: (t, r) for a, t, r in db.conn.execute("SELECT asin, title, sales_rank FROM keepa_products")}


def test_controlled_deficit_sends_cost_80_on_balance_55(httpx_mock: HTTPXMock, db: Database,
                                                        settings: Settings, clock: FrozenClock) -> None:
    fake = FakeKeepa(clock, balance=55).install(httpx_mock)
    report = fetch_products(db, settings, clock, [asin(i) for i in range(80)])
    assert [(s.endpoint, s.cost) for s in fake.seen] == [("token", 0), ("product", 80)]
    assert fake.balance == -25 and report["tokens_spent"] == 80
    assert len(rows(db)) == 80 and rows(db)[asin(3)] == ("Title of B000000003", 1003)
    params = httpx_mock.get_requests()[-1].url.params
    assert (params["domain"], params["stats"], params["history"]) == ("1", "1", "0")


def test_sustained_run_uses_the_refill_rate_without_going_below_one_batch(
        httpx_mock: HTTPXMock, db: Database, settings: Settings) -> None:
    clock = SteppingClock(T0)
    fake = FakeKeepa(clock, balance=60, rate=20).install(httpx_mock)
    report = fetch_products(db, settings, clock, [asin(i) for i in range(2000)])
    products = fake.calls("product")
    assert len(products) == 20 and all(s.status_code == 200 for s in products)
    assert len(fake.calls("token")) == 1  # learnt the plan once, then only projections
    elapsed_min = (products[-1].at - products[0].at).total_seconds() / 60
    used_per_min = sum(s.cost for s in products[:-1]) / elapsed_min
    assert used_per_min >= 0.95 * fake.rate
    assert fake.lowest >= -100
    assert report["fetched"] == 2000 and report["tokens_spent"] == 2000 and len(rows(db)) == 2000


def test_cached_products_cost_nothing_for_24_hours(httpx_mock: HTTPXMock, db: Database, settings: Settings) -> None:
    clock = SteppingClock(T0)
    fake = FakeKeepa(clock, balance=500).install(httpx_mock)
    fetch_products(db, settings, clock, [asin(1), asin(2)])
    clock.advance(timedelta(hours=23))
    again = fetch_products(db, settings, clock, [asin(1), asin(2), asin(3)])
    assert again["cached"] == 2 and again["fetched"] == 1 and again["tokens_spent"] == 1
    assert fake.calls("product")[-1].cost == 1
    clock.advance(timedelta(hours=2))
    later = fetch_products(db, settings, clock, [asin(1)])
    assert later["cached"] == 0 and later["tokens_spent"] == 1
    assert cached_titles(db, [asin(1), asin(3), asin(9)]) == {asin(1): "Title of B000000001",
                                                              asin(3): "Title of B000000003"}


def test_from_sales_takes_the_domains_marketplace_asins(httpx_mock: HTTPXMock, db: Database,
                                                        settings: Settings, clock: FrozenClock) -> None:
    FakeKeepa(clock, balance=500).install(httpx_mock)
    for market, code in (("ATVPDKIKX0DER", asin(1)), ("ATVPDKIKX0DER", asin(2)), ("A1PA6795UKMFR9", asin(3))):
        db.conn.execute("INSERT INTO vendor_realtime_sales VALUES (?, ?, '2026-03-10T00:00:00Z', 1, 1.0, 'USD', "
                        "NULL, 't')", [market, code])
    report = fetch_products(db, settings, clock, from_sales=True, domain="US")
    assert [p["asin"] for p in report["products"]] == [asin(1), asin(2)]
    assert httpx_mock.get_requests()[-1].url.params["asin"] == f"{asin(1)},{asin(2)}"


def test_not_enough_token_cooldown_is_honoured_by_a_second_process(
        httpx_mock: HTTPXMock, db_path: Path, settings: Settings, clock: FrozenClock) -> None:
    first = open_db(db_path)
    token_status.save(first, from_body({"tokensLeft": 500, "refillIn": 0, "refillRate": 20}, T0))
    fake = FakeKeepa(clock, balance=-30).install(httpx_mock)  # someone else spent them
    with pytest.raises(KeepaCooldownError):
        fetch_products(first, settings, clock, [asin(1)])
    assert [s.status_code for s in fake.seen] == [429]
    second = open_db(db_path)  # an independent opening: another process
    with pytest.raises(KeepaCooldownError) as caught:
        fetch_products(second, settings, FrozenClock(T0 + timedelta(seconds=60)), [asin(2)])
    assert caught.value.until == "2026-03-10T12:08:30Z" and caught.value.exit_code == ExitCode.TEMPFAIL
    assert len(fake.seen) == 1  # the second process sent nothing


def test_after_not_enough_token_the_run_waits_out_the_cooldown_then_succeeds(
        httpx_mock: HTTPXMock, db: Database, settings: Settings) -> None:
    clock = SteppingClock(T0)
    token_status.save(db, from_body({"tokensLeft": 500, "refillIn": 0, "refillRate": 20}, T0))
    fake = FakeKeepa(clock, balance=-30).install(httpx_mock)
    report = fetch_products(db, settings, clock, [asin(1)])
    assert [s.status_code for s in fake.seen] == [429, 200]
    assert fake.seen[1].balance_before >= 55  # waited to threshold + 5, not just to positive
    assert report["fetched"] == 1 and report["waited_seconds"] == 270


def test_busy_keepa_lease_means_no_call(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                        clock: FrozenClock) -> None:
    acquire(db, "keepa", "other:1", T0, timedelta(minutes=15))
    with pytest.raises(LockBusyError, match="other:1"):
        fetch_products(db, settings, clock, [asin(1)])
    assert httpx_mock.get_requests() == []


def test_server_errors_are_retried_and_never_show_the_key(httpx_mock: HTTPXMock, db: Database,
                                                          settings: Settings, clock: FrozenClock) -> None:
    for _ in range(3):
        httpx_mock.add_response(url=httpx.URL(f"{BASE}/token", params={"key": KEY}), status_code=503,
                                json={"error": {"message": KEY}})
    with pytest.raises(KeepaError) as caught:
        fetch_products(db, settings, clock, [asin(1)])
    assert "HTTP 503 after retries" in caught.value.message
    assert KEY not in caught.value.message and KEY not in repr(caught.value.__cause__)


def test_rejected_key_is_a_configuration_error(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                               clock: FrozenClock) -> None:
    httpx_mock.add_response(status_code=402, json={"error": {"type": "PAYMENT_REQUIRED", "message": "no plan"},
                                                   "tokensLeft": 0, "refillIn": 1000, "refillRate": 0})
    with pytest.raises(KeepaError) as caught:
        fetch_products(db, settings, clock, [asin(1)])
    assert caught.value.exit_code == ExitCode.CONFIG and "PAYMENT_REQUIRED" in caught.value.message
    assert "KEEPA_API_KEY" in (caught.value.hint or "")


def test_sales_rank_from_stats_or_csv() -> None:
    assert parse_product({"asin": "b000000001", "title": " T ", "stats": {"current": [0, 0, 0, 42]}}, "t") \
        .sales_rank == 42  # type: ignore[union-attr]
    from_csv = parse_product({"asin": "B000000001", "csv": [None, None, None, [1, 7, 2, 9]]}, "t")
    assert from_csv is not None and from_csv.sales_rank == 9 and from_csv.title is None
    assert parse_product({"asin": "B000000001", "stats": {"current": [0, 0, 0, -1]}}, "t").sales_rank is None  # type: ignore[union-attr]
    assert parse_product({"title": "no asin"}, "t") is None
