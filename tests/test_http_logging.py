"""-v logs every HTTP call of the Keepa and xAI clients too: what, status, milliseconds; never the key."""

from __future__ import annotations

import re
from collections.abc import Callable

from pytest_httpx import HTTPXMock

from rtsales import logs
from rtsales.clock import FrozenClock
from rtsales.config import Settings
from rtsales.store import open_db
from tests.keepa_fake import KEY as KEEPA_KEY
from tests.keepa_fake import FakeKeepa
from tests.test_xai import KEY as XAI_KEY
from tests.test_xai import URL, completion


def test_keepa_calls_are_logged_without_the_key(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings],
                                                clock: FrozenClock) -> None:
    from rtsales.keepa.balance import balance_report
    FakeKeepa(clock, balance=100).install(httpx_mock)
    settings = make_settings(KEEPA_API_KEY=KEEPA_KEY)
    messages: list[str] = []
    with logs.listen(messages.append):
        balance_report(open_db(settings.db_path), settings, clock)
    assert any(re.fullmatch(r"Keepa /token: HTTP 200 in \d+ ms", m) for m in messages), messages
    assert not [m for m in messages if KEEPA_KEY in m or "key=" in m]


def test_xai_calls_are_logged_without_the_key(httpx_mock: HTTPXMock, make_settings: Callable[..., Settings],
                                              clock: FrozenClock) -> None:
    from rtsales.xai.ask import ask
    from rtsales.xai.cache import ProductFacts
    httpx_mock.add_response(method="POST", url=URL, json=completion())
    settings = make_settings(XAI_API_KEY=XAI_KEY)
    messages: list[str] = []
    with logs.listen(messages.append):
        ask(open_db(settings.db_path), settings, clock, "Is this a textbook?", ProductFacts(title="Algebra I"))
    assert any(re.fullmatch(r"xAI chat/completions grok-4\.3: HTTP 200 in \d+ ms", m) for m in messages), messages
    assert not [m for m in messages if XAI_KEY in m]
