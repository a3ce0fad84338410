"""crontab.example works as written: its job lines, run the way cron runs them, against the simulator.

Cron runs a job with `/bin/sh -c`, a minimal environment (HOME, LOGNAME, PATH=/usr/bin:/bin, SHELL and
the crontab's own NAME=value lines), no terminal, and mails whatever the job prints. Only the
placeholder folder is replaced (by a temporary one holding `.venv` -> this interpreter's virtualenv and
a `.env` pointing at a loopback simulator).
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from rtsales.clock import FrozenClock, iso
from rtsales.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, BackgroundServer
from rtsales.simulator import Simulator
from rtsales.store import open_db
from tests.conftest import STAMP
from tests.e2e.conftest import START, US

CRONTAB = Path(__file__).resolve().parents[2] / "crontab.example"
FOLDER = "/srv/rtsales"  # the placeholder the file explains
VENV = Path(sys.executable).parent.parent


def _crontab() -> tuple[dict[str, str], list[str]]:
    """(the crontab's variables, the commands of its job lines)."""
    variables, commands = {}, []
    for line in CRONTAB.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if re.match(r"^[A-Z_]+=", line):
            name, value = line.split("=", 1)
            variables[name] = value
        else:
            commands.append(line.split(None, 5)[5])
    return variables, commands


def _cron_run(command: str, variables: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    assert "%" not in command, "cron turns % into a newline: escape it as \\%"
    env = {"HOME": str(home), "LOGNAME": "rtsales", "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh", **variables}
    return subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in env.items()), "/bin/sh", "-c",
                           command.replace(FOLDER, str(home))],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False,
                          start_new_session=True)  # no controlling terminal, as under cron


def _install(home: Path, base_url: str, secret: str = DEFAULT_CLIENT_SECRET) -> None:
    if not (home / ".venv").exists():
        (home / ".venv").symlink_to(VENV, target_is_directory=True)
    env_file = home / ".env"
    env_file.write_text(f"LWA_CLIENT_ID={DEFAULT_CLIENT_ID}\nLWA_CLIENT_SECRET={secret}\n"
                        f"LWA_REFRESH_TOKEN={DEFAULT_REFRESH_TOKEN}\nMARKETPLACE_IDS={US}\n"
                        f"SPAPI_ENDPOINT={base_url}\nLWA_TOKEN_URL={base_url}/auth/o2/token\n"
                        f"RTSALES_NOW={iso(START)}\nLWA_CLIENT_SECRET_ROTATED=2026-03-01\n")
    env_file.chmod(0o600)


@pytest.mark.skipif(not (VENV / "bin" / "rtsales").exists(), reason="needs the rtsales script of this virtualenv")
def test_the_cron_lines_run_as_written_and_mail_only_problems(tmp_path: Path) -> None:
    variables, commands = _crontab()
    assert variables["SHELL"] == "/bin/sh" and len(commands) == 2
    sync, doctor = commands
    assert "sync --quiet" in sync and "doctor --quiet" in doctor
    home = tmp_path / "home"
    home.mkdir()
    clock = FrozenClock(START)
    with BackgroundServer(Simulator(seed=2, clock=clock)) as server:
        _install(home, server.base_url)
        fine = _cron_run(sync, variables, home)
        assert (fine.returncode, fine.stdout, fine.stderr) == (0, "", "")  # nothing printed: cron sends no mail
        assert open_db(home / "rtsales.db").conn.execute(
            "SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE report_id IS NOT NULL").fetchone()[0] > 0
        log = home / "sync.log"
        assert log.exists() and log.read_text() == ""  # the log keeps problems only
        assert log.stat().st_mode & 0o077 == 0  # umask 077: private
        healthy = _cron_run(doctor, variables, home)
        assert (healthy.returncode, healthy.stdout, healthy.stderr) == (0, "", "")

        _install(home, server.base_url, secret="a-rotated-away-secret")
        clock.advance(timedelta(minutes=15))
        broken = _cron_run(sync, variables, home)
        sick = _cron_run(doctor, variables, home)
    mailed = broken.stdout + broken.stderr
    assert re.fullmatch(rf"{STAMP}error: client credentials rejected by Login with Amazon \(invalid_client\) "
                        r"\(check LWA_CLIENT_ID and LWA_CLIENT_SECRET\)\n", mailed), mailed
    assert log.read_text() == mailed  # the same dated line, kept
    assert sick.stdout.startswith("✘ Login with Amazon: client credentials rejected") and sick.returncode == 1


def test_the_placeholders_and_the_rotation_are_explained() -> None:
    text = CRONTAB.read_text()
    comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    for placeholder in (FOLDER, "you@example.com", ".venv", ".env"):
        assert placeholder in comments, placeholder
    assert re.search(r"^#\s+/srv/rtsales/sync\.log \{", text, re.M)  # a logrotate snippet for the log the line writes
