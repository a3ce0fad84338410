"""Login with Amazon: the refresh-token grant, and checking the access tokens it issued."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from rtsales.simulator.replies import Reply, json_reply, oauth_error, spapi_error

DEFAULT_CLIENT_ID = "sim-client-id"
DEFAULT_CLIENT_SECRET = "sim-client-secret"
DEFAULT_REFRESH_TOKEN = "sim-refresh-token"
TOKEN_TTL_SECONDS = 3600

_DENIED = "Access to requested resource is denied."


class TokenIssuer:
    """Accepts one client and one refresh token; remembers every access token it issues."""

    def __init__(self, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
                 refresh_token: str = DEFAULT_REFRESH_TOKEN, ttl_seconds: int = TOKEN_TTL_SECONDS) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.ttl = timedelta(seconds=ttl_seconds)
        self._expiry: dict[str, datetime] = {}

    def exchange(self, form: dict[str, str], now: datetime) -> Reply:
        """POST /auth/o2/token with grant_type=refresh_token."""
        if form.get("grant_type") != "refresh_token":
            return oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
            return oauth_error(401, "invalid_client", "Client authentication failed")
        if form.get("refresh_token") != self.refresh_token:
            return oauth_error(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
        token = "Atza|sim-" + secrets.token_urlsafe(24)
        self._expiry[token] = now + self.ttl
        return json_reply(200, {"access_token": token, "token_type": "bearer",
                                "expires_in": int(self.ttl.total_seconds()), "refresh_token": self.refresh_token})

    def check(self, token: str | None, now: datetime) -> Reply | None:
        """None when `token` is a live access token, else the 403 Amazon answers."""
        if not token:
            details = "Access token is missing in the request header."
        elif token not in self._expiry:
            details = "The access token you provided is revoked, malformed or invalid."
        elif now >= self._expiry[token]:
            details = "The access token you provided has expired."
        else:
            return None
        return spapi_error(403, "Unauthorized", _DENIED, details)
