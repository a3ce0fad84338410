"""Freshness benchmark: how soon an hour reaches the database, and how soon its final numbers do.

    .venv/bin/python bench/freshness.py [--days 3] [--marketplaces 1,5] [--strategies before,desktop,rtsales]
                                        [--offset 0]

Cron every 15 minutes (:00, :15, :30, :45; --offset minutes later) against the in-process
simulator (seed 1, its late revisions on: an hour's numbers change until revision_hours=3
after its end). Each cron run has a running clock of its own, a SteppingClock started at the cron instant and
shared with the simulator, so the run waits for its reports as it does in production
(RUN_BUDGET_SECONDS=600 bounds it); the next run starts at the next tick. The engine
strategies first fill the 7-day gap of a new store (CATCH_UP); then `--days` are measured:

* first appearance: after every run (and, for the engine, after each of its polls: a run
  that waits for createReport tokens commits hours long before it ends), the hours that hold
  data (data_state != 'none') and were not seen before are stamped with that instant;
  minutes from the hour's end;
* final numbers: minutes from the instant the hour's numbers stopped changing in the
  simulator's truth (the settle instant) until the end of the run (or poll) after which the
  store holds exactly the final numbers; an hour that never gets them counts as "never";
* createReport and getReportDocument per marketplace per day, as a share of Amazon's plan
  (0.0167/s, about 1,443 a day each), counted over the measured days only; 429s anywhere.

Measured hours are those that end inside the measured days. After them cron goes on (its
calls no longer counted) until every measured hour holds its final numbers, at most
TAIL_MAX: a daily audit period plus the revision period. Strategies: "before" is the old
defaults through the real engine (see STRATEGIES), "desktop app" re-fetches the last three
whole hours every 15 minutes with rtsales' own client and ingest, "rtsales" is the engine
at its defaults. Deterministic: one run per row is the figure. A strategy's REPORT_TYPES
setting measures every kind it names, each against its own truth (bench/kinds.py does).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, data_dir, machine, table  # noqa: E402

sys.path.insert(0, str(ROOT))  # tests.clocks: the running clock the end-to-end tests use
from rtsales.clock import HOUR, floor_hour, hour_key, iso, parse_hour, parse_instant  # noqa: E402
from rtsales.config import Settings  # noqa: E402
from rtsales.quota import SPAPI_PLANS, Pacer  # noqa: E402
from rtsales.simulator.cron import CRON_INTERVAL, SimulatedCron  # noqa: E402
from rtsales.simulator.truth import SETTLE_FRACTIONS  # noqa: E402
from rtsales.store import transaction  # noqa: E402
from rtsales.sync.engine import POLL_INTERVAL, SyncRun  # noqa: E402
from rtsales.sync.ledger import HourStatus, Window, in_flight, seed, window_of  # noqa: E402
from rtsales.sync.windows import Tally, WindowWorker  # noqa: E402
from tests.clocks import SteppingClock  # noqa: E402

MARKETPLACES = ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A1F83G8C2ARO7P", "A1PA6795UKMFR9")
START = parse_instant("2026-03-10T00:00:00Z")  # a `*/15` cron line runs on the quarter hours (--offset)
CATCH_UP = timedelta(hours=6)  # the 7-day gap is filled within the first hour; the rest is steady state
TAIL_MAX = timedelta(hours=27)  # a daily audit period + the revision period: the longest a final can wait
DESKTOP_HOURS = 3
PLAN_PER_DAY = SPAPI_PLANS["createReport"].rate * 86400  # getReportDocument has the same plan
NEVER = math.inf
TARGETS = (("first appearance p95", "<= 20 min"), ("final numbers p95 after they settle", "<= 30 min"),
           ("createReport per marketplace per day", "<= 15 % of the plan"), ("429s", "0"))


@dataclass(frozen=True)
class Strategy:
    name: str
    settings: dict[str, str] = field(default_factory=dict)
    desktop: bool = False  # the desktop app's loop instead of SyncRun


STRATEGIES = {
    # The old defaults: SAFETY_LAG_MINUTES=90, no live refresh, no settle fetch, the daily audit.
    # LIVE_REFRESH_MINUTES=1440 alone would still leave the settle fetch (a provisional hour is asked
    # again once it settles). SETTLE_HOURS=1 switches both off: a first fetch 90 minutes after the
    # hour is then taken as final, and no hour is ever inside a one-hour live window 90 minutes late.
    "before": Strategy("before (old defaults)", {"SAFETY_LAG_MINUTES": "90", "LIVE_REFRESH_MINUTES": "1440",
                                                 "SETTLE_HOURS": "1"}),
    "desktop": Strategy("desktop app (last 3 h every 15 min)", desktop=True),
    "rtsales": Strategy("rtsales (defaults)"),
}


class Truth(Protocol):
    """A kind's ground truth in the simulator (SalesTruth, TrafficTruth, InventoryTruth)."""

    def final_truth(self, marketplace_id: str, hour: datetime) -> Any: ...
    def observed(self, marketplace_id: str, hour: datetime, at: datetime) -> Any: ...


