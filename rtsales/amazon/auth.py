"""Login with Amazon: exchanges the refresh token for an access token and caches it.

The token is kept in memory only (never in the database) until 60 s before it
expires, and is registered as a secret so that no output or stored error shows it.
400/401 answers naming invalid_grant or invalid_client are final and become
configuration errors; timeouts, 429 and 5xx are retried.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import httpx

from rtsales.clock import Clock
from rtsales.config import Settings
from rtsales.errors import AuthError, LoginError
from rtsales.http import TransientHttpError, describe_failure, is_transient, logged_send, retrying
from rtsales.redaction import clip, register

log = logging.getLogger(__name__)

EXPIRY_MARGIN = timedelta(seconds=60)
_CHECK = "check LWA_TOKEN_URL and the LWA_* credentials; cron will try again"


class LwaAuth:
    def __init__(self, settings: Settings, http: httpx.Client, clock: Clock):
        settings.require_spapi()
        assert settings.lwa_client_secret and settings.lwa_refresh_token and settings.lwa_client_id
        self._form = {
            "grant_type": "refresh_token",
            "refresh_token": settings.lwa_refresh_token.get(),
            "client_id": settings.lwa_client_id,
            "client_secret": settings.lwa_client_secret.get(),
        }
        self._url = settings.lwa_token_url
        self._http = http
        self._clock = clock
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self.fetches = 0

    def access_token(self) -> str:
        now = self._clock.now()
        if self._token is None or self._expires_at is None or now >= self._expires_at:
            self._token, lifetime = self._fetch()
            self._expires_at = now + timedelta(seconds=lifetime) - EXPIRY_MARGIN
        return self._token

    def invalidate(self) -> None:
        self._token = None

    def _fetch(self) -> tuple[str, int]:
        try:
            for attempt in retrying(self._clock):
                with attempt:
                    response = self._post()
        except Exception as exc:
            if not is_transient(exc):
                raise
            raise LoginError(f"Login with Amazon failed: {describe_failure(exc)} after retries",
                             hint="Amazon's login service may be down; cron will retry") from None
        self.fetches += 1
        token, lifetime = _token_from(response)
        register(token)
        return token, lifetime

    def _post(self) -> httpx.Response:
        response = logged_send(log, "Login with Amazon", lambda: self._http.post(self._url, data=self._form))
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientHttpError(response)
        if response.status_code in (400, 401):
            raise _rejected(response)
        if response.status_code != 200:
            raise LoginError(f"Login with Amazon answered HTTP {response.status_code}",
                             status=response.status_code, hint=_CHECK)
        return response


def _rejected(response: httpx.Response) -> Exception:
    try:
        code = str(response.json().get("error", ""))
    except (ValueError, AttributeError):  # not JSON, or not an object
        code = ""
    if code == "invalid_grant":
        return AuthError("refresh token rejected by Login with Amazon (invalid_grant)",
                         status=response.status_code, code=code,
                         hint="re-authorise the app in Vendor Central and update LWA_REFRESH_TOKEN")
    if code == "invalid_client":
        return AuthError("client credentials rejected by Login with Amazon (invalid_client)",
                         status=response.status_code, code=code,
                         hint="check LWA_CLIENT_ID and LWA_CLIENT_SECRET")
    return LoginError(f"Login with Amazon answered HTTP {response.status_code} ({clip(code, 80) or 'no error code'})",
                      status=response.status_code, code=code or None, hint=_CHECK)


def _token_from(response: httpx.Response) -> tuple[str, int]:
    try:
        body = response.json()
        # Clamp: a nonsense lifetime must neither overflow the clock nor keep a token for days.
        return str(body["access_token"]), min(max(int(body.get("expires_in", 3600)), 120), 24 * 3600)
    except (ValueError, KeyError, TypeError):
        raise LoginError("Login with Amazon answered 200 without an access token", hint=_CHECK) from None
