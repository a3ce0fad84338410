"""Shared HTTP plumbing for every API client: timeouts, User-Agent, bounded retries.

Each client builds its httpx.Client here and wraps calls in `retrying()`, which
retries only transient failures (timeouts, connection errors, and whatever the
client marks with TransientHttpError) and sleeps through the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from rtsales import __version__
from rtsales.clock import Clock

USER_AGENT = f"rtsales/{__version__} (Language=Python)"
ATTEMPTS = 3


class TransientHttpError(Exception):
    """A response worth retrying (5xx, or 429 where the API allows it)."""

    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def build_client(timeout: float, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        headers={"User-Agent": USER_AGENT},
        transport=transport,
        follow_redirects=False,
    )


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, (TransientHttpError, httpx.TimeoutException, httpx.TransportError))


def retrying(clock: Clock, attempts: int = ATTEMPTS,
             should_retry: Callable[[BaseException], bool] = is_transient) -> Retrying:
    """Up to `attempts` tries, exponential backoff 1-10 s, re-raising the last error."""
    return Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=1, min=1, max=10),
        retry=retry_if_exception(should_retry),
        sleep=clock.sleep,
        reraise=True,
    )


def describe_failure(exc: BaseException) -> str:
    """A short, secret-free description of a transport failure or transient status."""
    if isinstance(exc, TransientHttpError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return f"connection failed ({exc.__class__.__name__})"