class Hour(NamedTuple):
    kind: str
    mp: str
    key: str


def settle_instant(truth: Truth, revision: timedelta, mp: str, hour: datetime) -> datetime:
    """When the hour's observed numbers last change: each revision settles at end + revision x a
    SETTLE_FRACTION, so the first of those instants at which they equal the final numbers."""
    final, end = truth.final_truth(mp, hour), hour + HOUR
    for fraction in (0.0, *SETTLE_FRACTIONS):
        at = end + revision * fraction
        if truth.observed(mp, hour, at) == final:
            return at
    raise AssertionError(f"{mp} {hour_key(hour)} never settles")


def desktop_run(cron: SimulatedCron, clock: SteppingClock) -> None:
    """What a desktop app does every 15 minutes: one report per marketplace for the last three whole
    hours, whatever it already holds, then wait for them (rtsales' client, ledger and ingest)."""
    from rtsales.amazon.client import SpApiClient

    db, settings, mps = cron.db, cron.settings, cron.settings.marketplace_ids
    deadline = clock.now() + timedelta(seconds=settings.run_budget_seconds)
    client = SpApiClient(settings, clock, cron.sim.transport(), pacer=Pacer(db, clock, deadline, SPAPI_PLANS))
    worker = WindowWorker(db, client, clock, {}, timedelta(hours=settings.settle_hours), lease=lambda mp: None)
    tally, at = Tally(), clock.now()
    start = floor_hour(at) - DESKTOP_HOURS * HOUR
    for mp in mps:
        with transaction(db) as conn:
            seed(conn, mp, at, start, timedelta(0), kind="sales")
        worker.create(Window(mp, start, DESKTOP_HOURS, "sales"), tally, refetch=True)
    while clock.now() + POLL_INTERVAL < deadline and any(in_flight(db.conn, mp, kind="sales") for mp in mps):
        clock.sleep(POLL_INTERVAL.total_seconds())
        for mp in mps:
            for report_id, status, keys in in_flight(db.conn, mp, kind="sales"):
                worker.resume(window_of(mp, keys, kind="sales"), report_id, HourStatus(status), tally)
    client.close()
    if tally.errors:
        raise SystemExit(f"desktop app run at {iso(at)}: {tally.errors}")


