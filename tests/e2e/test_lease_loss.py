"""A worker whose call outlives its lease: another process takes the marketplace over mid-call.

The thief strikes while one of our calls for a marketplace is in flight: it takes the lease
(owner `sync:99999`, a later expiry) and, in some tests, moves the hours in flight on as a new
owner would. From then on the first worker must send nothing for that marketplace, write nothing
for it (not even what the call in flight answered), and carry on with its other marketplaces; the
run says `lock_lost` and exits as a busy lease does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from rtsales import lock
from rtsales.cli import app
from rtsales.clock import FrozenClock, iso
from rtsales.simulator import (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, BackgroundServer,
                               Simulator)
from rtsales.simulator.cron import SimulatedCron
from rtsales.simulator.requestlog import LogEntry
from rtsales.sync import windows
from rtsales.sync.ledger import LedgerConflict
from tests.e2e.conftest import CA, START, US

THIEF = "sync:99999"
runner = CliRunner()


def _state(db_path: Path, mp: str) -> tuple[list[Any], ...]:
    """Everything rtsales stores for one marketplace: ledger, sales rows, stashed documents."""
    conn = sqlite3.connect(db_path)
    try:
        return tuple(conn.execute(f"SELECT * FROM {table} WHERE marketplace_id = ? ORDER BY 1, 2", [mp]).fetchall()
                     for table in ("vendor_rt_sales_hour_ledger", "vendor_realtime_sales", "vendor_rt_sales_documents"))
    finally:
        conn.close()


@dataclass
class Thief:
    """Another worker that takes `marketplace` over the moment Amazon has answered our `operation` for it;
    with `moves_rows`, it also fails the hours in flight, as if it had worked them meanwhile."""

    sim: Simulator
    db_path: Path
    marketplace: str
    operation: str = "getReport"
    moves_rows: bool = True
    after: int | None = None  # how many requests the simulator had seen when it struck
    snapshot: tuple[list[Any], ...] | None = None

    def watch(self, entry: LogEntry) -> None:
        if self.after is not None or (entry.operation, entry.marketplace_id) != (self.operation, self.marketplace):
            return
        later = iso(self.sim.clock.now() + timedelta(hours=1))
        conn = sqlite3.connect(self.db_path, timeout=10)  # its own connection: it is another process
        with conn:
            conn.execute("UPDATE vendor_rt_sales_worker_lock SET owner = ?, expires_at = ? WHERE marketplace_id = ?",
                         [THIEF, later, self.marketplace])
            if self.moves_rows:
                conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', last_error = 'taken over', "
                             "next_retry_utc = ? WHERE marketplace_id = ? AND status IN ('REQUESTED', 'DOWNLOADED')",
                             [later, self.marketplace])
        conn.close()
        self.after = len(self.sim.log.entries)
        self.snapshot = _state(self.db_path, self.marketplace)

    def requests_since(self) -> list[str]:
        """What the simulator saw for the stolen marketplace after the theft."""
        assert self.after is not None, "the thief never struck"
        return [e.operation for e in self.sim.log.entries[self.after:] if e.marketplace_id == self.marketplace]


class StealDuringCall(httpx.BaseTransport):
    """The in-process simulator, with the thief striking inside a call, once Amazon has answered it;
    with `status`, that one answer reaches rtsales as this status instead (a 503 is retried)."""

    def __init__(self, inner: httpx.BaseTransport, thief: Thief, status: int | None = None):
        self.inner, self.thief, self.status = inner, thief, status

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        waiting = self.thief.after is None
        self.thief.watch(self.thief.sim.log.entries[-1])
        if waiting and self.thief.after is not None and self.status:
            return httpx.Response(self.status, request=request)
        return response


def _armed(c: SimulatedCron, operation: str = "getReport", moves_rows: bool = True) -> Thief:
    if operation != "createReport":
        c.cycle()  # reports created; the next run collects them
    thief = Thief(c.sim, Path(c.settings.db_path), US, operation, moves_rows)
    c.transport = StealDuringCall(c.sim.transport(), thief)
    return thief


def _states(result: Any) -> dict[str, str]:
    return {m.marketplace_id: m.state for m in result.marketplaces}


@pytest.mark.parametrize("operation", ["createReport", "getReport", "getReportDocument", "download"])
def test_lost_lease_stops_that_marketplace_and_the_other_carries_on(cron: Callable[..., SimulatedCron],
                                                                   operation: str) -> None:
    c = cron((US, CA))
    thief = _armed(c, operation, moves_rows=False)  # the rows stay as they were: any write of ours would show
    result = c.cycle()
    assert thief.requests_since() == []  # nothing at all for US after the theft
    assert _state(Path(c.settings.db_path), US) == thief.snapshot  # not even what the call in flight answered
    assert _states(result) == {US: "lock_lost", CA: "worked"} and result.exit_code == 0
    assert lock.current(c.db, US)[0] == THIEF  # the new owner's lease is left alone
    assert lock.current(c.db, CA) is None
    ca = dict(c.db.conn.execute("SELECT status, COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE "
                                "marketplace_id = ? GROUP BY status", [CA]).fetchall())
    held = c.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE marketplace_id = ? "
                             "AND data_state != 'none'", [CA]).fetchone()[0]
    assert ca == {"REQUESTED": 167} if operation == "createReport" else held == 167  # (and a live refresh)


def test_retry_after_the_theft_is_not_sent(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US, CA))
    c.cycle()
    thief = Thief(c.sim, Path(c.settings.db_path), US, "getReportDocument", moves_rows=False)
    c.transport = StealDuringCall(c.sim.transport(), thief, status=503)
    result = c.cycle()
    assert thief.requests_since() == []  # the retry of the 503 is a call too: asked the lease, not sent
    assert _state(Path(c.settings.db_path), US) == thief.snapshot
    assert _states(result) == {US: "lock_lost", CA: "worked"}


def test_run_that_lost_its_only_marketplace_exits_75(cron: Callable[..., SimulatedCron]) -> None:
    c = cron((US,))
    thief = _armed(c)
    result = c.cycle()
    assert thief.requests_since() == []
    assert _state(Path(c.settings.db_path), US) == thief.snapshot
    assert _states(result) == {US: "lock_lost"} and result.exit_code == 75


@pytest.mark.parametrize("stolen", [True, False])
def test_ledger_conflict_on_a_lost_marketplace_is_a_lost_lease(cron: Callable[..., SimulatedCron],
                                                              monkeypatch: pytest.MonkeyPatch, stolen: bool) -> None:
    c = cron((US, CA))
    c.cycle()

    def conflicting(db: Any, window: Any, *args: Any, **kwargs: Any) -> Any:
        if window.marketplace_id == US:
            if stolen:
                with sqlite3.connect(c.settings.db_path) as other:  # another process takes US over
                    other.execute("UPDATE vendor_rt_sales_worker_lock SET owner = ? WHERE marketplace_id = ?",
                                  [THIEF, US])
            raise LedgerConflict(f"ledger conflict for {US}: moved by someone else")
        return original(db, window, *args, **kwargs)

    original = windows.apply_window
    monkeypatch.setattr(windows, "apply_window", conflicting)
    if not stolen:  # our own lease, and still a conflict: a real fault, not hidden
        with pytest.raises(LedgerConflict):
            c.cycle()
        return
    result = c.cycle()
    assert _states(result) == {US: "lock_lost", CA: "worked"} and result.exit_code == 0


@pytest.fixture
def loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Simulator, FrozenClock, Path]]:
    clock = FrozenClock(START)
    sim = Simulator(seed=11, clock=clock)
    with BackgroundServer(sim) as server:
        env = {"LWA_CLIENT_ID": DEFAULT_CLIENT_ID, "LWA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
               "LWA_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN, "SPAPI_ENDPOINT": server.base_url,
               "LWA_TOKEN_URL": f"{server.base_url}/auth/o2/token", "RTSALES_DB": str(tmp_path / "lease.db")}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield sim, clock, tmp_path / "lease.db"


@pytest.mark.parametrize(("marketplaces", "code"), [((US,), 75), ((US, CA), 0)])
def test_cli_exit_code_after_a_lost_lease(loopback: tuple[Simulator, FrozenClock, Path],
                                          monkeypatch: pytest.MonkeyPatch, marketplaces: tuple[str, ...],
                                          code: int) -> None:
    sim, clock, db_path = loopback
    monkeypatch.setenv("MARKETPLACE_IDS", ",".join(marketplaces))
    monkeypatch.setenv("RTSALES_NOW", iso(clock.now()))
    assert runner.invoke(app, ["sync", "--quiet"]).exit_code == 0  # reports created
    clock.advance(timedelta(minutes=15))
    thief, handle = Thief(sim, db_path, US), sim.handle

    def stealing(*args: Any, **kwargs: Any) -> Any:  # runs in the server's thread, mid-request
        reply = handle(*args, **kwargs)
        thief.watch(sim.log.entries[-1])
        return reply

    monkeypatch.setattr(sim, "handle", stealing)
    monkeypatch.setenv("RTSALES_NOW", iso(clock.now()))
    result = runner.invoke(app, ["sync", "--quiet"])
    assert result.exit_code == code, result.stderr
    assert "lost the lock for ATVPDKIKX0DER" in result.stderr and "error:" not in result.stderr
    assert thief.requests_since() == []
    assert _state(db_path, US) == thief.snapshot
