"""redact(): a registered secret is masked plain, URL-encoded and JSON-escaped, wherever it sits."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote, quote_plus, urlencode

import pytest

from rtsales.redaction import RedactingFilter, Secret, clip, redact, register

TOKEN = 'Atzr|IwEBredact-unit 1a+2b/3c"4d'  # every character class the encodings change


@pytest.fixture(autouse=True)
def _registered() -> None:
    register(TOKEN)


@pytest.mark.parametrize("form", [TOKEN, quote(TOKEN, safe=""), quote_plus(TOKEN), json.dumps(TOKEN)[1:-1]],
                         ids=["plain", "quote", "quote_plus", "json"])
def test_every_form_of_a_secret_is_masked(form: str) -> None:
    assert redact(f"Amazon said: {form} is invalid") == "Amazon said: *** is invalid"


def test_the_forms_really_differ() -> None:
    forms = [TOKEN, quote(TOKEN, safe=""), quote_plus(TOKEN), json.dumps(TOKEN)[1:-1]]
    assert len(set(forms)) == 4


def test_a_form_body_quoted_back_is_masked() -> None:
    body = urlencode({"grant_type": "refresh_token", "refresh_token": TOKEN, "client_id": "amzn1.app"})
    assert redact(f"HTTP 400: {body}") == "HTTP 400: grant_type=refresh_token&refresh_token=***&client_id=amzn1.app"


def test_a_json_body_quoted_back_is_masked() -> None:
    assert redact(json.dumps({"refresh_token": TOKEN})) == '{"refresh_token": "***"}'


def test_clip_masks_an_encoded_secret_before_cutting() -> None:
    text = f"refused: {quote(TOKEN, safe='')} is wrong"
    assert clip(text, 14) == "refused: *** i"


def test_secret_registers_every_form_and_the_log_filter_uses_them() -> None:
    secret = Secret("xai-key/with+odd|chars")
    record = logging.LogRecord("rtsales", logging.INFO, __file__, 1, "sent %s", (quote_plus(secret.get()),), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "sent ***"


def test_short_values_and_innocent_text_are_left_alone() -> None:
    register("a|b")  # too short to be a secret: masking it would garble ordinary text
    assert redact("a|b and a%7Cb and Atzr| and 1a+2b") == "a|b and a%7Cb and Atzr| and 1a+2b"
