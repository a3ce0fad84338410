"""Output fit for pipes and cron logs: real processes, pipes for stdout and stderr (no terminal),
and one run with stderr on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from rtsales import lock
from rtsales.clock import FrozenClock, iso
from rtsales.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, BackgroundServer
from rtsales.simulator import Simulator
from rtsales.store import open_db, transaction
from tests.e2e.conftest import CA, START, US

STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ")
MX = "A1AM78C64UM0Y8"


def _env(db: Path, base: str = "http://127.0.0.1:9", marketplaces: str = US) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {**keep, "LWA_CLIENT_ID": DEFAULT_CLIENT_ID, "LWA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "LWA_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN, "MARKETPLACE_IDS": marketplaces, "SPAPI_ENDPOINT": base,
            "LWA_TOKEN_URL": f"{base}/auth/o2/token", "RTSALES_DB": str(db), "RTSALES_NOW": iso(START)}


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rtsales", *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, check=False)


def _locked_by_another(db_path: Path) -> None:
    db = open_db(db_path)
    for mp in (US, CA, MX):
        assert lock.acquire(db, mp, "sync:424242", START, timedelta(minutes=15)).acquired
    db.conn.close()


def test_a_long_line_is_not_wrapped_and_carries_a_timestamp_off_a_terminal(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    _locked_by_another(db)
    done = _run(["sync"], _env(db, marketplaces=f"{US},{CA},{MX}"), tmp_path)
    assert done.returncode == 75
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines  # 190 characters, one line: no wrapping at 80 columns
    assert STAMP.match(lines[0]) and len(lines[0]) > 150
    assert lines[0][21:].startswith("skipped: every marketplace is locked by another worker (")
    assert lines[0].endswith(f"{MX} held by sync:424242 until {iso(START + timedelta(minutes=15))})")


def test_tables_in_a_pipe_are_neither_wrapped_nor_padded(tmp_path: Path) -> None:
    clock = FrozenClock(START)
    with BackgroundServer(Simulator(seed=4, clock=clock)) as server:
        env = _env(tmp_path / "t.db", server.base_url, f"{US},{CA}")
        synced = _run(["sync"], env, tmp_path)
        status = _run(["status", "--days", "2"], env, tmp_path)
    for done in (synced, status):
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines and not [line for line in lines if line != line.rstrip()], lines
    assert any(line.startswith("rtsales sync at ") for line in synced.stdout.splitlines())
    refresh = [line for line in status.stdout.splitlines() if "live refresh" in line]
    assert len(refresh) == 2 and all("(younger than SETTLE_HOURS=3" in line for line in refresh), refresh


def _sales_db(path: Path, asins: int) -> None:
    db = open_db(path)
    hour = "2026-03-10T10:00:00Z"
    with transaction(db) as conn:
        conn.execute("INSERT INTO vendor_rt_sales_hour_ledger (marketplace_id, hour_utc, status, updated_at, "
                     "data_state) VALUES (?, ?, 'APPLIED', ?, 'final')", [US, hour, iso(START)])
        conn.executemany("INSERT INTO vendor_realtime_sales VALUES (?, ?, ?, 1, 9.99, 'USD', NULL, ?)",
                         [(US, f"B{i:09d}", hour, iso(START)) for i in range(asins)])
    db.conn.close()


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`sales --csv | head -1`: far more than a pipe buffer of rows, and the reader gone after one line."""
    db = tmp_path / "sales.db"
    _sales_db(db, 5000)
    done = subprocess.run(["/bin/sh", "-c", f"{sys.executable} -m rtsales sales --csv | head -1"],
                          env=_env(db), cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.stdout == "marketplace_id,asin,title,ordered_units,ordered_revenue,currency_code,final\n"
    assert (done.returncode, done.stderr) == (0, "")  # no error line, no traceback
    with subprocess.Popen([sys.executable, "-m", "rtsales", "sales", "--csv"], env=_env(db), cwd=tmp_path,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline().startswith(b"marketplace_id,")
        process.stdout.close()
        error = process.stderr.read()
        code = process.wait(timeout=60)
    assert (code, error) == (141, b"")  # 128 + SIGPIPE, as the shell reports a writer the reader left


def test_verbose_logs_every_http_call_without_secrets(tmp_path: Path) -> None:
    clock = FrozenClock(START)
    sim = Simulator(seed=4, clock=clock)
    with BackgroundServer(sim) as server:
        done = _run(["-v", "sync", "--quiet"], _env(tmp_path / "v.db", server.base_url), tmp_path)
    assert done.returncode == 0, done.stderr
    calls = [line for line in done.stderr.splitlines() if re.search(r": HTTP \d{3} in \d+ ms", line)]
    assert len(calls) == len(sim.log.entries), (done.stderr, [e.operation for e in sim.log.entries])
    assert all(STAMP.match(line) for line in calls)
    created = [line for line in calls if "createReport" in line]
    assert created and all(re.search(r"createReport ATVPDKIKX0DER: HTTP 202 in \d+ ms, report \d+$", line)
                           for line in created), created
    assert any("Login with Amazon: HTTP 200 in" in line for line in calls)
    for secret in (DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, "Atza|", "sig="):
        assert secret not in done.stderr


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="needs a pseudo-terminal")
def test_on_a_terminal_the_run_shows_what_it_does_and_stderr_lines_are_not_stamped(tmp_path: Path) -> None:
    clock = FrozenClock(START)
    with BackgroundServer(Simulator(seed=4, clock=clock)) as server:
        env = {**_env(tmp_path / "tty.db", server.base_url), "COLUMNS": "200", "TERM": "xterm"}
        code, shown = _on_terminal(["sync"], env, tmp_path)
        piped = _run(["sync"], {**env, "RTSALES_DB": str(tmp_path / "piped.db")}, tmp_path)
    assert code == 0, shown
    assert "createReport ATVPDKIKX0DER" in shown  # the spinner line named the calls as they went
    assert piped.returncode == 0 and "createReport" not in piped.stderr  # off a terminal: no spinner
    code, shown = _on_terminal(["--env-file", "missing.env", "status"], env, tmp_path)
    assert code == 78 and re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown).startswith("error: env file not found")


