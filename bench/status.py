"""`rtsales status` on a big store: whole-process wall time next to the floor, and query plans.

    .venv/bin/python bench/status.py [--runs 15] [--days 365] [--asins 457] [--code PATH]

The store is bench/bigdb.py's (one year of ledger for 5 marketplaces, ~20M sales
rows; built on first use, then cached). `rtsales --db STORE status` and
`... status --json` run as whole processes (output to a pipe) with MARKETPLACE_IDS
naming the 5 marketplaces and RTSALES_NOW just after the ledger's newest hour,
alternating with the floor `python -c "import typer, rich, sqlite_utils"`;
medians of --runs runs. The file stays in the page cache between runs (24 GB RAM).
rtsales runs as `python -m rtsales` (what the console script does); `--code PATH`
puts another checkout first on PYTHONPATH (before/after; query plans are then skipped).

Then status runs once more inside this process with a trace on every SQLite
connection: each SELECT it sent is shown with its own time (median of 3) and its
EXPLAIN QUERY PLAN, and flagged when it scans a table or a whole index (SCAN)
instead of searching one (SEARCH). It works on whatever queries status sends, so
it can be run again as status changes.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bigdb  # noqa: E402
from common import PYTHON, clean_env, machine, median, table, timed_process  # noqa: E402

from rtsales.clock import iso  # noqa: E402

FLOOR = [PYTHON, "-c", "import typer, rich, sqlite_utils"]
RTSALES = [PYTHON, "-m", "rtsales"]


def environment() -> dict[str, str]:
    return {**clean_env(), "MARKETPLACE_IDS": ",".join(bigdb.MARKETPLACES), "RTSALES_NOW": iso(bigdb.NOW)}


def timings(store: Path, runs: int, code: Path | None) -> list[list[object]]:
    env, cwd = environment(), store.parent
    if code:
        env["PYTHONPATH"] = str(code.resolve())
    commands = {"status": [*RTSALES, "--db", str(store), "status"],
                "status --json": [*RTSALES, "--db", str(store), "status", "--json"]}
    seconds: dict[str, list[float]] = {name: [] for name in [*commands, "floor"]}
    for run in range(runs):
        order = [*commands, "floor"] if run % 2 == 0 else ["floor", *commands]
        for name in order:
            took, done = timed_process(commands.get(name, FLOOR), env, cwd)
            if done.returncode != 0:
                raise SystemExit(f"{name} exited {done.returncode}: {done.stderr}")
            seconds[name].append(took)
    floor = median(seconds["floor"])
    return [[name, f"{median(seconds[name]):.3f}", f"{floor:.3f}", f"{median(seconds[name]) / floor:.2f}"]
            for name in commands]


def traced_statements(store: Path) -> list[str]:
    """Every statement the status command sends, in order (values bound in)."""
    from typer.testing import CliRunner

    from rtsales.cli import app
    sent: list[str] = []
    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(sent.append)
        return conn

    sqlite3.connect = connect  # type: ignore[assignment]
    try:
        result = CliRunner().invoke(app, ["--db", str(store), "status", "--json"], env=environment())
    finally:
        sqlite3.connect = real_connect  # type: ignore[assignment]
    if result.exit_code != 0:
        raise SystemExit(f"status failed: {result.output}")
    return sent


def plans(store: Path) -> list[list[object]]:
    conn = sqlite3.connect(store)
    rows: list[list[object]] = []
    seen: set[str] = set()
    for sql in traced_statements(store):
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")) or sql in seen:
            continue
        seen.add(sql)
        plan = [detail for *_, detail in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        took = []
        for _ in range(3):
            began = time.perf_counter()
            conn.execute(sql).fetchall()
            took.append(time.perf_counter() - began)
        scans = [p for p in plan if p.startswith("SCAN")]
        rows.append([f"`{' '.join(sql.split())[:150]}`", f"{median(took) * 1000:.2f}", "; ".join(plan),
                     "**scan**" if scans else "search only"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--asins", type=int, default=457)
    parser.add_argument("--code", type=Path, help="run rtsales from this checkout instead")
    args = parser.parse_args()
    store = bigdb.ensure(args.days, args.asins)
    conn = sqlite3.connect(store)
    sales = conn.execute("SELECT COUNT(*) FROM vendor_realtime_sales").fetchone()[0]
    ledger = conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger").fetchone()[0]
    conn.close()
    code = f"code: {args.code}; " if args.code else ""
    print(f"Store: {sales:,} sales rows, {ledger:,} ledger rows, {store.stat().st_size / 1e9:.1f} GB. "
          f"Medians of {args.runs} runs, alternating; {code}{machine()}\n")
    print(table(["command", "rtsales s", "floor s", "ratio"], timings(store, args.runs, args.code)))
    if not args.code:
        print("\nQueries status sent (EXPLAIN QUERY PLAN):\n")
        print(table(["query", "ms", "plan", "verdict"], plans(store)))


if __name__ == "__main__":
    main()
