"""Stored instants after the clock went back, and how rtsales shows an instant to people."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from rtsales import lock
from rtsales.clock import floor_hour, iso, show_instant
from rtsales.quota import active_cooldown, start_cooldown
from rtsales.store import open_db, transaction
from rtsales.sync.ledger import BACKOFF_CAP, claimable, seed
from tests.conftest import at

NOW = at("2026-03-10T12:00:00Z")
TTL, MAX = timedelta(minutes=15), timedelta(hours=4)


@pytest.fixture(autouse=True)
def logs_reach_caplog(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(logging.getLogger("rtsales"), "propagate", True)
    yield


@pytest.mark.parametrize(("instant", "shown"), [
    ("2026-03-10T16:52:00Z", "16:52 UTC"), ("2026-03-10T00:00:00Z", "00:00 UTC"),
    ("2026-03-13T16:52:00Z", "2026-03-13 16:52 UTC"), ("2026-03-09T23:59:59Z", "2026-03-09 23:59 UTC"),
    ("2026-03-10T18:52:00+05:00", "13:52 UTC"), ("2026-03-11T02:00:00+05:00", "21:00 UTC"),
    (None, "?"), ("garbled", "garbled"),
])
def test_show_instant(instant: str | None, shown: str) -> None:
    assert show_instant(instant, NOW) == shown
    assert show_instant(instant, iso(NOW)) == shown  # a report's now_utc works as well


def test_a_cooldown_beyond_the_maximum_is_over_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = open_db(tmp_path / "q.db")
    db.conn.execute("INSERT INTO api_cooldowns VALUES ('spapi', 'quota', ?, 1, ?)",
                    [iso(NOW + MAX + timedelta(minutes=1)), iso(NOW)])
    assert active_cooldown(db, "spapi", NOW) is not None  # no maximum given: as before
    with caplog.at_level(logging.WARNING, logger="rtsales.quota"):
        assert active_cooldown(db, "spapi", NOW, MAX) is None
    assert "clock set back?" in caplog.text
    assert active_cooldown(db, "spapi", NOW + timedelta(minutes=2), MAX) is not None  # back within reach
    # a 429 now starts a real cooldown instead of returning the stale one
    fresh = start_cooldown(db, "spapi", NOW, timedelta(minutes=30), MAX)
    assert fresh.until == NOW + timedelta(minutes=60)  # still on probation (no success since): doubled


def test_a_lease_beyond_its_ttl_is_taken_over(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = open_db(tmp_path / "l.db")
    assert lock.acquire(db, "M", "sync:1", NOW + timedelta(days=2), TTL).acquired
    with caplog.at_level(logging.WARNING, logger="rtsales.lock"):
        got = lock.acquire(db, "M", "sync:2", NOW, TTL)
    assert got.acquired and got.stolen_from == "sync:1"
    assert "took over lock M from sync:1" in caplog.text and "LOCK_TTL_MINUTES" in caplog.text
    assert not lock.acquire(db, "M", "sync:3", NOW, TTL).acquired  # a lease of exactly the TTL holds


def test_a_retry_beyond_the_backoff_cap_is_claimable(tmp_path: Path) -> None:
    db = open_db(tmp_path / "r.db")
    with transaction(db) as conn:
        seed(conn, "M", NOW, floor_hour(NOW - timedelta(hours=6)), timedelta(minutes=90), kind="sales")
        conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', next_retry_utc = ? "
                     "WHERE hour_utc = '2026-03-10T06:00:00Z'", [iso(NOW + BACKOFF_CAP + timedelta(seconds=1))])
        conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', next_retry_utc = ? "
                     "WHERE hour_utc = '2026-03-10T07:00:00Z'", [iso(NOW + BACKOFF_CAP)])
    keys = [k for k, _ in claimable(db.conn, "M", NOW, kind="sales")]
    assert "2026-03-10T06:00:00Z" in keys and "2026-03-10T07:00:00Z" not in keys
