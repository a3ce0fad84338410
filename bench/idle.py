"""Idle cron run benchmark: `rtsales sync --quiet` when there is nothing to do.

    .venv/bin/python bench/idle.py [--runs 15] [--marketplaces 5] [--code PATH]

A store is filled first by `SimulatedCron` (7-day lookback, daily audit on) until
every hour holds data and the audit has run, and the reports the last runs left in
flight are collected a few minutes later. Then, with RTSALES_NOW one minute after that
(no new hour due, no audit due, the live refresh not due again: the idle run between two
refreshes), the real `rtsales sync --quiet` process runs against
a loopback simulator (`BackgroundServer`, SPAPI_ENDPOINT and LWA_TOKEN_URL pointing at
it), in two states:

* idle: nothing claimable, nothing in flight, no audit due (exit 0);
* cooldown: the same, inside an SP-API cooldown (exit 75).

Reported: median wall time of the whole process (fork to exit) next to the floor,
`python -c "import typer, rich, sqlite_utils"`, run alternately with it; the HTTP
requests the simulator saw (must be 0); and whether httpx or tenacity were imported
(`python -X importtime`). rtsales runs as `python -m rtsales` (what the console
script does); `--code PATH` puts another checkout first on PYTHONPATH (before/after).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, clean_env, data_dir, machine, median, table, timed_process  # noqa: E402

from rtsales.clock import iso, parse_instant  # noqa: E402
from rtsales.quota import start_cooldown  # noqa: E402
from rtsales.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, BackgroundServer  # noqa: E402
from rtsales.simulator.cron import SimulatedCron  # noqa: E402
from rtsales.store import open_db  # noqa: E402

MARKETPLACES = ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A1F83G8C2ARO7P", "A1PA6795UKMFR9")
START = parse_instant("2026-03-10T12:07:00Z")
FLOOR = [PYTHON, "-c", "import typer, rich, sqlite_utils"]
RTSALES = [PYTHON, "-m", "rtsales"]


def settled_store(folder: Path, marketplaces: int) -> SimulatedCron:
    """A store where every hour is APPLIED and the daily audit has just run; returns the cron."""
    cron = SimulatedCron(folder / "idle.db", MARKETPLACES[:marketplaces], START, seed=1)
    cron.settle(200)
    cron.clock.advance(-timedelta(minutes=12))  # 3 minutes after the run that settled it
    for _ in range(5):  # collect what those runs left in flight, before the next live refresh is due
        cron.cycle(advance=False)
        if not cron.results[-1].calls.get("createReport") and not _in_flight(cron):
            break
        cron.clock.advance(timedelta(minutes=2))
    cron.clock.advance(timedelta(minutes=1))
    if cron.pending() or _in_flight(cron):
        raise SystemExit("the store did not settle")
    return cron


def _in_flight(cron: SimulatedCron) -> int:
    return int(cron.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE status IN "
                                    "('REQUESTED', 'DOWNLOADED')").fetchone()[0])


def environment(base_url: str, db: Path, now: str, marketplaces: int) -> dict[str, str]:
    return {**clean_env(), "LWA_CLIENT_ID": DEFAULT_CLIENT_ID, "LWA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "LWA_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN, "MARKETPLACE_IDS": ",".join(MARKETPLACES[:marketplaces]),
            "SPAPI_ENDPOINT": base_url, "LWA_TOKEN_URL": f"{base_url}/auth/o2/token", "RTSALES_DB": str(db),
            "RTSALES_NOW": now}


def imports(env: dict[str, str], cwd: Path) -> str:
    """Which of httpx / tenacity the idle process imported."""
    _, done = timed_process([PYTHON, "-X", "importtime", *RTSALES[1:], "sync", "--quiet"], env, cwd)
    found = [name for name in ("httpx", "tenacity") if f"| {name}\n" in done.stderr or f" {name}\n" in done.stderr]
    return ", ".join(found) if found else "neither"


def measure(env: dict[str, str], cwd: Path, runs: int, expected_exit: int) -> tuple[list[float], list[float]]:
    ours: list[float] = []
    floor: list[float] = []
    for run in range(runs):
        for which in ((0, 1) if run % 2 == 0 else (1, 0)):
            seconds, done = timed_process([*RTSALES, "sync", "--quiet"] if which == 0 else FLOOR, env, cwd)
            if which == 0 and done.returncode != expected_exit:
                raise SystemExit(f"rtsales sync exited {done.returncode}, expected {expected_exit}: {done.stderr}")
            (ours if which == 0 else floor).append(seconds)
    return ours, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--marketplaces", type=int, default=5)
    parser.add_argument("--code", type=Path, help="run rtsales from this checkout instead")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=data_dir()) as name:
        folder = Path(name)
        cron = settled_store(folder, args.marketplaces)
        cron.db.conn.close()
        with BackgroundServer(cron.sim) as server:
            env = environment(server.base_url, folder / "idle.db", iso(cron.clock.now()), args.marketplaces)
            if args.code:
                env["PYTHONPATH"] = str(args.code.resolve())
            for state, exit_code in (("idle (nothing to do)", 0), ("cooldown", 75)):
                if exit_code == 75:
                    db = open_db(folder / "idle.db")
                    start_cooldown(db, "spapi", cron.clock.now(), timedelta(minutes=30), timedelta(hours=4))
                    db.conn.close()
                before = len(cron.sim.log.entries)
                ours, floor = measure(env, folder, args.runs, exit_code)
                requests = len(cron.sim.log.entries) - before
                rows.append([state, exit_code, f"{median(ours):.3f}", f"{median(floor):.3f}",
                             f"{median(ours) / median(floor):.2f}", requests, imports(env, folder)])
    headers = ["state", "exit", "rtsales sync s", "floor s", "ratio", "HTTP requests", "imported"]
    code = f"code: {args.code}; " if args.code else ""
    print(f"Medians of {args.runs} runs each, alternating; {args.marketplaces} marketplaces; {code}{machine()}\n")
    print(table(headers, rows))


if __name__ == "__main__":
    main()