class Scenario:
    """One strategy, one store, one simulator: cron ticks and what each run left in the store, for
    every report kind the strategy's REPORT_TYPES names (sales by default)."""

    def __init__(self, folder: Path, strategy: Strategy, count: int, days: int, offset: timedelta):
        self.strategy, self.start = strategy, START + offset
        self.cron = SimulatedCron(folder / "freshness.db", MARKETPLACES[:count], self.start, seed=1,
                                  settings=strategy.settings)
        self.kinds = self.cron.settings.report_types
        self.measure_from = self.start + CATCH_UP
        self.measure_to = self.measure_from + timedelta(days=days)
        ends = [floor_hour(self.measure_from) + i * HOUR for i in range(1, 24 * days + 1)]
        self.hours = {Hour(kind, mp, hour_key(end - HOUR)): end
                      for kind in self.kinds for mp in MARKETPLACES[:count] for end in ends}
        sim, revision = self.cron.sim, self.cron.sim.truth.revision
        truths: dict[str, Truth] = {"sales": sim.truth, "traffic": sim.reports.traffic,
                                    "inventory": sim.reports.inventory}
        self.settles = {h: settle_instant(truths[h.kind], revision, h.mp, parse_hour(h.key)) for h in self.hours}
        self.first_seen: dict[Hour, datetime] = {}
        self.final_at: dict[Hour, datetime] = {}

    def tick(self, at: datetime) -> None:
        clock = SteppingClock(at)
        self.cron.sim.clock = clock
        if self.strategy.desktop:
            desktop_run(self.cron, clock)
        else:
            # Also after each poll: a run that waits for createReport tokens commits hours long before it ends.
            SyncRun(self.cron.db, self.cron.settings, clock, self.cron.sim.transport(),
                    on_progress=lambda: self._observe(at, clock.now())).run()
        if clock.now() > at + CRON_INTERVAL:
            raise SystemExit(f"the run at {iso(at)} outlasted the cron interval (ended {iso(clock.now())})")
        self._observe(at, clock.now())

    def _observe(self, started: datetime, ended: datetime) -> None:
        """Stamp hours seen for the first time, and hours that now hold exactly their final numbers."""
        for kind, mp, key, touched in self.cron.db.conn.execute(
                "SELECT report_kind, marketplace_id, hour_utc, updated_at >= ? FROM vendor_rt_sales_hour_ledger "
                "WHERE data_state != 'none' AND hour_utc >= ?", [iso(started), hour_key(self.measure_from)]):
            hour = Hour(kind, mp, key)
            if hour not in self.hours:
                continue
            self.first_seen.setdefault(hour, ended)
            if touched and hour not in self.final_at and self._final(hour):
                self.final_at[hour] = ended

    def _final(self, hour: Hour) -> bool:
        return self.cron.stored(hour.mp, hour.key, hour.kind) == self.cron.truth(hour.mp, hour.key, hour.kind)

    def all_final(self) -> bool:
        return len(self.final_at) == len(self.hours)


@dataclass
class Outcome:
    hours: int
    first: list[float]  # minutes from each hour's end to its first appearance (NEVER if it did not appear)
    final: list[float]  # minutes from each hour's settle instant to its final numbers in the store
    late_settles: int  # hours whose revisions end after SETTLE_HOURS (outside the live window)
    creates: int
    documents: int
    throttled: int
    seconds: float
    slowest: list[list[object]]


def run(strategy: Strategy, count: int, days: int, offset: timedelta) -> Outcome:
    return _outcome(*simulate(strategy, count, days, offset))


def simulate(strategy: Strategy, count: int, days: int, offset: timedelta) -> tuple[Scenario, float]:
    """Catch up, then the measured days and the tail; the scenario (its store closed) and the bench seconds."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=data_dir()) as folder:
        s = Scenario(Path(folder), strategy, count, days, offset)
        at = s.measure_from if strategy.desktop else s.start  # a desktop app never fills a gap
        while at < s.measure_from:
            s.tick(at)
            at += CRON_INTERVAL
        if s.cron.pending():
            raise SystemExit(f"{strategy.name}: the gap is not filled after {CATCH_UP}")
        while at < s.measure_to or (not s.all_final() and at < s.measure_to + TAIL_MAX):
            s.tick(at)
            at += CRON_INTERVAL
        s.cron.db.conn.close()
    return s, time.perf_counter() - started


def _minutes(later: datetime | None, earlier: datetime) -> float:
    return NEVER if later is None else (later - earlier).total_seconds() / 60


def delays(s: Scenario) -> tuple[dict[Hour, float], dict[Hour, float]]:
    """Per measured hour: minutes from its end to its first appearance, and from its settle instant to
    its final numbers in the store (NEVER if that did not happen)."""
    first = {h: _minutes(s.first_seen.get(h), end) for h, end in s.hours.items()}
    return first, {h: _minutes(s.final_at.get(h), s.settles[h]) for h in s.hours}


def _outcome(s: Scenario, seconds: float) -> Outcome:
    first, final = delays(s)
    window = (iso(s.measure_from), iso(s.measure_to))
    counted = [e for e in s.cron.sim.log.entries if window[0] <= e.at < window[1]]
    live = timedelta(hours=Settings.settle_hours)  # the default live window, whatever the strategy's
    slowest = sorted(s.hours, key=lambda h: (-final[h], -first[h], h))[:3]
    return Outcome(hours=len(s.hours), first=list(first.values()), final=list(final.values()),
                   late_settles=sum(1 for h, end in s.hours.items() if s.settles[h] > end + live),
                   creates=sum(1 for e in counted if e.operation == "createReport"),
                   documents=sum(1 for e in counted if e.operation == "getReportDocument"),
                   throttled=s.cron.sim.log.count(status=429), seconds=seconds,
                   slowest=[[h.mp, h.key[5:16], len(s.cron.truth(h.mp, h.key, h.kind)), _show(first[h]),
                             iso(s.settles[h])[5:16], _show(final[h])] for h in slowest])


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value at least p of them do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def _show(minutes: float) -> str:
    return "never" if minutes == NEVER else f"{minutes:.1f}"


def show_percentile(values: list[float], p: float) -> str:
    value = percentile(values, p)
    never = sum(1 for v in values if v == NEVER)
    return f"never ({never} of {len(values)} hours)" if value == NEVER else _show(value)


def _per_day(calls: int, count: int, days: int) -> str:
    per = calls / count / days
    return f"{per:.0f} ({100 * per / PLAN_PER_DAY:.1f} %)"


def _all_per_day(calls: int, days: int) -> str:
    """The plan is the selling account's, whatever the marketplace: what all of them take of it."""
    return f"{100 * calls / days / PLAN_PER_DAY:.1f} %"


