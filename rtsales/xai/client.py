"""xAI chat completions client: one question, one POST, bounded retries, errors sorted.

A 429 for the request rate and any 5xx are retried through `rtsales.http.retrying`
(backoff on the injected clock). A 429 or 403 saying the team's credits or
spending limit are used up is final: XaiCreditsExhaustedError, and the caller
starts a cooldown. A rejected key is XaiAuthError (exit 78). Every XaiError says
whether xAI may have billed the request, which decides whether the caller gives
the daily call back. The key is sent only in the Authorization header and never
appears in a message: xAI's own error text for a bad key is not repeated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from rtsales.clock import Clock
from rtsales.config import Settings
from rtsales.errors import ExitCode, XaiAuthError, XaiCreditsExhaustedError, XaiError
from rtsales.http import TransientHttpError, build_client, describe_failure, is_transient, logged_send, retrying
from rtsales.redaction import clip
from rtsales.xai.usage import TokenUsage

log = logging.getLogger(__name__)

SYSTEM_PROMPT = ("You judge products for an Amazon vendor's catalogue team. Answer in one short line; "
                 "when the question can be answered yes or no, start with yes or no.")
_CREDIT_WORDS = ("credits", "spending limit")


@dataclass(frozen=True)
class Completion:
    answer: str
    model: str
    tokens: TokenUsage


class XaiClient:
    """One client per ask; `requests` counts the HTTP requests sent, retries included."""

    def __init__(self, settings: Settings, clock: Clock, transport: httpx.BaseTransport | None = None):
        settings.require_xai()
        assert settings.xai_api_key is not None
        self._url = settings.xai_api_url + "/chat/completions"
        self._model = settings.xai_model
        self._headers = {"Authorization": f"Bearer {settings.xai_api_key.get()}"}
        self._http = build_client(settings.http_timeout_seconds, transport)
        self._clock = clock
        self.requests = 0

    def close(self) -> None:
        self._http.close()

    def complete(self, prompt: str) -> Completion:
        try:
            for attempt in retrying(self._clock):
                with attempt:
                    response = self._post(prompt)
        except Exception as exc:
            if not is_transient(exc):
                raise
            raise _gave_up(exc) from None
        return _completion(response, self._model)

    def _post(self, prompt: str) -> httpx.Response:
        self.requests += 1
        body = {"model": self._model, "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                                                   {"role": "user", "content": prompt}]}
        return _screen(logged_send(log, f"xAI chat/completions {self._model}",
                                   lambda: self._http.post(self._url, json=body, headers=self._headers)))


def _screen(response: httpx.Response) -> httpx.Response:
    """Credits first (never retried), then transient statuses (retried), then refusals."""
    status = response.status_code
    if status == 200:
        return response
    if status in (403, 429) and any(w in response.text.lower() for w in _CREDIT_WORDS):
        raise XaiCreditsExhaustedError(
            f"xAI credits are used up or the team's spending limit is reached (HTTP {status})",
            status=status, hint="buy credits or raise the spending limit in the xAI Console")
    if status == 429 or status >= 500:
        raise TransientHttpError(response)
    raise _refused(response)


def _refused(response: httpx.Response) -> XaiError:
    status = response.status_code
    if status in (401, 403) or (status == 400 and "api key" in response.text.lower()):
        return XaiAuthError(f"xAI rejected XAI_API_KEY (HTTP {status})", status=status,
                            hint="check XAI_API_KEY, and that its team may use the API, in the xAI Console")
    if status == 404:
        return XaiError("xAI does not know this model or endpoint (HTTP 404)", status=404,
                        exit_code=ExitCode.CONFIG, hint="check XAI_MODEL and XAI_API_URL")
    return XaiError(clip(f"xAI refused the request (HTTP {status}): {_message(response)}", 300), status=status)


def _gave_up(exc: BaseException) -> XaiError:
    if isinstance(exc, TransientHttpError) and exc.response.status_code == 429:
        return XaiError("xAI rate limit (HTTP 429) persisted after retries", status=429,
                        exit_code=ExitCode.TEMPFAIL, hint="cron will retry; space out the asks")
    # A request that never connected cannot have been billed; anything later might have been.
    never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
    status = exc.response.status_code if isinstance(exc, TransientHttpError) else None
    return XaiError(f"xAI call failed: {describe_failure(exc)} after retries", status=status,
                    may_have_cost=not never_sent, hint="xAI may be having trouble; cron will retry")


def _message(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return "no JSON error body"
    if isinstance(body, dict):
        body = body.get("error", body.get("message", body))
        if isinstance(body, dict):
            body = body.get("message", "")
    return str(body)


def _completion(response: httpx.Response, requested_model: str) -> Completion:
    try:
        data = response.json()
        answer = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        answer, data = None, {}
    if not isinstance(answer, str) or not answer.strip():
        raise XaiError("xAI answered HTTP 200 without an answer", status=200, may_have_cost=True)
    model = data.get("model") if isinstance(data.get("model"), str) else requested_model
    return Completion(answer=answer.strip(), model=model, tokens=_tokens(data.get("usage")))


def _tokens(usage: object) -> TokenUsage:
    usage = usage if isinstance(usage, dict) else {}
    details = usage.get("completion_tokens_details")
    details = details if isinstance(details, dict) else {}
    return TokenUsage(prompt=_count(usage.get("prompt_tokens")),
                      completion=_count(usage.get("completion_tokens")),
                      reasoning=_count(details.get("reasoning_tokens")))


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
