"""`rtsales keepa balance|products`: exit codes, what reaches Keepa, and what never leaves the process."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock
from typer.testing import CliRunner

from rtsales.cli import app
from rtsales.clock import FrozenClock
from rtsales.keepa import status as token_status
from rtsales.keepa.status import from_body
from rtsales.lock import acquire
from rtsales.store import open_db
from tests.conftest import T0, unstamped
from tests.keepa_fake import BASE, KEY, FakeKeepa, asin

runner = CliRunner()
NOW = "2026-03-10T12:07:00Z"  # T0


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KEEPA_API_KEY", KEY)
    monkeypatch.setenv("RTSALES_NOW", NOW)
    return tmp_path / "k.db"


def seed_status(path: Path, tokens: int, age: timedelta, refill_in_ms: int = 30_000) -> None:
    db = open_db(path)
    token_status.save(db, from_body({"tokensLeft": tokens, "refillIn": refill_in_ms, "refillRate": 20,
                                     "tokenFlowReduction": 0.0, "tokensConsumed": 5}, T0 - age))
    db.conn.close()


def invoke(path: Path, *args: str) -> object:
    return runner.invoke(app, ["--db", str(path), "keepa", *args])


@pytest.mark.parametrize("args", [["balance"], ["products", "B000000001"]])
def test_missing_key_is_a_configuration_error(db_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              httpx_mock: HTTPXMock, args: list[str]) -> None:
    monkeypatch.delenv("KEEPA_API_KEY")
    result = invoke(db_path, *args)
    assert result.exit_code == 78  # type: ignore[attr-defined]
    assert "missing configuration: KEEPA_API_KEY" in result.stderr  # type: ignore[attr-defined]
    assert result.stderr.count("\n") == 1  # type: ignore[attr-defined]
    assert httpx_mock.get_requests() == []


def test_balance_with_a_fresh_status_makes_no_call(db_path: Path, httpx_mock: HTTPXMock) -> None:
    seed_status(db_path, 40, age=timedelta(seconds=59))
    result = invoke(db_path, "balance", "--cost", "80", "--json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert httpx_mock.get_requests() == []
    report = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert report["source"] == "cache" and report["tokens_left"] == 60  # one refill since
    assert report["refill_in_seconds"] == 31 and report["seconds_until_threshold"] == 0
    assert report["can_run_now"] is True and report["wait_seconds"] == 0


def test_balance_with_a_stale_status_asks_the_free_token_endpoint_once(db_path: Path,
                                                                       httpx_mock: HTTPXMock) -> None:
    seed_status(db_path, 40, age=timedelta(seconds=61))
    fake = FakeKeepa(FrozenClock(T0), balance=20).install(httpx_mock)
    result = invoke(db_path, "balance", "--cost", "10", "--json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert [s.endpoint for s in fake.seen] == ["token"]
    report = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert report["source"] == "keepa" and report["tokens_left"] == 20
    assert report["can_run_now"] is False and report["wait_seconds"] == 90  # until 55: two refills
    assert report["seconds_until_threshold"] == 90 and report["run_at_utc"] == "2026-03-10T12:08:30Z"
    assert KEY not in result.output  # type: ignore[attr-defined]


def test_balance_shows_the_projection_when_the_lease_is_busy(db_path: Path, httpx_mock: HTTPXMock) -> None:
    seed_status(db_path, 40, age=timedelta(minutes=5))
    acquire(open_db(db_path), "keepa", "keepa products:999", T0, timedelta(minutes=15))
    result = invoke(db_path, "balance")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "keepa lease busy" in result.stdout and "can run now" in result.stdout  # type: ignore[attr-defined]
    assert httpx_mock.get_requests() == []


def test_strict_refusal_exits_75_before_any_product_call(db_path: Path, httpx_mock: HTTPXMock,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPA_POLICY", "strict")
    seed_status(db_path, 55, age=timedelta(0))
    result = invoke(db_path, "products", *[asin(i) for i in range(80)])
    assert result.exit_code == 75  # type: ignore[attr-defined]
    assert "(cost 80) not sent: the request costs 80 tokens but only 55 are left" in result.stderr  # type: ignore[attr-defined]
    assert httpx_mock.get_requests() == []


def test_frozen_clock_or_no_wait_fails_fast_saying_how_long(db_path: Path, httpx_mock: HTTPXMock) -> None:
    seed_status(db_path, 20, age=timedelta(0))
    frozen = invoke(db_path, "products", asin(1))
    no_wait = invoke(db_path, "products", "--no-wait", asin(1))
    assert frozen.exit_code == no_wait.exit_code == 75  # type: ignore[attr-defined]
    assert "the wait would be 1m 30s and time is frozen" in frozen.stderr  # type: ignore[attr-defined]
    assert "--no-wait: not waiting 1m 30s" in no_wait.stderr  # type: ignore[attr-defined]
    assert httpx_mock.get_requests() == []


def test_not_enough_token_cooldown_stops_the_next_cron_run(db_path: Path, httpx_mock: HTTPXMock) -> None:
    seed_status(db_path, 500, age=timedelta(0), refill_in_ms=0)
    fake = FakeKeepa(FrozenClock(T0), balance=-30).install(httpx_mock)
    first = invoke(db_path, "products", asin(1))
    second = invoke(db_path, "products", asin(2))
    assert first.exit_code == second.exit_code == 75  # type: ignore[attr-defined]
    assert "until 12:08 UTC" in second.stderr  # type: ignore[attr-defined]
    assert [s.status_code for s in fake.seen] == [429]
    balance = json.loads(invoke(db_path, "balance", "--json").stdout)  # type: ignore[attr-defined]
    assert balance["cooldown_until"] == "2026-03-10T12:08:30Z" and balance["can_run_now"] is False


def test_products_report_and_the_key_stays_out_of_output_and_database(db_path: Path, httpx_mock: HTTPXMock) -> None:
    fake = FakeKeepa(FrozenClock(T0), balance=300).install(httpx_mock)
    result = invoke(db_path, "products", "--json", asin(1), asin(2).lower(), asin(1))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    report = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert [p["asin"] for p in report["products"]] == [asin(1), asin(2)]
    assert report["tokens_spent"] == 2 and report["balance"] == 298
    assert [s.cost for s in fake.calls("product")] == [2]
    table = invoke(db_path, "products", asin(1), asin(2))
    assert "2 from cache, 0 fetched" in table.stdout and "0 tokens spent" in table.stdout  # type: ignore[attr-defined]
    for path in db_path.parent.glob("k.db*"):
        assert KEY.encode() not in path.read_bytes()
    assert KEY not in result.output + table.output  # type: ignore[attr-defined]


def test_bad_asin_and_domain_are_usage_errors(db_path: Path, httpx_mock: HTTPXMock) -> None:
    assert invoke(db_path, "products", "nope").exit_code == 2  # type: ignore[attr-defined]
    assert invoke(db_path, "products", "--domain", "XX", asin(1)).exit_code == 2  # type: ignore[attr-defined]
    assert invoke(db_path, "products").exit_code == 2  # type: ignore[attr-defined]
    assert httpx_mock.get_requests() == []


def test_keepa_url_is_overridable(db_path: Path, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPA_API_URL", "http://127.0.0.1:8799/keepa")
    httpx_mock.add_response(json={"tokensLeft": 5, "refillIn": 1000, "refillRate": 5})
    assert invoke(db_path, "balance", "--json").exit_code == 0  # type: ignore[attr-defined]
    assert str(httpx_mock.get_requests()[0].url).startswith("http://127.0.0.1:8799/keepa/token?key=")
    assert BASE not in str(httpx_mock.get_requests()[0].url)


def test_waits_off_a_terminal_print_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    from rtsales import render
    with render.wait_progress() as on_wait:
        for done in (0.0, 30.0, 90.0):
            on_wait("Keepa tokens (55 needed)", done, 90.0)
        on_wait("Keepa cooldown", 0.0, 2.0)  # too short to mention
    assert unstamped(capsys.readouterr().err) == "waiting 1m 30s for Keepa tokens (55 needed)\n"


def test_brazil_is_keepa_domain_12_and_takes_the_brazilian_sales_asins(db_path: Path, httpx_mock: HTTPXMock) -> None:
    db = open_db(db_path)
    db["vendor_realtime_sales"].insert_all([  # type: ignore[union-attr]
        {"marketplace_id": mp, "asin": a, "hour_utc": "2026-03-10T10:00:00Z", "ordered_units": 1,
         "ordered_revenue": 9.5, "currency_code": "BRL", "updated_at": NOW}
        for mp, a in (("A2Q3Y263D00KWC", asin(7)), ("ATVPDKIKX0DER", asin(8)))])
    db.conn.close()
    FakeKeepa(FrozenClock(T0), balance=300).install(httpx_mock)
    by_code = invoke(db_path, "products", "--domain", "BR", "--from-sales", "--json")
    by_number = invoke(db_path, "products", "--domain", "12", asin(9), "--json")
    assert by_code.exit_code == by_number.exit_code == 0, by_code.output  # type: ignore[attr-defined]
    assert json.loads(by_code.stdout)["domain_id"] == 12  # type: ignore[attr-defined]
    products = [r for r in httpx_mock.get_requests() if r.url.path.endswith("/product")]
    assert [(r.url.params["domain"], r.url.params["asin"]) for r in products] == [("12", asin(7)), ("12", asin(9))]


TOKEN_429 = {"tokensLeft": -40, "refillIn": 20_000, "refillRate": 20, "tokenFlowReduction": 0.0,
             "tokensConsumed": 0, "error": {"type": "NOT_ENOUGH_TOKEN"}}


def _cooldowns(path: Path) -> list[tuple[str, str, str]]:
    db = open_db(path)
    try:
        return db.conn.execute("SELECT api, reason, until_utc FROM api_cooldowns").fetchall()
    finally:
        db.conn.close()


@pytest.mark.parametrize("args", [["balance"], ["products", "B000000001"]])
def test_429_on_the_free_token_call_is_a_persisted_cooldown_and_exit_75(
        db_path: Path, httpx_mock: HTTPXMock, args: list[str]) -> None:
    # balance: a stale status makes it ask /token; products: a new database does (to learn the plan)
    if args[0] == "balance":
        seed_status(db_path, 40, age=timedelta(minutes=5))
    httpx_mock.add_response(url=re.compile(re.escape(BASE) + r"/token\?.*"), status_code=429, json=TOKEN_429)
    result = invoke(db_path, *args)
    assert result.exit_code == 75, result.output  # type: ignore[attr-defined]
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output  # type: ignore[attr-defined]
    assert "cooling down" in result.stderr and "until 12:09 UTC" in result.stderr  # type: ignore[attr-defined]
    # 40 tokens short at 20 a minute: two refills, the first 20 s away
    assert _cooldowns(db_path) == [("keepa", "NOT_ENOUGH_TOKEN", "2026-03-10T12:09:20Z")]
    assert [r.url.path for r in httpx_mock.get_requests()] == ["/token"]


def test_after_a_token_429_the_next_runs_honour_the_cooldown_without_calling(
        db_path: Path, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_status(db_path, 40, age=timedelta(minutes=5))
    httpx_mock.add_response(url=re.compile(re.escape(BASE) + r"/token\?.*"), status_code=429, json=TOKEN_429)
    assert invoke(db_path, "balance").exit_code == 75  # type: ignore[attr-defined]
    monkeypatch.setenv("RTSALES_NOW", "2026-03-10T12:08:30Z")  # the stored status is stale, the cooldown not over
    balance = invoke(db_path, "balance", "--json")
    products = invoke(db_path, "products", asin(1))
    assert balance.exit_code == 0, balance.output  # type: ignore[attr-defined]
    report = json.loads(balance.stdout)  # type: ignore[attr-defined]
    assert report["cooldown_until"] == "2026-03-10T12:09:20Z" and report["can_run_now"] is False
    assert report["source"].startswith("projection")
    assert products.exit_code == 75 and "until 12:09 UTC" in products.stderr  # type: ignore[attr-defined]
    assert len(httpx_mock.get_requests()) == 1
