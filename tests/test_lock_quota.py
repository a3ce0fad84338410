"""Worker leases and persisted quota state, across separate connections (processes)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from rtsales import lock
from rtsales.clock import FrozenClock, format_duration, iso, later
from rtsales.errors import LockLostError
from rtsales.quota import (SPAPI_PLANS, OutOfTokens, Pacer, UsagePlan, active_cooldown, record_success, start_cooldown,
                           take_token)
from rtsales.store import open_db
from rtsales.sync.ledger import BACKOFF_CAP, backoff
from tests.conftest import at

NOW = at("2026-03-10T12:00:00Z")
TTL = timedelta(minutes=15)


def test_lease_is_exclusive_until_it_expires(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    one, two = open_db(tmp_path / "x.db"), open_db(tmp_path / "x.db")
    assert lock.acquire(one, "M", "sync:1", NOW, TTL).acquired
    busy = lock.acquire(two, "M", "sync:2", NOW + timedelta(minutes=14), TTL)
    assert not busy.acquired and busy.holder == "sync:1"
    with caplog.at_level(logging.WARNING, logger="rtsales.lock"):
        stolen = lock.acquire(two, "M", "sync:2", NOW + TTL, TTL)
    assert stolen.acquired and stolen.stolen_from == "sync:1"
    assert "stole expired lock M from sync:1" in caplog.text
    assert lock.current(one, "M")[0] == "sync:2"


def test_refresh_detects_a_lost_lease(tmp_path: Path) -> None:
    one, two = open_db(tmp_path / "x.db"), open_db(tmp_path / "x.db")
    lock.acquire(one, "M", "sync:1", NOW, TTL)
    lock.acquire(two, "M", "sync:2", NOW + TTL, TTL)
    with pytest.raises(LockLostError):
        lock.refresh(one, "M", "sync:1", NOW + TTL, TTL)
    lock.release(one, "M", "sync:1")  # releasing someone else's lease does nothing
    assert lock.current(two, "M")[0] == "sync:2"
    lock.release(two, "M", "sync:2")
    assert lock.current(two, "M") is None


def test_cooldown_is_shared_doubles_on_probation_and_resets(tmp_path: Path) -> None:
    one, two = open_db(tmp_path / "q.db"), open_db(tmp_path / "q.db")
    base, cap = timedelta(minutes=30), timedelta(hours=4)
    first = start_cooldown(one, "spapi", NOW, base, cap)
    assert first.until == NOW + base
    assert active_cooldown(two, "spapi", NOW + timedelta(minutes=29)) is not None
    assert active_cooldown(two, "spapi", NOW + base) is None
    second = start_cooldown(two, "spapi", NOW + base, base, cap)  # first call after it: 429 again
    assert second.until == NOW + base + 2 * base
    record_success(one, "spapi")
    third = start_cooldown(one, "spapi", NOW + timedelta(hours=3), base, cap)
    assert third.until == NOW + timedelta(hours=3) + base


def test_cooldown_doubling_is_capped(tmp_path: Path) -> None:
    db = open_db(tmp_path / "q.db")
    now, durations = NOW, []
    for _ in range(10):
        cooldown = start_cooldown(db, "spapi", now, timedelta(minutes=30), timedelta(hours=4))
        durations.append(cooldown.until - now)
        now = cooldown.until
    assert durations[:4] == [timedelta(minutes=m) for m in (30, 60, 120, 240)]
    assert set(durations[4:]) == {timedelta(hours=4)}
    assert cooldown.consecutive_hits == 10


def test_bucket_burst_then_documented_rate(tmp_path: Path) -> None:
    one, two = open_db(tmp_path / "b.db"), open_db(tmp_path / "b.db")
    plan = SPAPI_PLANS["createReport"]
    assert all(take_token(one, "createReport", plan, NOW) == 0 for _ in range(15))
    wait = take_token(two, "createReport", plan, NOW)  # another process sees the same empty bucket
    assert 59 < wait < 61
    assert take_token(two, "createReport", plan, NOW + timedelta(seconds=wait)) == 0
    assert take_token(one, "createReport", plan, NOW + timedelta(seconds=wait)) > 0


def test_pacer_never_waits_on_a_frozen_clock(tmp_path: Path) -> None:
    db, clock = open_db(tmp_path / "p.db"), FrozenClock(NOW)
    pacer = Pacer(db, clock, NOW + timedelta(minutes=10), SPAPI_PLANS)
    for _ in range(15):
        pacer("createReport")
    with pytest.raises(OutOfTokens) as caught:
        pacer("createReport")
    assert caught.value.operation == "createReport" and clock.slept == []
    pacer("download")  # unplanned operations are not paced


def test_pacer_waits_within_deadline_on_a_real_clock(tmp_path: Path) -> None:
    db = open_db(tmp_path / "p.db")

    from tests.clocks import SteppingClock

    clock = SteppingClock(NOW)
    refreshed: list[int] = []
    pacer = Pacer(db, clock, NOW + timedelta(minutes=10), SPAPI_PLANS, on_wait=lambda: refreshed.append(1))
    for _ in range(16):
        pacer("createReport")
    assert len(clock.slept) == 1 and 59 < clock.slept[0] < 61 and refreshed == [1]
    with pytest.raises(OutOfTokens):
        Pacer(db, clock, clock.now() + timedelta(seconds=5), SPAPI_PLANS)("createReport")


def test_pacer_stops_when_another_process_starts_a_cooldown(tmp_path: Path) -> None:
    from rtsales.quota import CooldownStarted
    mine, theirs = open_db(tmp_path / "c.db"), open_db(tmp_path / "c.db")
    pacer = Pacer(mine, FrozenClock(NOW), NOW + timedelta(minutes=10), SPAPI_PLANS)
    pacer("getReport")
    start_cooldown(theirs, "spapi", NOW, timedelta(minutes=30), timedelta(hours=4))
    for operation in ("getReport", "download"):
        with pytest.raises(CooldownStarted, match="another process hit the SP-API quota"):
            pacer(operation)


# -- no time arithmetic raises, whatever the database or the plan says -------------------------

WEEK = timedelta(days=7)


@pytest.mark.parametrize("hits", [10**6, 2**63 - 1])
def test_cooldown_after_a_huge_hit_count_is_the_cap(tmp_path: Path, hits: int) -> None:
    db = open_db(tmp_path / "q.db")
    db.conn.execute("INSERT INTO api_cooldowns VALUES ('spapi', 'quota', ?, ?, ?)",
                    [iso(NOW - WEEK), hits, iso(NOW - WEEK)])
    cooldown = start_cooldown(db, "spapi", NOW, WEEK, WEEK)
    assert cooldown.until == NOW + WEEK
    until, stored = db.conn.execute("SELECT until_utc, consecutive_hits FROM api_cooldowns").fetchone()
    assert until == iso(NOW + WEEK) and 0 < stored < 2**63  # still an SQLite integer


def test_cooldown_near_the_end_of_time_saturates(tmp_path: Path) -> None:
    end = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
    cooldown = start_cooldown(open_db(tmp_path / "q.db"), "spapi", end, WEEK, WEEK)
    assert cooldown.until > end and iso(cooldown.until) == "9999-12-31T23:59:59Z"


def test_tiny_rate_gives_a_finite_wait_and_out_of_tokens(tmp_path: Path) -> None:
    from tests.clocks import SteppingClock
    db, plan = open_db(tmp_path / "t.db"), UsagePlan(rate=5e-324, burst=1)
    assert take_token(db, "createReport", plan, NOW) == 0
    wait = take_token(db, "createReport", plan, NOW + timedelta(seconds=1))
    assert 0 < wait < float("inf")
    clock = SteppingClock(NOW)
    with pytest.raises(OutOfTokens):
        Pacer(db, clock, NOW + timedelta(minutes=10), {"createReport": plan})("createReport")
    assert clock.slept == []


def test_huge_rate_refills_to_the_burst(tmp_path: Path) -> None:
    db, plan = open_db(tmp_path / "t.db"), UsagePlan(rate=1e308, burst=2)
    for _ in range(2):
        assert take_token(db, "getReport", plan, NOW) == 0
    assert 0 < take_token(db, "getReport", plan, NOW) <= 1e-6  # one microsecond, a clock's resolution
    assert take_token(db, "getReport", plan, NOW + timedelta(days=36500)) == 0


@pytest.mark.parametrize(("attempts", "expected"), [(1, timedelta(minutes=15)), (2, timedelta(minutes=30)),
                                                     (10**6, BACKOFF_CAP), (2**63 - 1, BACKOFF_CAP)])
def test_backoff_is_capped_before_multiplying(attempts: int, expected: timedelta) -> None:
    assert backoff(attempts) == expected


def test_durations_and_shifts_never_raise() -> None:
    assert format_duration(float("inf")) and format_duration(float("nan")) == "0s"
    assert later(datetime.max.replace(tzinfo=UTC), timedelta(seconds=1)) == datetime.max.replace(tzinfo=UTC)


# -- the rate Amazon applies, learned from x-amzn-RateLimit-Limit ---------------------------------

def _rate_rows(db: Database) -> dict[str, str]:
    return dict(db.conn.execute("SELECT key, value FROM rtsales_state WHERE key LIKE 'rate:%'").fetchall())


def test_learned_rate_is_persisted_and_paces_the_next_process(tmp_path: Path) -> None:
    from tests.clocks import SteppingClock
    one, two = open_db(tmp_path / "r.db"), open_db(tmp_path / "r.db")
    first = Pacer(one, FrozenClock(NOW), NOW + timedelta(minutes=10), SPAPI_PLANS)
    for _ in range(15):
        first("createReport")
    first.learn("createReport", 0.1)
    assert _rate_rows(two) == {"rate:spapi:createReport": "0.1"}
    clock = SteppingClock(NOW)
    Pacer(two, clock, NOW + timedelta(minutes=10), SPAPI_PLANS)("createReport")  # a later process
    assert clock.slept == [10.0]  # 1 / 0.1 s, not 1 / 0.0167 s
    assert SPAPI_PLANS["createReport"].rate == 0.0167  # the defaults themselves are untouched


def test_learned_rate_keeps_the_default_burst_and_a_lower_rate_slows_down(tmp_path: Path) -> None:
    from tests.clocks import SteppingClock
    db, clock = open_db(tmp_path / "r.db"), SteppingClock(NOW)
    pacer = Pacer(db, clock, NOW + timedelta(hours=1), SPAPI_PLANS)
    pacer.learn("createReport", 0.005)
    for _ in range(16):  # the burst stays 15
        pacer("createReport")
    assert clock.slept == [200.0]


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan"), float("inf")])
def test_unusable_rates_are_not_learned(tmp_path: Path, rate: float) -> None:
    db = open_db(tmp_path / "r.db")
    pacer = Pacer(db, FrozenClock(NOW), NOW + timedelta(minutes=10), SPAPI_PLANS)
    pacer.learn("createReport", rate)
    pacer.learn("download", 1.0)  # no documented plan (no burst to keep): not paced, not learned
    assert _rate_rows(db) == {}


def test_a_garbled_stored_rate_falls_back_to_the_default(tmp_path: Path) -> None:
    from tests.clocks import SteppingClock
    db, clock = open_db(tmp_path / "r.db"), SteppingClock(NOW)
    db.conn.execute("INSERT INTO rtsales_state VALUES ('rate:spapi:createReport', 'nan', ?)", [iso(NOW)])
    db.conn.execute("INSERT INTO api_rate_buckets VALUES ('createReport', 0.0, ?)", [NOW.isoformat()])
    Pacer(db, clock, NOW + timedelta(minutes=10), SPAPI_PLANS)("createReport")
    assert len(clock.slept) == 1 and 59 < clock.slept[0] < 61
