"""Keeps secrets out of everything rtsales writes.

Settings registers each secret value when it is loaded; the error boundary, the
log handler and the renderer pass dynamic text through `redact()`. A secret is
also wrapped in `Secret`, whose repr never shows the value.

A secret is masked in every form it travels in, since an API quoting a request
back quotes it as sent: plain, URL-encoded (a form body, a query string) and
JSON-escaped.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote, quote_plus

_MASK = "***"
_registered: set[str] = set()


class Secret:
    """A string that never shows itself in repr(), str() or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value
        register(value)

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({_MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def forms(value: str) -> set[str]:
    """The value as written into text: plain, URL-encoded (path and form style), JSON-escaped."""
    return {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}


def register(value: str) -> None:
    # Very short values would mask innocent text; real secrets are long.
    if value and len(value) >= 6:
        _registered.update(forms(value))


def redact(text: str) -> str:
    for value in sorted(_registered, key=len, reverse=True):
        if value in text:
            text = text.replace(value, _MASK)
    return text


def clip(text: str, limit: int) -> str:
    """Shorten dynamic text for a message: mask first, then cut, so a cut never leaves half
    a secret that `redact()` would no longer recognise."""
    return redact(text)[:limit]


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True
