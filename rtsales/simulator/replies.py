"""What a handled request looks like on the way in and out, and Amazon's body shapes.

`Request` is the transport-neutral view of an incoming request; `Reply` is what the
core model answers. The builders here give Amazon's error shapes: the SP-API
`{"errors": [...]}` list, Login with Amazon's OAuth errors, and S3's XML errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

JSON = "application/json"


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    now: datetime
    params: Mapping[str, str] = field(default_factory=dict)  # from the path pattern

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def origin(self) -> str:
        """scheme://host[:port] the request came to."""
        parts = urlsplit(self.url)
        return f"{parts.scheme or 'http'}://{parts.netloc}"

    @property
    def query(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(urlsplit(self.url).query).items()}

    def json(self) -> Any:
        """The JSON body; raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8") or "null")

    def form(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(self.body.decode("utf-8", "replace")).items()}


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes
    delay_seconds: float = 0.0  # > 0: a slow response (p_slow)
    fault: str | None = None
    marketplace_id: str | None = None

    def with_meta(self, **changes: Any) -> Reply:
        return replace(self, **changes)

    def json(self) -> Any:
        return json.loads(self.body)


def json_reply(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, {"Content-Type": JSON, **(headers or {})}, json.dumps(data).encode())


def spapi_error(status: int, code: str, message: str, details: str | None = None,
                headers: Mapping[str, str] | None = None) -> Reply:
    error: dict[str, str] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return json_reply(status, {"errors": [error]}, headers)


def invalid_input(message: str, headers: Mapping[str, str] | None = None) -> Reply:
    return spapi_error(400, "InvalidInput", message, headers=headers)


def generic_bad_request(headers: Mapping[str, str] | None = None) -> Reply:
    """The 400 of Amazon's own createReport sandbox example: it does not say what was wrong."""
    return spapi_error(400, "400", "Invalid input", "Invalid input", headers)


def quota_exceeded() -> Reply:
    return spapi_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")


def server_error(status: int) -> Reply:
    if status == 503:
        return spapi_error(503, "ServiceUnavailable", "Service is temporarily unavailable. Please try again.")
    return spapi_error(500, "InternalFailure", "We encountered an internal error. Please try again.")


def oauth_error(status: int, error: str, description: str) -> Reply:
    return json_reply(status, {"error": error, "error_description": description})


def s3_error(status: int, code: str, message: str) -> Reply:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Reply(status, {"Content-Type": "application/xml"}, body.encode())
