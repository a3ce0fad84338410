"""xAI ask: the daily cap at its boundary, UTC reset, cache, fallback, errors, lock, secrecy."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock
from sqlite_utils import Database

from rtsales.clock import FrozenClock
from rtsales.config import Settings
from rtsales.errors import (ConfigError, CooldownActiveError, ExitCode, LockBusyError, UsageError,
                            XaiAuthError, XaiCreditsExhaustedError, XaiError, XaiQuotaExhaustedError)
from rtsales.lock import acquire, current
from rtsales.quota import active_cooldown
from rtsales.store import open_db
from rtsales.xai.ask import ask
from rtsales.xai.cache import ProductFacts, cache_key
from rtsales.xai.usage import cache_counters, take_call, usage_for
from tests.conftest import T0, at

URL = "https://api.x.ai/v1/chat/completions"
KEY = "xai-test-key-0123456789abcdef"
TODAY = "2026-03-10"
BOOK = ProductFacts(title="Calculus: Early Transcendentals", category="Books", season="Back to School", price=59.9)
CREDITS = ("Your team abc has either used all available credits or reached its monthly spending limit. "
           "To continue making API requests, please purchase more credits or raise your spending limit.")


def completion(answer: str = "yes, a textbook", model: str = "grok-4.3") -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 3, "total_tokens": 70,
                      "completion_tokens_details": {"reasoning_tokens": 27}}}


@pytest.fixture
def xai_settings(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    def build(**env: Any) -> Settings:
        return make_settings(**{"XAI_API_KEY": KEY, "XAI_DAILY_LIMIT": 3, **env})
    return build


@pytest.fixture
def settings(xai_settings: Callable[..., Settings]) -> Settings:
    return xai_settings()


@pytest.fixture
def db(settings: Settings) -> Database:
    return open_db(settings.db_path)


def use_up(db: Database, n: int, day: str = TODAY) -> None:
    for _ in range(n):
        assert take_call(db, day, 10_000, T0)


def calls(db: Database, day: str = TODAY) -> int:
    return usage_for(db, day).calls


# -- the call itself ---------------------------------------------------------------------------

def test_request_body_headers_and_recorded_usage(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                                 clock: FrozenClock) -> None:
    httpx_mock.add_response(method="POST", url=URL, json=completion())
    result = ask(db, settings, clock, "Is this title a textbook?", BOOK)
    assert (result.answer, result.source, result.model, result.from_cache) == ("yes, a textbook", "xai", "grok-4.3", False)
    request = httpx_mock.get_requests()[0]
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    body = json.loads(request.content)
    assert body["model"] == "grok-4.3" and [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][1]["content"] == ("Is this title a textbook?\nTitle: Calculus: Early Transcendentals\n"
                                              "Category: Books\nSeason: Back to School\nPrice: 59.90")
    usage = usage_for(db, TODAY)
    assert (usage.calls, usage.tokens.prompt, usage.tokens.completion, usage.tokens.reasoning) == (1, 40, 3, 27)
    row = db.conn.execute("SELECT question, answer, model, created_at FROM xai_answer_cache").fetchone()
    assert row == ("Is this title a textbook?", "yes, a textbook", "grok-4.3", "2026-03-10T12:07:00Z")
    assert current(db, "xai") is None  # the lease is released


def test_model_comes_from_xai_model(httpx_mock: HTTPXMock, db: Database, xai_settings: Callable[..., Settings],
                                    clock: FrozenClock) -> None:
    httpx_mock.add_response(url=URL, json=completion(model="grok-9-test"))
    ask(db, xai_settings(XAI_MODEL="grok-9-test"), clock, "Textbook?")
    assert json.loads(httpx_mock.get_requests()[0].content)["model"] == "grok-9-test"


def test_api_url_is_overridable(httpx_mock: HTTPXMock, db: Database, xai_settings: Callable[..., Settings],
                                clock: FrozenClock) -> None:
    httpx_mock.add_response(url="http://127.0.0.1:9/proxy/v1/chat/completions", json=completion())
    assert ask(db, xai_settings(XAI_API_URL="http://127.0.0.1:9/proxy/v1/"), clock, "Textbook?").source == "xai"


def test_empty_question_is_a_usage_error(db: Database, settings: Settings, clock: FrozenClock) -> None:
    with pytest.raises(UsageError):
        ask(db, settings, clock, "   ")


# -- cache ---------------------------------------------------------------------------------------

def test_cache_hit_is_free_and_counted_as_hit(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                             clock: FrozenClock) -> None:
    httpx_mock.add_response(url=URL, json=completion())
    ask(db, settings, clock, "Is this title a textbook?", BOOK)
    same = ProductFacts(title="  CALCULUS:  early transcendentals ", category="books", season="back to school",
                        price=59.90)
    again = ask(db, settings, clock, "is this  title a TEXTBOOK?", same)
    assert (again.source, again.answer, again.model, again.answered_at) == (
        "cache", "yes, a textbook", "grok-4.3", "2026-03-10T12:07:00Z")
    assert len(httpx_mock.get_requests()) == 1
    usage = usage_for(db, TODAY)
    assert (usage.calls, usage.cache_hits, usage.cache_misses) == (1, 1, 1)


def test_hit_needs_no_key_and_works_over_the_cap(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                                 xai_settings: Callable[..., Settings], clock: FrozenClock) -> None:
    httpx_mock.add_response(url=URL, json=completion())
    ask(db, settings, clock, "Textbook?", BOOK)
    use_up(db, 2)
    assert ask(db, xai_settings(XAI_API_KEY=None), clock, "Textbook?", BOOK).source == "cache"
    assert calls(db) == 3


def test_another_question_about_the_same_product_is_a_miss() -> None:
    assert cache_key("Is this a textbook?", BOOK) != cache_key("Is this seasonal?", BOOK)
    assert cache_key("Is this a textbook?", BOOK) != cache_key("Is this a textbook?", ProductFacts(title="Other"))


def test_key_shapes() -> None:
    assert cache_key("Textbook?", BOOK).endswith(
        "|calculus: early transcendentals | books | back to school | 59.90")
    assert cache_key("Textbook?", BOOK).startswith("product:")
    free = cache_key("  Is   Ｃalculus a textbook? ", ProductFacts())
    assert free == cache_key("is calculus a textbook?", ProductFacts()) and free.startswith("prompt:")


def test_cache_counters_per_day(httpx_mock: HTTPXMock, db: Database, settings: Settings, clock: FrozenClock) -> None:
    httpx_mock.add_response(url=URL, json=completion())
    ask(db, settings, clock, "Textbook?")
    clock.advance(timedelta(days=1))
    ask(db, settings, clock, "Textbook?")
    ask(db, settings, clock, "TEXTBOOK?")
    assert cache_counters(db, TODAY) == [{"day": "2026-03-11", "hits": 2, "misses": 0},
                                         {"day": TODAY, "hits": 0, "misses": 1}]


# -- the cap -----------------------------------------------------------------------------------

def test_cap_boundary_last_call_then_none(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                          clock: FrozenClock) -> None:
    use_up(db, 2)
    httpx_mock.add_response(url=URL, json=completion())
    assert ask(db, settings, clock, "Question 3").source == "xai"  # the 3rd of 3 is allowed
    with pytest.raises(XaiQuotaExhaustedError) as caught:
        ask(db, settings, clock, "Question 4")
    assert caught.value.exit_code == ExitCode.TEMPFAIL
    assert "daily limit of 3" in caught.value.message and "11h 53m" in (caught.value.hint or "")
    assert len(httpx_mock.get_requests()) == 1 and calls(db) == 3


def test_cap_resets_at_utc_midnight(httpx_mock: HTTPXMock, db: Database, settings: Settings) -> None:
    clock = FrozenClock(at("2026-03-10T23:59:59Z"))
    use_up(db, 3)
    with pytest.raises(XaiQuotaExhaustedError, match="2026-03-10"):
        ask(db, settings, clock, "Late question")
    clock.advance(timedelta(seconds=1))
    httpx_mock.add_response(url=URL, json=completion())
    assert ask(db, settings, clock, "Late question").source == "xai"
    assert (calls(db, TODAY), calls(db, "2026-03-11")) == (3, 1)


def test_fallback_when_cap_reached(httpx_mock: HTTPXMock, db: Database, xai_settings: Callable[..., Settings],
                                   clock: FrozenClock) -> None:
    use_up(db, 3)
    result = ask(db, xai_settings(XAI_FALLBACK_ANSWER="no"), clock, "Textbook?", BOOK)
    assert (result.answer, result.source, result.model) == ("no", "fallback", None)
    assert "daily limit of 3" in (result.fallback_reason or "")
    assert not httpx_mock.get_requests()
    assert usage_for(db, TODAY).fallbacks == 1 and calls(db) == 3
    assert db.conn.execute("SELECT COUNT(*) FROM xai_answer_cache").fetchone()[0] == 0  # never cached


def test_threads_racing_for_the_last_call_one_wins(settings: Settings, db: Database) -> None:
    use_up(db, 2)
    barrier = threading.Barrier(8)
    won: list[bool] = []

    def racer() -> None:
        own = open_db(settings.db_path)  # each racer has its own connection, like a process
        barrier.wait()
        won.append(take_call(own, TODAY, 3, T0))
        own.conn.close()

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won) == [False] * 7 + [True]
    assert calls(db) == 3


# -- errors ------------------------------------------------------------------------------------

def test_rate_limit_429_is_retried_with_bounded_backoff(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                                         clock: FrozenClock) -> None:
    httpx_mock.add_response(url=URL, status_code=429, json={"error": {"message": "Rate limit exceeded"}})
    httpx_mock.add_response(url=URL, json=completion())
    assert ask(db, settings, clock, "Textbook?").source == "xai"
    assert len(httpx_mock.get_requests()) == 2 and calls(db) == 1
    assert len(clock.slept) == 1 and 1 <= clock.slept[0] <= 10


def test_rate_limit_429_gives_up_and_gives_the_call_back(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                                         clock: FrozenClock) -> None:
    for _ in range(3):
        httpx_mock.add_response(url=URL, status_code=429, json={"error": {"message": "Rate limit exceeded"}})
    with pytest.raises(XaiError, match="rate limit") as caught:
        ask(db, settings, clock, "Textbook?")
    assert caught.value.exit_code == ExitCode.TEMPFAIL
    assert len(httpx_mock.get_requests()) == 3 and len(clock.slept) == 2 and all(s <= 10 for s in clock.slept)
    assert calls(db) == 0 and active_cooldown(db, "xai", T0) is None


@pytest.mark.parametrize("status", [429, 403])
def test_credits_exhausted_is_not_retried_and_cools_down(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                                         clock: FrozenClock, status: int) -> None:
    httpx_mock.add_response(url=URL, status_code=status, json=CREDITS)
    with pytest.raises(XaiCreditsExhaustedError) as caught:
        ask(db, settings, clock, "Textbook?")
    assert caught.value.exit_code == ExitCode.TEMPFAIL
    assert "credits are used up" in caught.value.message and "until 12:37 UTC" in caught.value.message
    assert len(httpx_mock.get_requests()) == 1 and not clock.slept and calls(db) == 0
    cooldown = active_cooldown(db, "xai", T0)
    assert cooldown is not None and cooldown.until == at("2026-03-10T12:37:00Z")
    with pytest.raises(CooldownActiveError, match="cooling down until 12:37 UTC"):
        ask(db, settings, clock, "Another question")  # persisted: no request at all
    assert len(httpx_mock.get_requests()) == 1


def test_credits_exhausted_with_fallback(httpx_mock: HTTPXMock, db: Database, xai_settings: Callable[..., Settings],
                                         clock: FrozenClock) -> None:
    httpx_mock.add_response(url=URL, status_code=429, json={"code": "x", "error": CREDITS})
    result = ask(db, xai_settings(XAI_FALLBACK_ANSWER="no"), clock, "Textbook?")
    assert result.source == "fallback" and "credits" in (result.fallback_reason or "")


def test_missing_key_is_a_config_error_before_any_call(httpx_mock: HTTPXMock, db: Database,
                                                       xai_settings: Callable[..., Settings], clock: FrozenClock) -> None:
    with pytest.raises(ConfigError, match="XAI_API_KEY") as caught:
        ask(db, xai_settings(XAI_API_KEY=None), clock, "Textbook?")
    assert caught.value.exit_code == ExitCode.CONFIG
    assert not httpx_mock.get_requests() and calls(db) == 0
    assert db.conn.execute("SELECT COUNT(*) FROM xai_daily_usage").fetchone()[0] == 0  # not even a miss


@pytest.mark.parametrize(("status", "body"), [
    (401, {"error": "Invalid token"}),
    (400, {"code": "Client specified an invalid argument",
           "error": "Incorrect API key provided: xa***ef. You can obtain an API key from the console."}),
    (403, {"error": "Your API key does not have permission"}),
])
def test_bad_key_is_a_config_error(httpx_mock: HTTPXMock, db: Database, settings: Settings, clock: FrozenClock,
                                   status: int, body: dict[str, str]) -> None:
    httpx_mock.add_response(url=URL, status_code=status, json=body)
    with pytest.raises(XaiAuthError) as caught:
        ask(db, settings, clock, "Textbook?")
    assert caught.value.exit_code == ExitCode.CONFIG and "XAI_API_KEY" in caught.value.message
    assert "xa***ef" not in caught.value.message  # xAI's echo of the key is not repeated
    assert len(httpx_mock.get_requests()) == 1 and calls(db) == 0


def test_server_errors_after_retries_keep_the_call(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                                   clock: FrozenClock) -> None:
    for _ in range(3):
        httpx_mock.add_response(url=URL, status_code=503)
    with pytest.raises(XaiError, match="HTTP 503 after retries"):
        ask(db, settings, clock, "Textbook?")
    assert calls(db) == 1  # xAI may have done (and billed) the work


def test_connection_never_opened_gives_the_call_back(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                                     clock: FrozenClock) -> None:
    for _ in range(3):
        httpx_mock.add_exception(httpx.ConnectError("refused"), url=URL)
    with pytest.raises(XaiError, match="connection failed"):
        ask(db, settings, clock, "Textbook?")
    assert calls(db) == 0


def test_answer_without_content_counts_and_is_not_cached(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                                         clock: FrozenClock) -> None:
    httpx_mock.add_response(url=URL, json={"choices": []})
    with pytest.raises(XaiError, match="without an answer"):
        ask(db, settings, clock, "Textbook?")
    assert calls(db) == 1 and db.conn.execute("SELECT COUNT(*) FROM xai_answer_cache").fetchone()[0] == 0


def test_busy_lock_gives_the_call_back(httpx_mock: HTTPXMock, db: Database, settings: Settings,
                                       clock: FrozenClock) -> None:
    assert acquire(db, "xai", "other:123", T0, timedelta(minutes=15)).acquired
    with pytest.raises(LockBusyError, match="other:123") as caught:
        ask(db, settings, clock, "Textbook?")
    assert caught.value.exit_code == ExitCode.TEMPFAIL
    assert not httpx_mock.get_requests() and calls(db) == 0
    assert current(db, "xai") == ("other:123", "2026-03-10T12:22:00Z")  # not ours to release


def test_key_is_never_stored(httpx_mock: HTTPXMock, db: Database, settings: Settings, clock: FrozenClock) -> None:
    httpx_mock.add_response(url=URL, json=completion())
    ask(db, settings, clock, "Textbook?", BOOK)
    assert KEY not in "\n".join(db.conn.iterdump())
    assert KEY not in repr(settings)


# -- configuration and schema -----------------------------------------------------------------

def test_xai_defaults_and_validation() -> None:
    from rtsales.config import load_settings
    settings = load_settings(environ={})
    assert (settings.xai_api_url, settings.xai_daily_limit, settings.xai_fallback_answer) == (
        "https://api.x.ai/v1", 1000, None)
    assert settings.xai_model and settings.xai_api_key is None
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"XAI_API_URL": "http://proxy.example.com/v1", "XAI_DAILY_LIMIT": "0"})
    assert "XAI_API_URL" in caught.value.message and "XAI_DAILY_LIMIT" in caught.value.message
    assert load_settings(environ={"XAI_API_URL": "http://localhost:8080/v1/"}).xai_api_url == "http://localhost:8080/v1"


def test_usage_row_never_goes_negative(db: Database) -> None:
    from rtsales.xai.usage import give_back
    give_back(db, TODAY, T0)
    assert take_call(db, TODAY, 3, T0)
    give_back(db, TODAY, T0)
    give_back(db, TODAY, T0)
    assert calls(db) == 0
