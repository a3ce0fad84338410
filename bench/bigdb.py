"""A big store for the status benchmark: one year of ledger for 5 marketplaces, ~20M sales rows.

    .venv/bin/python bench/bigdb.py [--force] [--asins 457] [--days 365]

Writes bench/.data/status-<days>d-5mp-<asins>asins.db (about 2 GB; git-ignored) and
reuses it while it exists. The schema comes from `open_db` (every migration); the
rows are made inside SQLite with INSERT ... SELECT over small hour and ASIN tables,
in primary-key order, one transaction per marketplace and journal off while
writing, so a 20M-row file takes a couple of minutes. The store looks lived-in:
every hour APPLIED except the last two (MISSING) and one FAILED hour per
marketplace, a daily audit run per day, and an old, finished cooldown.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_dir  # noqa: E402

from rtsales.clock import HOUR, hour_key, iso, parse_instant  # noqa: E402
from rtsales.store import open_db  # noqa: E402

# UK, DE, FR, IT, ES: one region, as one configuration must be.
MARKETPLACES = ("A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4", "A1RKKUPIHCS9HS")
CURRENCY = {"A1F83G8C2ARO7P": "GBP", "A1PA6795UKMFR9": "EUR", "A13V1IB3VIYZZH": "EUR", "APJ6JRA9NG5V4": "EUR",
            "A1RKKUPIHCS9HS": "EUR"}
END = parse_instant("2026-03-10T00:00:00Z")  # the first hour not in the ledger
NOW = END + timedelta(minutes=97)  # "now" for commands run against it: 01:37, newest wanted hour 23:00


def path_for(days: int, asins: int) -> Path:
    return data_dir() / f"status-{days}d-5mp-{asins}asins.db"


def build(path: Path, days: int, asins: int) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    open_db(path).conn.close()  # schema, migrations, WAL
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")  # 256 MB while writing
    start = END - timedelta(days=days)
    _helpers(conn, start, days * 24, asins)
    for mp in MARKETPLACES:
        began = time.perf_counter()
        conn.execute("BEGIN")
        _sales(conn, mp, start)
        _ledger(conn, mp, start)
        _audits(conn, mp, start, days)
        conn.execute("COMMIT")
        print(f"{mp}: {time.perf_counter() - began:.0f} s", file=sys.stderr)
    conn.execute("INSERT INTO api_cooldowns VALUES ('spapi', 'quota', ?, 0, ?)",
                 [iso(start + timedelta(days=40, minutes=30)), iso(start + timedelta(days=40))])
    conn.execute("DROP TABLE bench_hours")
    conn.execute("DROP TABLE bench_asins")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()


def _helpers(conn: sqlite3.Connection, start: datetime, hours: int, asins: int) -> None:
    conn.execute("CREATE TABLE bench_hours (n INTEGER PRIMARY KEY, hour_utc TEXT NOT NULL)")
    conn.executemany("INSERT INTO bench_hours VALUES (?, ?)",
                     [(n, hour_key(start + n * HOUR)) for n in range(hours)])
    conn.execute("CREATE TABLE bench_asins (n INTEGER PRIMARY KEY, asin TEXT NOT NULL)")
    conn.executemany("INSERT INTO bench_asins VALUES (?, ?)", [(n, f"B0{n:08d}") for n in range(asins)])


def _sales(conn: sqlite3.Connection, mp: str, start: datetime) -> None:
    conn.execute(
        "INSERT INTO vendor_realtime_sales SELECT ?, a.asin, h.hour_utc, (h.n * 7 + a.n * 13) % 9 - 1, "
        "((h.n * 7 + a.n * 13) % 9 - 1) * (5 + a.n % 40) + 0.99, ?, 'R' || (h.n / 24), ? "
        "FROM bench_hours h CROSS JOIN bench_asins a ORDER BY h.n, a.n",
        [mp, CURRENCY[mp], iso(start)])


def _ledger(conn: sqlite3.Connection, mp: str, start: datetime) -> None:
    conn.execute("INSERT INTO vendor_rt_sales_hour_ledger (marketplace_id, hour_utc, status, report_id, attempts, "
                 "updated_at, data_state) SELECT ?, hour_utc, 'APPLIED', 'R' || (n / 24), 1, hour_utc, 'final' "
                 "FROM bench_hours", [mp])
    conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'MISSING', report_id = NULL, data_state = 'none' WHERE "
                 "marketplace_id = ? AND hour_utc >= ?", [mp, hour_key(END - 2 * HOUR)])
    conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', last_error = 'report R1 FATAL', "
                 "next_retry_utc = ? WHERE marketplace_id = ? AND hour_utc = ?",
                 [iso(END + HOUR), mp, hour_key(END - 30 * HOUR)])


def _audits(conn: sqlite3.Connection, mp: str, start: datetime, days: int) -> None:
    conn.executemany("INSERT INTO vendor_rt_sales_audit_runs (kind, marketplace_id, started_at, finished_at, hours, "
                     "hours_changed, units_delta, revenue_delta) VALUES ('daily', ?, ?, ?, 48, 3, -2, -19.98)",
                     [(mp, iso(start + timedelta(days=d, hours=1)), iso(start + timedelta(days=d, hours=2)))
                      for d in range(1, days)])


def ensure(days: int = 365, asins: int = 457, force: bool = False) -> Path:
    """The cached store, built first if it is missing (or --force)."""
    path = path_for(days, asins)
    if force or not path.exists():
        began = time.perf_counter()
        build(path, days, asins)
        print(f"built {path} in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--asins", type=int, default=457)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    path = ensure(args.days, args.asins, args.force)
    conn = sqlite3.connect(path)
    sales = conn.execute("SELECT COUNT(*) FROM vendor_realtime_sales").fetchone()[0]
    ledger = conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger").fetchone()[0]
    print(f"{path}: {sales:,} sales rows, {ledger:,} ledger rows, {path.stat().st_size / 1e9:.2f} GB; now={iso(NOW)}")


if __name__ == "__main__":
    main()
