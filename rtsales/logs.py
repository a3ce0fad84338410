"""Logging set-up: quiet by default, -v for debug, secrets always masked."""

from __future__ import annotations

import logging
import sys

from rtsales.redaction import RedactingFilter


def configure(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("rtsales")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    root.propagate = False
    # httpx logs full URLs at INFO; some APIs (Keepa) carry the key in the query string.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
