"""The Keepa HTTP client: every request cleared by the TokenBudget, every answer's status recorded.

The key travels in the query string, so nothing here ever puts a URL or an
httpx exception into a message: failures are described by endpoint, status and
exception class only. 5xx and timeouts are retried a bounded number of times;
429 NOT_ENOUGH_TOKEN records a cooldown and goes back through the budget (on the
free /token call it records the cooldown and raises it).
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

import httpx

from rtsales.clock import Clock
from rtsales.config import Settings
from rtsales.errors import ExitCode, KeepaCooldownError, KeepaError
from rtsales.http import TransientHttpError, build_client, describe_failure, is_transient, logged_send, retrying
from rtsales.keepa.budget import TokenBudget, cooldown_error
from rtsales.keepa.status import TokenStatus, from_body
from rtsales.redaction import clip

log = logging.getLogger(__name__)

NOT_ENOUGH_TOKEN_TRIES = 3
_AUTH_STATUSES = {401, 402, 403}


class _NotEnoughTokens(Exception):
    def __init__(self, status: TokenStatus):
        super().__init__("NOT_ENOUGH_TOKEN")
        self.status = status


class KeepaClient:
    """One per run. `calls` counts HTTP requests per endpoint; `tokens_consumed` sums Keepa's own figures."""

    def __init__(self, settings: Settings, clock: Clock, budget: TokenBudget,
                 transport: httpx.BaseTransport | None = None):
        settings.require_keepa()
        assert settings.keepa_api_key is not None
        self._key = settings.keepa_api_key
        self._base = settings.keepa_api_url
        self._clock = clock
        self.budget = budget
        self._http = build_client(settings.http_timeout_seconds, transport)
        self.calls: dict[str, int] = {}
        self.tokens_consumed = 0

    def close(self) -> None:
        self._http.close()

    def token_status(self) -> TokenStatus:
        """The free /token call. Keepa asks not to poll it: callers use it only on a stale cache.
        A 429 here is recorded like any other (status and cooldown) and raised as KeepaCooldownError."""
        try:
            return self._status_of(self._get("token", {}))
        except _NotEnoughTokens as refused:
            until = self.budget.record_not_enough(refused.status)
            raise cooldown_error(until, "Keepa answered 429 to the free /token call", self._clock.now()) from None

    def call(self, endpoint: str, params: dict[str, Any], cost: int) -> dict[str, Any]:
        """Send one request of estimated `cost` once the budget clears it; return Keepa's JSON body."""
        if self.budget.status() is None:  # first use on this database: learn the plan once, for free
            with suppress(KeepaCooldownError):  # recorded: the budget below waits it out or refuses
                self.token_status()
        for attempt in range(1, NOT_ENOUGH_TOKEN_TRIES + 1):
            self.budget.clear_to_send(endpoint, cost)
            try:
                body = self._get(endpoint, params)
            except _NotEnoughTokens as refused:
                until = self.budget.record_not_enough(refused.status)
                if attempt == NOT_ENOUGH_TOKEN_TRIES:
                    raise cooldown_error(until, f"Keepa answered NOT_ENOUGH_TOKEN {attempt} times in a row",
                                         self._clock.now()) from None
                continue
            self._status_of(body)
            return body
        raise AssertionError("unreachable")

    # -- plumbing -----------------------------------------------------------------------

    def _status_of(self, body: dict[str, Any]) -> TokenStatus:
        status = from_body(body, self._clock.now())
        self.budget.record(status)
        self.tokens_consumed += status.tokens_consumed
        return status

    def _get(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            for attempt in retrying(self._clock):
                with attempt:
                    response = self._send(endpoint, params)
        except httpx.HTTPError as exc:
            if is_transient(exc):
                raise KeepaError(f"Keepa /{endpoint}: {describe_failure(exc)} after retries",
                                 hint="Keepa may be having trouble; cron will try again") from None
            raise KeepaError(f"Keepa /{endpoint}: request failed ({exc.__class__.__name__})") from None
        except TransientHttpError as exc:
            raise KeepaError(f"Keepa /{endpoint}: {describe_failure(exc)} after retries",
                             status=exc.response.status_code,
                             hint="Keepa may be having trouble; cron will try again") from None
        return self._body(endpoint, response)

    def _send(self, endpoint: str, params: dict[str, Any]) -> httpx.Response:
        self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
        response = logged_send(log, f"Keepa /{endpoint}", lambda: self._http.get(
            f"{self._base}/{endpoint}", params={"key": self._key.get(), **params}))
        if response.status_code >= 500:
            raise TransientHttpError(response)
        return response

    def _body(self, endpoint: str, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise KeepaError(f"Keepa /{endpoint}: HTTP {response.status_code} with a body that is not a JSON object",
                             status=response.status_code)
        if response.status_code == 429:
            raise _NotEnoughTokens(from_body(body, self._clock.now()))
        if response.status_code != 200:
            raise self._rejected(endpoint, response.status_code, body)
        return body

    def _rejected(self, endpoint: str, code: int, body: dict[str, Any]) -> KeepaError:
        try:
            self._status_of(body)  # error answers carry the token status too
        except KeepaError:
            pass
        error = body.get("error")
        error = error if isinstance(error, dict) else {}
        detail = " ".join(str(error.get(k)) for k in ("type", "message") if error.get(k)) or "no error detail"
        auth = code in _AUTH_STATUSES
        return KeepaError(clip(f"Keepa /{endpoint}: HTTP {code}: {detail}", 300), status=code,
                          exit_code=ExitCode.CONFIG if auth else None,
                          hint="check KEEPA_API_KEY and that the plan includes this endpoint" if auth else None)