def _on_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run rtsales with stderr on a pseudo-terminal; its exit code and what the terminal was sent."""
    master, slave = pty.openpty()
    try:
        with subprocess.Popen([sys.executable, "-m", "rtsales", *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=slave) as process:
            os.close(slave)
            shown = _read_all(master)  # read as it comes: a full pseudo-terminal would block the writer
            return process.wait(timeout=60), shown
    finally:
        os.close(master)


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO once the other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_run_says_what_it_waits_for(tmp_path: Path) -> None:
    """What a terminal's status line (and -v) shows while a run waits: Amazon preparing reports."""
    from rtsales import logs
    from rtsales.sync.engine import SyncRun
    from rtsales.simulator.cron import simulator_settings
    from tests.clocks import SteppingClock

    clock = SteppingClock(START)
    sim = Simulator(seed=4, clock=clock)
    settings = simulator_settings(tmp_path / "w.db", (US,), START)
    messages: list[str] = []
    with logs.listen(messages.append):
        result = SyncRun(open_db(tmp_path / "w.db"), settings, clock, sim.transport()).run()
    assert result.marketplaces[0].tally.hours_applied > 0
    waits = [m for m in messages if m.startswith("waiting ")]
    assert waits and all(re.fullmatch(r"waiting 30s for \d+ report\(s\) Amazon is still preparing", m)
                         for m in waits), messages


def test_fill_day_progress_has_its_total_before_the_first_request(tmp_path: Path) -> None:
    """The bar reads 0/24 from the start, not 0/?, and counts the hours this run fetched again."""
    from rtsales.sync.operator import fill_day
    from rtsales.simulator.cron import SimulatedCron
    from tests.clocks import SteppingClock

    cron = SimulatedCron(tmp_path / "f.db", (US,), START)
    cron.cycle()
    cron.cycle()
    clock = SteppingClock(cron.clock.now())
    cron.sim.clock = clock
    seen: list[tuple[int, int, int]] = []
    before = len(cron.sim.log.entries)
    fill_day(cron.db, cron.settings, clock, "2026-03-08", "UTC", (US,), transport=cron.sim.transport(),
             on_progress=lambda done, total: seen.append((done, total, len(cron.sim.log.entries))))
    assert seen[0] == (0, 24, before), seen  # before any request; every hour was held already, none fetched yet
    assert seen[-1][:2] == (24, 24)


def test_a_cooldown_is_told_in_one_format(tmp_path: Path) -> None:
    """The 429 warning, the sync summary and status all say `until 12:37 UTC`, never the stored ISO form."""
    from rtsales.simulator import Faults
    clock = FrozenClock(START)
    with BackgroundServer(Simulator(seed=4, clock=clock, faults=Faults(p429=1.0))) as server:
        env = _env(tmp_path / "c.db", server.base_url)
        hit = _run(["sync"], env, tmp_path)
        status = _run(["status"], env, tmp_path)
    said = hit.stdout + hit.stderr + status.stdout + status.stderr
    assert hit.stderr.count("until 12:37 UTC") >= 2 and "until 12:37 UTC" in status.stdout, said
    assert "2026-03-10T12:37" not in said and "12:37:00Z" not in said
