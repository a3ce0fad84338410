"""Login with Amazon: form, caching, retries, and the two rejections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from pytest_httpx import HTTPXMock

from rtsales.amazon.auth import LwaAuth
from rtsales.clock import FrozenClock
from rtsales.config import Settings
from rtsales.errors import AuthError, ExitCode, SpApiError
from rtsales.http import build_client

TOKEN_URL = "https://api.amazon.com/auth/o2/token"


def _auth(make_settings: Callable[..., Settings], clock: FrozenClock) -> LwaAuth:
    return LwaAuth(make_settings(), build_client(15), clock)


def test_posts_refresh_token_form_and_caches(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings],
                                             clock: FrozenClock) -> None:
    httpx_mock.add_response(url=TOKEN_URL, json={"access_token": "Atza|one", "expires_in": 3600})
    auth = _auth(make_settings, clock)
    assert auth.access_token() == "Atza|one"
    clock.advance(timedelta(seconds=3600 - 61))
    assert auth.access_token() == "Atza|one"
    request = httpx_mock.get_requests()[0]
    form = parse_qs(request.content.decode())
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == ["Atzr|test-refresh-token-QWER5678"]
    assert form["client_id"] == ["amzn1.application-oa2-client.testclient"]
    assert form["client_secret"] == ["test-client-secret-ZXCV1234"]
    assert request.headers["User-Agent"].startswith("rtsales/")
    assert auth.fetches == 1


def test_refreshes_60_seconds_before_expiry(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings],
                                            clock: FrozenClock) -> None:
    httpx_mock.add_response(url=TOKEN_URL, json={"access_token": "Atza|one", "expires_in": 3600})
    httpx_mock.add_response(url=TOKEN_URL, json={"access_token": "Atza|two", "expires_in": 3600})
    auth = _auth(make_settings, clock)
    auth.access_token()
    clock.advance(timedelta(seconds=3600 - 60))
    assert auth.access_token() == "Atza|two"


@pytest.mark.parametrize("failure", ["429", "500", "503", "timeout", "connect"])
def test_transient_failures_are_retried(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings],
                                        clock: FrozenClock, failure: str) -> None:
    if failure == "timeout":
        httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=TOKEN_URL)
    elif failure == "connect":
        httpx_mock.add_exception(httpx.ConnectError("refused"), url=TOKEN_URL)
    else:
        httpx_mock.add_response(url=TOKEN_URL, status_code=int(failure))
    httpx_mock.add_response(url=TOKEN_URL, json={"access_token": "Atza|ok", "expires_in": 3600})
    assert _auth(make_settings, clock).access_token() == "Atza|ok"
    assert len(clock.slept) == 1 and 1 <= clock.slept[0] <= 10


def test_gives_up_after_three_attempts(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings],
                                       clock: FrozenClock) -> None:
    httpx_mock.add_response(url=TOKEN_URL, status_code=503, is_reusable=True)
    with pytest.raises(SpApiError, match="Login with Amazon failed: HTTP 503"):
        _auth(make_settings, clock).access_token()
    assert len(httpx_mock.get_requests()) == 3


@pytest.mark.parametrize(("status", "error", "variable"), [
    (400, "invalid_grant", "LWA_REFRESH_TOKEN"),
    (401, "invalid_client", "LWA_CLIENT_SECRET"),
])
def test_rejections_are_final_config_errors(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings],
                                            clock: FrozenClock, status: int, error: str, variable: str) -> None:
    httpx_mock.add_response(url=TOKEN_URL, status_code=status, json={"error": error})
    with pytest.raises(AuthError) as caught:
        _auth(make_settings, clock).access_token()
    assert error in caught.value.message
    assert variable in (caught.value.hint or "")
    assert caught.value.exit_code == ExitCode.CONFIG
    assert len(httpx_mock.get_requests()) == 1


def test_other_400_is_not_retried(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings],
                                  clock: FrozenClock) -> None:
    httpx_mock.add_response(url=TOKEN_URL, status_code=400, json={"error": "unsupported_grant_type"})
    with pytest.raises(SpApiError, match="unsupported_grant_type") as caught:
        _auth(make_settings, clock).access_token()
    assert not isinstance(caught.value, AuthError)
    assert len(httpx_mock.get_requests()) == 1


def test_200_without_token(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings],
                           clock: FrozenClock) -> None:
    httpx_mock.add_response(url=TOKEN_URL, json={"token_type": "bearer"})
    with pytest.raises(SpApiError, match="without an access token"):
        _auth(make_settings, clock).access_token()


@pytest.mark.parametrize("lifetime", [10**30, -5, 0])
def test_absurd_token_lifetime_is_clamped(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings],
                                          clock: FrozenClock, lifetime: int) -> None:
    httpx_mock.add_response(url=TOKEN_URL, json={"access_token": "Atza|odd", "expires_in": lifetime})
    httpx_mock.add_response(url=TOKEN_URL, json={"access_token": "Atza|next", "expires_in": 3600})
    auth = _auth(make_settings, clock)
    assert auth.access_token() == "Atza|odd"
    clock.advance(timedelta(days=1))
    assert auth.access_token() == "Atza|next"  # never kept beyond a day
