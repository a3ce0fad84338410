"""SIGTERM (systemd, docker, a cron timeout) mid-request: leases released, exit 143, one stderr line."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from rtsales import lock
from rtsales.clock import FrozenClock, iso
from rtsales.errors import Terminated
from rtsales.simulator import (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, BackgroundServer,
                               Faults, Simulator)
from rtsales.simulator.cron import SimulatedCron
from rtsales.sync.engine import SyncRun
from tests.conftest import unstamped
from tests.e2e.conftest import START, US


def _env(base_url: str, db: Path, clock: FrozenClock) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return {**keep, "LWA_CLIENT_ID": DEFAULT_CLIENT_ID, "LWA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "LWA_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN, "MARKETPLACE_IDS": US, "SPAPI_ENDPOINT": base_url,
            "LWA_TOKEN_URL": f"{base_url}/auth/o2/token", "RTSALES_DB": str(db), "RTSALES_NOW": iso(clock.now()),
            "HTTP_TIMEOUT_SECONDS": "10"}


def _locks(db: Path) -> list[tuple[str, str]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute("SELECT marketplace_id, owner FROM vendor_rt_sales_worker_lock").fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        return []
    finally:
        conn.close()


def _wait_until_mid_request(proc: subprocess.Popen[str], db: Path, sim: Simulator) -> None:
    """Until the run holds its lease and waits for a (slow) createReport answer; bounded, never a fixed sleep."""
    for _ in range(600):
        assert proc.poll() is None, proc.communicate()
        if _locks(db) and sim.log.count("createReport"):
            return
        time.sleep(0.05)
    raise AssertionError("the sync never took its lease and reached the simulator")


def test_sigterm_releases_leases_and_the_next_run_resumes(tmp_path: Path) -> None:
    clock = FrozenClock(START)
    sim = Simulator(seed=5, clock=clock, faults=Faults(p_slow=1.0, slow_seconds=3))
    db = tmp_path / "term.db"
    with BackgroundServer(sim) as server:
        proc = subprocess.Popen([sys.executable, "-m", "rtsales", "sync"], env=_env(server.base_url, db, clock),
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_until_mid_request(proc, db, sim)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 143, err
        assert unstamped(err).splitlines() == ["error: stopped by SIGTERM (leases released; the next run resumes)"]
        assert _locks(db) == []  # released now, not after LOCK_TTL_MINUTES

        conn = sqlite3.connect(db)
        assert conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE status = 'REQUESTED' "
                            "AND report_id IS NULL").fetchone()[0] == 0  # the claim in flight was handed back
        sim.set_faults(Faults())
        for _ in range(2):  # the next cron runs, at once: no stale lease to wait out or take over
            after = subprocess.run([sys.executable, "-m", "rtsales", "sync", "--quiet"], cwd=tmp_path, timeout=60,
                                   env=_env(server.base_url, db, clock), capture_output=True, text=True, check=False)
            assert (after.returncode, after.stderr) == (0, "")
            clock.advance(timedelta(minutes=15))
        assert conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE data_state = 'none'"
                            ).fetchone()[0] == 0  # every hour held (the last run's live refresh may be in flight)
        conn.close()


@pytest.mark.parametrize("step", ["_seed_all", "_learned_caps", "_client"])
def test_sigterm_before_the_first_call_releases_the_leases(cron: Callable[..., SimulatedCron],
                                                            monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    c = cron((US,))

    def stopped(*args: object) -> None:
        raise Terminated()

    monkeypatch.setattr(SyncRun, step, stopped)  # e.g. while httpx is still being imported
    with pytest.raises(Terminated):
        c.run_command("sync")
    assert lock.current(c.db, US) is None
