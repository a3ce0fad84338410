"""Commands that call no API stay light: no httpx, tenacity or pydantic in the process.

Each command runs in a fresh interpreter that writes its `sys.modules` on exit; an
idle cron run (nothing claimable, nothing in flight, no audit due) must also leave
rich's console alone and send nothing (SPAPI_ENDPOINT points at a closed port).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rtsales.cli import app
from rtsales.clock import iso
from rtsales.quota import start_cooldown
from rtsales.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN
from rtsales.simulator.cron import SimulatedCron
from rtsales.store import open_db
from tests.conftest import T0

HEAVY = {"httpx", "tenacity", "pydantic"}
US = "ATVPDKIKX0DER"
CLOSED = "http://127.0.0.1:9"  # discard port: nothing listens, a request would fail the run


def _run(args: list[str], cwd: Path, env_file: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = cwd / "modules.txt"
    code = ("import atexit, runpy, sys\n"
            f"atexit.register(lambda: open({str(out)!r}, 'w').write(' '.join(sys.modules)))\n"
            f"sys.argv = ['rtsales', '--env-file', {str(env_file)!r}, *{args!r}]\n"
            "runpy.run_module('rtsales', run_name='__main__')\n")
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    done = subprocess.run([sys.executable, "-c", code], env=keep, cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)
    return done, set(out.read_text().split())


def _env_file(folder: Path, now: str) -> Path:
    path = folder / "sim.env"
    path.write_text(f"LWA_CLIENT_ID={DEFAULT_CLIENT_ID}\nLWA_CLIENT_SECRET={DEFAULT_CLIENT_SECRET}\n"
                    f"LWA_REFRESH_TOKEN={DEFAULT_REFRESH_TOKEN}\nMARKETPLACE_IDS={US}\nSPAPI_ENDPOINT={CLOSED}\n"
                    f"LWA_TOKEN_URL={CLOSED}/auth/o2/token\nRTSALES_DB={folder / 'idle.db'}\nRTSALES_NOW={now}\n"
                    "LOOKBACK_DAYS=1\n")
    return path


@pytest.fixture
def idle_store(tmp_path: Path) -> tuple[SimulatedCron, Path]:
    """Every hour held, the daily audit done, the last live refresh applied and not due again yet:
    the run a few minutes after the one that refreshed it has nothing to do."""
    cron = SimulatedCron(tmp_path / "idle.db", (US,), T0, seed=2, settings={"LOOKBACK_DAYS": "1"})
    cron.settle(40)
    cron.clock.advance(-timedelta(minutes=12))  # 3 minutes after the run that settled it
    for _ in range(5):  # collect what that run left in flight
        cron.cycle(advance=False)
        if not cron.results[-1].calls.get("createReport"):
            break
        cron.clock.advance(timedelta(minutes=3))
    cron.clock.advance(timedelta(minutes=1))
    assert cron.pending() == 0 and not _in_flight(cron)
    return cron, _env_file(tmp_path, iso(cron.clock.now()))


def _in_flight(cron: SimulatedCron) -> int:
    return cron.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE status IN "
                                "('REQUESTED', 'DOWNLOADED')").fetchone()[0]


def test_idle_quiet_sync_builds_no_client_and_prints_nothing(idle_store: tuple[SimulatedCron, Path]) -> None:
    cron, env_file = idle_store
    done, modules = _run(["sync", "--quiet"], env_file.parent, env_file)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    assert not modules & (HEAVY | {"rich.console"})


def test_sync_in_cooldown_imports_no_api_client(idle_store: tuple[SimulatedCron, Path]) -> None:
    cron, env_file = idle_store
    start_cooldown(cron.db, "spapi", cron.clock.now(), timedelta(minutes=30), timedelta(hours=4))
    done, modules = _run(["sync", "--quiet"], env_file.parent, env_file)
    assert done.returncode == 75, done.stderr
    assert not modules & HEAVY


def test_sync_with_work_does_call_out(idle_store: tuple[SimulatedCron, Path]) -> None:
    cron, env_file = idle_store
    later = iso(cron.clock.now() + timedelta(hours=1))  # a new hour is due: the client is built
    env_file.write_text(env_file.read_text().replace(f"RTSALES_NOW={iso(cron.clock.now())}", f"RTSALES_NOW={later}"))
    done, modules = _run(["sync", "--quiet"], env_file.parent, env_file)
    assert "httpx" in modules and "connection failed" in done.stderr + done.stdout + _last_error(cron)


def _last_error(cron: SimulatedCron) -> str:
    row = cron.db.conn.execute("SELECT MAX(last_error) FROM vendor_rt_sales_hour_ledger").fetchone()
    return row[0] or ""


def test_status_imports_no_api_client(tmp_path: Path) -> None:
    open_db(tmp_path / "idle.db").conn.close()  # status reads a database; it never creates one
    done, modules = _run(["status", "--json"], tmp_path, _env_file(tmp_path, iso(T0)))
    assert done.returncode == 0, done.stderr
    assert not modules & HEAVY


def test_option_values_are_still_coerced_and_checked_by_typer(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "d.db"), "demo", "--days", "0"])
    assert result.exit_code == 2 and "--days" in result.output