def _targets(rows: dict[int, tuple[Outcome, int]]) -> str:
    def verdict(ok: bool) -> str:
        return "met" if ok else "**NOT met**"
    checks: dict[str, list[str]] = {name: [] for name, _ in TARGETS}
    for count, (o, days) in sorted(rows.items()):
        first, final = percentile(o.first, 0.95), percentile(o.final, 0.95)
        share = 100 * o.creates / count / days / PLAN_PER_DAY
        checks[TARGETS[0][0]].append(f"{_show(first)}: {verdict(first <= 20)}")
        checks[TARGETS[1][0]].append(f"{_show(final)}: {verdict(final <= 30)}")
        checks[TARGETS[2][0]].append(f"{share:.1f} %: {verdict(share <= 15)}")
        checks[TARGETS[3][0]].append(f"{o.throttled}: {verdict(o.throttled == 0)}")
    headers = ["target (rtsales at defaults)", "limit", *(f"{n} marketplace(s)" for n in sorted(rows))]
    return table(headers, [[name, limit, *checks[name]] for name, limit in TARGETS])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=3, help="measured days (after the catch-up)")
    parser.add_argument("--marketplaces", default="1,5")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--offset", type=int, default=0, choices=range(15), metavar="0-14",
                        help="cron runs this many minutes after each quarter hour (0: `*/15`)")
    args = parser.parse_args()
    rows, slow, targets, late = [], [], {}, 0
    for count in map(int, args.marketplaces.split(",")):
        for key in args.strategies.split(","):
            strategy = STRATEGIES[key]
            o = run(strategy, count, args.days, timedelta(minutes=args.offset))
            rows.append([strategy.name, count, o.hours, show_percentile(o.first, 0.5), show_percentile(o.first, 0.95),
                         show_percentile(o.final, 0.5), show_percentile(o.final, 0.95),
                         _per_day(o.creates, count, args.days),
                         _per_day(o.documents, count, args.days), _all_per_day(o.creates, args.days), o.throttled,
                         f"{o.seconds:.0f}"])
            late += o.late_settles
            slow += [[strategy.name, *row] for row in o.slowest]
            if key == "rtsales":
                targets[count] = (o, args.days)
    headers = ["strategy", "marketplaces", "hours measured", "first appearance p50 min", "p95 min",
               "final numbers p50 min after settle", "p95 min", "createReport / mp / day (plan)",
               "getReportDocument / mp / day (plan)", "createReport, all mps (plan)", "429s", "bench s"]
    print(f"Deterministic (simulated time, seed 1); cron at :{args.offset:02d}, :{15 + args.offset}, "
          f":{30 + args.offset}, :{45 + args.offset}; {args.days} measured day(s) after a {CATCH_UP} catch-up. "
          f"{machine()}\n")
    print(table(headers, rows))
    print(f"\nMeasured hours whose revisions end more than SETTLE_HOURS={Settings.settle_hours} after the hour "
          f"(outside the live window): {late}.")
    print("\nSlowest hours of each row (final numbers first, then first appearance; rows: ASINs in the final "
          "numbers):\n")
    print(table(["strategy", "marketplace", "hour (UTC)", "rows", "first appearance min", "settled at (UTC)",
                 "final min"], slow))
    if targets:
        print()
        print(_targets(targets))


if __name__ == "__main__":
    main()
