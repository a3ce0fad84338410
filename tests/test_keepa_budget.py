"""Keepa token budget without HTTP: costs, projection, both policies, waits, refusals, cooldowns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from rtsales.clock import FrozenClock
from rtsales.config import Settings
from rtsales.errors import ConfigError, ExitCode, InsufficientTokensError, KeepaCooldownError
from rtsales.keepa import status as token_status
from rtsales.keepa.budget import TokenBudget
from rtsales.keepa.costs import estimate_cost, product_cost
from rtsales.keepa.policy import Policy, decide
from rtsales.keepa.status import TokenStatus, from_body, projected_balance, reached_at
from rtsales.quota import active_cooldown
from rtsales.store import Database, open_db
from tests.conftest import T0
from tests.clocks import SteppingClock
from tests.keepa_fake import KEY

CONTROLLED = Policy("controlled-deficit", threshold=50)
STRICT = Policy("strict", min_balance=10, safety_buffer=20)


def status(tokens: int, *, rate: int = 20, refill_in_ms: int = 30_000, at: object = T0) -> TokenStatus:
    return from_body({"tokensLeft": tokens, "refillIn": refill_in_ms, "refillRate": rate,
                      "tokenFlowReduction": 0.0, "tokensConsumed": 0, "timestamp": 1}, at)  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_db(tmp_path / "k.db")


@pytest.fixture
def keepa_settings(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    return lambda **env: make_settings(KEEPA_API_KEY=KEY, **env)


# -- the seeds' figures ----------------------------------------------------------------


def test_balance_55_cost_80_is_approved_under_controlled_deficit() -> None:
    decision = decide(CONTROLLED, 55, 80)
    assert decision.approved and decision.deficit == 0


def test_balance_55_cost_80_is_refused_under_strict() -> None:
    decision = decide(STRICT, 55, 80)
    assert not decision.approved and not decision.waits
    assert decision.needed == 80 and decision.deficit == 25


def test_controlled_deficit_below_threshold_waits_for_threshold_plus_5() -> None:
    decision = decide(CONTROLLED, 50, 1)
    assert not decision.approved and decision.waits and decision.needed == 55


def test_strict_refuses_under_minimum_and_warns_under_safety_buffer() -> None:
    assert not decide(STRICT, 9, 1).approved
    low = decide(STRICT, 30, 15)
    assert low.approved and low.warning and "safety buffer 20" in low.warning
    assert decide(STRICT, 100, 10).warning is None


def test_caller_buffer_raises_the_threshold_for_that_caller_only() -> None:
    assert decide(CONTROLLED, 60, 10).approved
    upserter = decide(CONTROLLED, 60, 10, caller_buffer=20)
    assert not upserter.approved and upserter.needed == 75
    assert not decide(STRICT, 25, 5, caller_buffer=20).approved


# -- costs -------------------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "count", "options", "cost"), [
    ("product", 100, {}, 100),
    ("product", 3, {"offers": 20}, 3 * 13),
    ("product", 2, {"buybox": True}, 6),
    ("product", 1, {"offers": 40, "buybox": True}, 25),
    ("product", 1, {"offers": 20, "stock": True}, 15),
    ("product", 4, {"rating": True, "update": 0}, 12),
    ("search", 2, {}, 20),
    ("category", 1, {}, 1),
    ("bestsellers", 1, {}, 50),
    ("deal", 1, {}, 5),
    ("query", 250, {}, 13),
    ("seller", 1, {}, 1),
    ("token", 1, {}, 0),
])
def test_cost_estimates(endpoint: str, count: int, options: dict[str, object], cost: int) -> None:
    assert estimate_cost(endpoint, count=count, **options) == cost  # type: ignore[arg-type]


def test_product_requests_hold_at_most_100_asins() -> None:
    with pytest.raises(ValueError, match="1 to 100"):
        product_cost(101)
    with pytest.raises(ValueError, match="unknown Keepa endpoint"):
        estimate_cost("tracking")


# -- projection --------------------------------------------------------------------------


def test_projection_follows_minute_refills_from_refill_in() -> None:
    s = status(30)
    assert projected_balance(s, T0 + timedelta(seconds=29.999)) == 30
    assert projected_balance(s, T0 + timedelta(seconds=30)) == 50
    assert projected_balance(s, T0 + timedelta(seconds=90)) == 70
    assert projected_balance(s, T0 + timedelta(hours=5)) == 1200  # unused tokens expire after an hour
    assert reached_at(s, T0, 55) == T0 + timedelta(seconds=90)
    assert reached_at(s, T0, 1201) is None


def test_status_survives_the_database_and_older_answers_do_not_overwrite(db: Database) -> None:
    token_status.save(db, status(30, at=T0 + timedelta(milliseconds=1500)))
    token_status.save(db, status(999, at=T0))
    loaded = token_status.load(db)
    assert loaded is not None and loaded.tokens_left == 30
    assert loaded.observed_at == T0 + timedelta(milliseconds=1500)


# -- the budget --------------------------------------------------------------------------


def test_wait_until_threshold_plus_5_is_short_not_a_full_refill(
        db: Database, keepa_settings: Callable[..., Settings]) -> None:
    clock = SteppingClock(T0)
    token_status.save(db, status(20))  # 30 under the threshold, 20 tokens a minute
    progress: list[tuple[float, float]] = []
    budget = TokenBudget(db, keepa_settings(), clock, on_wait=lambda _w, done, total: progress.append((done, total)))
    assert budget.clear_to_send("product", 100).approved
    waited = clock.now() - T0
    assert waited == timedelta(seconds=90)  # 2 refills: 30 s to the first, then one minute
    assert waited < timedelta(minutes=2)
    assert projected_balance(status(20), clock.now()) == 60
    refill_to_380 = reached_at(status(20), T0, 380)  # 18 refills
    assert refill_to_380 is not None and refill_to_380 - T0 > timedelta(minutes=17)
    assert progress[0] == (0.0, 90.0) and progress[-1] == (90.0, 90.0)


def test_strict_refusal_carries_balance_cost_endpoint_and_deficit(
        db: Database, keepa_settings: Callable[..., Settings], clock: FrozenClock) -> None:
    token_status.save(db, status(55))
    with pytest.raises(InsufficientTokensError) as caught:
        TokenBudget(db, keepa_settings(KEEPA_POLICY="strict"), clock).clear_to_send("product", 80)
    err = caught.value
    assert (err.current_balance, err.required_tokens, err.endpoint, err.deficit) == (55, 80, "product", 25)
    assert err.exit_code == ExitCode.TEMPFAIL
    assert "enough tokens at 12:08 UTC" in err.message
    assert clock.slept == []  # strict never waits


@pytest.mark.parametrize(("wait", "clock_kind", "phrase"), [
    (False, "stepping", "--no-wait"),
    (True, "frozen", "time is frozen (RTSALES_NOW)"),
])
def test_a_wait_that_may_not_happen_fails_fast_saying_how_long(
        db: Database, keepa_settings: Callable[..., Settings], wait: bool, clock_kind: str, phrase: str) -> None:
    clock = SteppingClock(T0) if clock_kind == "stepping" else FrozenClock(T0)
    token_status.save(db, status(20))
    with pytest.raises(InsufficientTokensError) as caught:
        TokenBudget(db, keepa_settings(), clock, wait=wait).clear_to_send("product", 10)
    assert phrase in caught.value.message and "1m 30s" in caught.value.message
    assert caught.value.deficit == 35
    assert clock.now() == T0


def test_wait_longer_than_the_maximum_is_refused(db: Database, keepa_settings: Callable[..., Settings]) -> None:
    clock = SteppingClock(T0)
    token_status.save(db, status(-500))
    with pytest.raises(InsufficientTokensError, match="over KEEPA_MAX_WAIT_MINUTES"):
        TokenBudget(db, keepa_settings(KEEPA_MAX_WAIT_MINUTES=10), clock).clear_to_send("product", 10)


def test_not_enough_token_sets_cooldown_until_projected_positive(
        db: Database, keepa_settings: Callable[..., Settings], clock: FrozenClock) -> None:
    budget = TokenBudget(db, keepa_settings(), clock)
    until = budget.record_not_enough(status(-30))
    assert until == T0 + timedelta(seconds=90)  # -30 -> -10 -> +10
    cooldown = active_cooldown(db, "keepa", T0)
    assert cooldown is not None and cooldown.until == until and cooldown.reason == "NOT_ENOUGH_TOKEN"
    with pytest.raises(KeepaCooldownError) as caught:
        budget.clear_to_send("product", 1)
    assert caught.value.until == "2026-03-10T12:08:30Z"


def test_keepa_settings_validation(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ConfigError, match="KEEPA_POLICY"):
        make_settings(KEEPA_POLICY="yolo", KEEPA_DEFICIT_THRESHOLD="-1")
    settings = make_settings(KEEPA_POLICY="Strict", KEEPA_DEFICIT_THRESHOLD="0", KEEPA_API_URL="http://127.0.0.1:9/")
    assert settings.keepa_policy == "strict" and settings.keepa_deficit_threshold == 0
    assert settings.keepa_api_url == "http://127.0.0.1:9"
    with pytest.raises(ConfigError, match="KEEPA_API_KEY"):
        settings.require_keepa()
    assert KEY not in repr(make_settings(KEEPA_API_KEY=KEY))
