"""Logging set-up: quiet by default, -v for debug, secrets always masked.

A log line reads like rtsales' other stderr lines, `warning: message`, and off a
terminal (cron, pipes) or with -v it starts with the UTC wall-clock time it was
written, `2026-12-01T14:03:00Z ` (`rtsales.render` stamps its stderr lines off a
terminal with the same `stamp()`). Wall-clock time, not the injected Clock: a log
line says when it was written, RTSALES_NOW or not. -v adds the logger's name.

With -v every HTTP call is logged at DEBUG by the client that sends it (operation,
status, milliseconds, report ID; never a URL, which may carry a key or a signature).
`listen()` lets a terminal display follow those records without printing them.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rtsales.redaction import RedactingFilter

ROOT = "rtsales"
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


def stamp(at: float | None = None) -> str:
    """The prefix of a stderr line off a terminal: the UTC time (now, or `at`), and a space."""
    return time.strftime(_STAMP, time.gmtime(at)) + " "


def on_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


class _Formatter(logging.Formatter):
    """`[time ]level[ logger]: message`, the message with any traceback below it."""

    def __init__(self, verbose: bool):
        super().__init__("%(message)s")
        self._verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        stamped = self._verbose or not on_terminal(sys.stderr)
        where = f" {record.name}" if self._verbose else ""
        return f"{stamp(record.created) if stamped else ''}{record.levelname.lower()}{where}: {super().format(record)}"


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """sys.stderr as it is at each record: under a terminal display, rich's proxy prints above it."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def is_verbose() -> bool:
    """-v is on: every debug record reaches stderr."""
    return any(h.level <= logging.DEBUG for h in logging.getLogger(ROOT).handlers if isinstance(h, _Stderr))


def configure(verbose: bool) -> None:
    handler = _Stderr()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(_Formatter(verbose))
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    root = logging.getLogger(ROOT)
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    root.propagate = False
    # httpx logs full URLs at INFO; some APIs (Keepa) carry the key in the query string.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _Follower(logging.Handler):
    def __init__(self, on_message: Callable[[str], None]):
        super().__init__(logging.DEBUG)
        self.addFilter(RedactingFilter())
        self._on_message = on_message

    def emit(self, record: logging.LogRecord) -> None:
        self._on_message(record.getMessage())


@contextmanager
def listen(on_message: Callable[[str], None]) -> Iterator[None]:
    """Hand every rtsales log message, debug included, to `on_message` meanwhile; the stderr
    handler keeps showing only what it showed (its own level)."""
    root = logging.getLogger(ROOT)
    follower, level = _Follower(on_message), root.level
    root.addHandler(follower)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(follower)
        root.setLevel(level)
