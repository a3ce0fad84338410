"""Quota benchmark: SP-API calls and simulated time to fill a gap, against the minimum.

    .venv/bin/python bench/quota.py [--days 1,7,30] [--marketplaces 1,5] [--windows 24,6,1]

Each scenario is a new database and a new simulator (seed 1) driven by
`SimulatedCron`: the real `SyncRun`, a frozen clock moved 15 minutes per cron run,
until every ledger hour is APPLIED. The gap is what a first run seeds with
LOOKBACK_DAYS=days. MAX_WINDOW_HOURS=24 is rtsales; 6 and 1 are the six-hour-chunk
and one-report-per-hour strategies through the same engine and simulator. Daily
audits are off (ENABLE_VENDOR_RT_SALES_DAILY_AUDIT=false) and the live refresh runs
once a day (LIVE_REFRESH_MINUTES=1440: the first run's rides in the newest gap window)
so only the gap is counted; bench/freshness.py measures the live refresh. The budget
is the default QUOTA_BUDGET_PERCENT (50), which sets how fast a large gap fills.

The minimum is ceil(gap hours / 24) reports per marketplace (24 hours is the longest
window Amazon accepts). Reports for hours that came due while the gap was being
filled (one per new hour, for every strategy) are counted apart. Everything here is
simulated and deterministic: one run per scenario is the figure.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_dir, machine, table  # noqa: E402

from rtsales.clock import parse_instant  # noqa: E402
from rtsales.simulator import Simulator  # noqa: E402
from rtsales.simulator.cron import CRON_INTERVAL, SimulatedCron  # noqa: E402

MARKETPLACES = ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A1F83G8C2ARO7P", "A1PA6795UKMFR9")
START = parse_instant("2026-03-10T12:07:00Z")
AMAZON_MAX_WINDOW = 24
MAX_RUNS = 2000


@dataclass
class Outcome:
    gap_hours: int
    minimum: int
    gap_creates: int
    creates: int
    get_report: int
    get_document: int
    throttled: int
    runs: int
    seconds: float


def run(days: int, marketplaces: int, window: int) -> Outcome:
    with tempfile.TemporaryDirectory(dir=data_dir()) as folder:
        age = max(168, 24 * days + 24)  # an account that serves this much history
        settings = {"LOOKBACK_DAYS": str(days), "MAX_WINDOW_HOURS": str(window), "MAX_DATA_AGE_HOURS": str(age),
                    "ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "false", "LIVE_REFRESH_MINUTES": "1440"}
        cron = SimulatedCron(Path(folder) / "quota.db", MARKETPLACES[:marketplaces], START,
                             settings=settings, simulator=Simulator(seed=1, max_data_age_hours=age))
        started = time.perf_counter()
        cron.cycle()
        gap = {(mp, key) for mp, key in cron.db.conn.execute(
            "SELECT marketplace_id, hour_utc FROM vendor_rt_sales_hour_ledger")}
        runs = 1
        while cron.pending() and runs < MAX_RUNS:
            cron.cycle()
            runs += 1
        seconds = time.perf_counter() - started
        cron.db.conn.close()
    return _outcome(cron, gap, runs, seconds)


def _outcome(cron: SimulatedCron, gap: set[tuple[str, str]], runs: int, seconds: float) -> Outcome:
    from rtsales.clock import hour_key, hours_between
    per_marketplace: dict[str, int] = {}
    for mp, _ in gap:
        per_marketplace[mp] = per_marketplace.get(mp, 0) + 1
    in_gap = [r for r in cron.sim.reports.reports.values()
              if any((r.marketplace_id, hour_key(h)) in gap for h in hours_between(r.start, r.end))]
    log = cron.sim.log
    return Outcome(gap_hours=max(per_marketplace.values()),
                   minimum=sum(math.ceil(n / AMAZON_MAX_WINDOW) for n in per_marketplace.values()),
                   gap_creates=len(in_gap), creates=log.count("createReport"), get_report=log.count("getReport"),
                   get_document=log.count("getReportDocument"), throttled=log.count(status=429), runs=runs,
                   seconds=seconds)


def _simulated(runs: int) -> str:
    minutes = int((runs - 1) * CRON_INTERVAL.total_seconds() // 60)  # first run at 0, last run done
    return f"{minutes // 60}h {minutes % 60:02d}m"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", default="1,7,30")
    parser.add_argument("--marketplaces", default="1,5")
    parser.add_argument("--windows", default="24,6,1")
    args = parser.parse_args()
    rows = []
    for days in map(int, args.days.split(",")):
        for count in map(int, args.marketplaces.split(",")):
            for window in map(int, args.windows.split(",")):
                o = run(days, count, window)
                name = {24: "rtsales (24 h)", 6: "6-hour chunks", 1: "one per hour"}.get(window, f"{window} h")
                rows.append([f"{days} d", count, name, o.gap_hours, o.minimum, o.gap_creates,
                             o.creates - o.gap_creates, o.get_report, o.get_document, o.throttled, o.runs,
                             _simulated(o.runs), f"{o.seconds:.1f}"])
    headers = ["gap", "marketplaces", "strategy", "gap hours per mp", "minimum reports", "createReport (gap)",
               "createReport (hours due meanwhile)", "getReport", "getReportDocument", "429s", "cron runs",
               "simulated time to all APPLIED", "bench s"]
    print(f"Deterministic (simulated time, seed 1). {machine()}\n")
    print(table(headers, rows))


if __name__ == "__main__":
    main()
