"""Shared HTTP plumbing for every API client: timeouts, a total deadline, User-Agent, bounded retries.

Each client builds its httpx.Client here and wraps calls in `retrying()`, which
retries only transient failures (timeouts, connection errors, and whatever the
client marks with TransientHttpError) and sleeps through the injected clock. Each
request goes out through `logged_send`, which logs it at debug level (`-v`).

HTTP_TIMEOUT_SECONDS is the whole budget of one request attempt: connecting, sending,
the response headers and the whole body, streamed or not. httpx's own timeouts bound
each socket operation, so a server answering one byte at a time never trips them.
DeadlineTransport therefore runs httpcore's connection pool on a network backend
whose every operation waits at most the time left and raises a timeout past it
(httpx 0.28 offers no public way to give its own transport a network backend).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from ssl import SSLContext
from typing import Any

import httpcore
import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from rtsales import __version__
from rtsales.clock import Clock, format_duration

log = logging.getLogger(__name__)

USER_AGENT = f"rtsales/{__version__} (Language=Python)"
ATTEMPTS = 3


class TransientHttpError(Exception):
    """A response worth retrying (5xx, or 429 where the API allows it)."""

    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def build_client(timeout: float, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A client whose requests each finish within `timeout` seconds over the network.

    An injected transport (the simulator's, a test's) is used as it is: it has no sockets.
    """
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        headers={"User-Agent": USER_AGENT},
        transport=DeadlineTransport(timeout) if transport is None else transport,
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
        before_sleep=_say_retry,
        reraise=True,
    )


def _say_retry(state: RetryCallState) -> None:
    """What the run waits for between attempts (debug: -v, and a terminal's status line)."""
    failure = state.outcome.exception() if state.outcome is not None else None
    seconds = state.next_action.sleep if state.next_action is not None else 0.0
    log.debug("waiting %s to try again after %s", format_duration(seconds),
              describe_failure(failure) if failure is not None else "a failure")


def logged_send(log: logging.Logger, what: str, send: Callable[[], httpx.Response],
                detail: Callable[[httpx.Response], str] | None = None) -> httpx.Response:
    """Send one request and log it at debug level: `what` (the API, operation and IDs, never a URL:
    some carry a key or a signature), the HTTP status or the failure, and the milliseconds it took
    (real time, not the injected clock: it measures the network). `detail` adds what the answer says."""
    started = time.monotonic()
    try:
        response = send()
    except httpx.HTTPError as exc:
        log.debug("%s: %s after %d ms", what, describe_failure(exc), elapsed_ms(started))
        raise
    more = detail(response) if detail is not None and log.isEnabledFor(logging.DEBUG) else ""
    log.debug("%s: HTTP %d in %d ms%s", what, response.status_code, elapsed_ms(started), more)
    return response


def elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def describe_failure(exc: BaseException) -> str:
    """A short, secret-free description of a transport failure or transient status."""
    if isinstance(exc, TransientHttpError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return f"connection failed ({exc.__class__.__name__})"


# -- the total deadline --------------------------------------------------------------------
# Real time (monotonic), not the injected Clock: the deadline guards a socket, not business time.

_deadline: ContextVar[float | None] = ContextVar("rtsales_http_deadline", default=None)

# httpcore's errors as the httpx ones every client catches, as httpx.HTTPTransport maps them;
# each family after its members, so that the first match is the most specific.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout), (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout), (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError), (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError), (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError), (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol), (httpcore.ProxyError, httpx.ProxyError),
)


class DeadlineTransport(httpx.BaseTransport):
    """httpx's default transport, rebuilt on httpcore's public API, with a total deadline per request."""

    def __init__(self, seconds: float):
        self._seconds = seconds
        # httpx's defaults: its CA bundle (or SSL_CERT_FILE), idle connections kept 5 s.
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), max_connections=10,
                                             keepalive_expiry=5.0, network_backend=_DeadlineBackend())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        deadline = time.monotonic() + self._seconds
        url = httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                           target=request.url.raw_path)
        sent = httpcore.Request(method=request.method, url=url, headers=request.headers.raw,
                                content=request.stream, extensions=request.extensions)
        with _until(deadline):
            response = self._pool.handle_request(sent)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_Body(response.stream, deadline), extensions=response.extensions)

    def close(self) -> None:
        self._pool.close()


class _Body(httpx.SyncByteStream):
    """A response body, read under the deadline of the request that asked for it."""

    def __init__(self, stream: Iterable[bytes], deadline: float):
        self._stream, self._deadline = stream, deadline

    def __iter__(self) -> Iterator[bytes]:
        parts = iter(self._stream)
        while True:
            # Set around each read only, never across a yield: the caller's code runs without it.
            with _until(self._deadline):
                part = next(parts, None)
            if part is None:
                return
            yield part

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            with _until(self._deadline):
                close()


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sockets; each connect cut to the time left."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every wait is cut to the time left of the request using it now."""

    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


@contextmanager
def _until(deadline: float) -> Iterator[None]:
    """Socket waits inside are cut to `deadline`; httpcore's errors come out as httpx's."""
    token = _deadline.set(deadline)
    try:
        yield
    except Exception as exc:
        public = next((ours for theirs, ours in _ERRORS if isinstance(exc, theirs)), None)
        if public is None:
            raise
        raise public(str(exc)) from exc
    finally:
        _deadline.reset(token)


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    """`timeout` cut to what is left of the current request's deadline; `expired` once it has passed."""
    deadline = _deadline.get()
    if deadline is None:  # no request under way: the pool closing idle connections
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the request took longer than HTTP_TIMEOUT_SECONDS")
    return left if timeout is None else min(timeout, left)
