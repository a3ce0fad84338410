"""Report kinds benchmark: createReport share and freshness per kind, sales alone and all three kinds on.

    .venv/bin/python bench/kinds.py [--days 3] [--marketplaces 1,5] [--sets sales,all] [--offset 5] [--runs 1]
                                    [--setting KEY=VALUE ...]

bench/freshness.py's scenario, once per REPORT_TYPES set: cron every 15 minutes (at --offset
minutes past the quarter hour; 5 is crontab.example's `5-59/15`) against the in-process simulator
(seed 1, its late revisions on), each run on a running clock that waits for its reports, a
6-hour catch-up of a new store's 7-day gap, then `--days` measured days. Everything else is at the
defaults: QUOTA_BUDGET_PERCENT=50, LIVE_REFRESH_MINUTES=15, SETTLE_HOURS=3, the daily audit on
(--setting changes one for every scenario, e.g. --setting QUOTA_BUDGET_PERCENT=100).

Per kind, over the hours that end inside the measured days:

* first appearance: minutes from the hour's end to the end of the run, or of the poll within it,
  after which it first holds data; final: minutes from the instant its numbers stop changing in
  the simulator's truth of that kind to the run or poll after which the store holds exactly
  them (p50, p95);
* createReport: reports of that kind created during the measured days, a day, as a share of
  Amazon's createReport plan (0.0167/s, about 1,443 a day; one plan for every report type and
  marketplace of the account); the total is every createReport the simulator saw;
* getReportDocument a day (the same plan and budget); 429s during the measured days (steady
  state) and over the whole run, catch-up included.

Simulated time on a stepping clock, one seed: the figures are deterministic. --runs N runs each
scenario N times, stops if any figure differs, and shows the median bench seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, table  # noqa: E402
from freshness import (CATCH_UP, PLAN_PER_DAY, Hour, Scenario, Strategy, delays, percentile,  # noqa: E402
                       show_percentile, simulate)

from rtsales.clock import HOUR, iso  # noqa: E402
from rtsales.kinds import kind_for  # noqa: E402
from rtsales.quota import SPAPI_PLANS  # noqa: E402
from rtsales.sync.scheduler import live_interval  # noqa: E402

SETS = {"sales": "sales", "all": "sales,traffic,inventory"}
CREATE = SPAPI_PLANS["createReport"]
TARGETS = (("429s in steady state, all kinds on", "0"),
           ("createReport, all kinds", "<= QUOTA_BUDGET_PERCENT of the plan's rate (+ its burst)"),
           ("sales first appearance p95, all kinds on", "as with sales alone"),
           ("sales final numbers p95, all kinds on", "as with sales alone"))


@dataclass(frozen=True)
class KindFigures:
    hours: int
    first: list[float]
    final: list[float]
    creates: int
    documents: int
    windows: tuple[tuple[int, int], ...]  # (hours in the report's window, reports), those created in the days


@dataclass(frozen=True)
class Figures:
    """One scenario's simulated outcome: the same on every run (`run` compares them)."""

    kinds: dict[str, KindFigures]
    creates: int  # every createReport during the measured days
    throttled_steady: int
    throttled: int
    budget_percent: int  # QUOTA_BUDGET_PERCENT
    live_minutes: float  # each lane's live refresh interval the scheduler works out for the budget


def measure(s: Scenario) -> Figures:
    window = (iso(s.measure_from), iso(s.measure_to))
    log, book = s.cron.sim.log.entries, s.cron.sim.reports
    counted = [e for e in log if window[0] <= e.at < window[1]]
    created = [r for r in book.reports.values() if window[0] <= iso(r.created) < window[1]]
    fetched = [book.reports[book.documents[e.path.rsplit("/", 1)[1]].report_id] for e in counted
               if e.operation == "getReportDocument" and e.status == 200]
    first, final = delays(s)
    kinds = {}
    for kind in s.kinds:
        mine: list[Hour] = [h for h in s.hours if h.kind == kind]
        reports = [r for r in created if kind_for(r.report_type).name == kind]
        sizes = Counter(int((r.end - r.start) / HOUR) for r in reports)
        kinds[kind] = KindFigures(hours=len(mine), first=[first[h] for h in mine], final=[final[h] for h in mine],
                                  creates=len(reports), windows=tuple(sorted(sizes.items())),
                                  documents=sum(1 for r in fetched if kind_for(r.report_type).name == kind))
    settings = s.cron.settings
    every = live_interval(settings.live_refresh_minutes, settings.lanes, CREATE.rate, settings.quota_budget_percent)
    return Figures(kinds, creates=sum(1 for e in counted if e.operation == "createReport"),
                   throttled_steady=sum(1 for e in counted if e.status == 429),
                   throttled=s.cron.sim.log.count(status=429), budget_percent=settings.quota_budget_percent,
                   live_minutes=every.total_seconds() / 60)


def run(report_types: str, count: int, days: int, offset: timedelta, runs: int,
        settings: dict[str, str]) -> tuple[Figures, float]:
    """The scenario `runs` times: its figures (the same every time, or the script stops) and median seconds."""
    strategy = Strategy(f"REPORT_TYPES={report_types}", {**settings, "REPORT_TYPES": report_types})
    outcomes = []
    for _ in range(runs):
        scenario, seconds = simulate(strategy, count, days, offset)
        outcomes.append((measure(scenario), seconds))
    if any(figures != outcomes[0][0] for figures, _ in outcomes):
        raise SystemExit(f"{strategy.name}, {count} marketplace(s): runs differ: {[f for f, _ in outcomes]}")
    return outcomes[0][0], statistics.median(seconds for _, seconds in outcomes)


def _share(calls: int, days: int) -> str:
    per_day = calls / days
    return f"{per_day:.0f} ({100 * per_day / PLAN_PER_DAY:.1f} %)"


def rows_of(count: int, report_types: str, f: Figures, days: int, seconds: float) -> list[list[object]]:
    lane = [count, report_types, count * len(f.kinds), f"{f.live_minutes:.1f} min"]
    rows: list[list[object]] = []
    for kind, k in f.kinds.items():
        rows.append([*lane, kind, k.hours, show_percentile(k.first, 0.5), show_percentile(k.first, 0.95),
                     show_percentile(k.final, 0.5), show_percentile(k.final, 0.95), _share(k.creates, days),
                     _share(k.documents, days), _windows(k.windows, days), "", ""])
    rows.append([*lane, "**all kinds**", sum(k.hours for k in f.kinds.values()), "", "", "", "",
                 _share(f.creates, days), _share(sum(k.documents for k in f.kinds.values()), days), "",
                 f"{f.throttled_steady} / {f.throttled}", f"{seconds:.0f}"])
    return rows


def _windows(sizes: tuple[tuple[int, int], ...], days: int) -> str:
    """Reports a day by window length: 1 h is a new hour (or a settle fetch) alone, a few hours a live
    refresh, 20-24 h the daily audit."""
    return ", ".join(f"{hours} h: {count / days:.1f}" for hours, count in sizes)


def _within_budget(f: Figures, days: int) -> str:
    """The bucket refills at the budget's share of the rate and may hold the plan's burst when the
    measured days begin: that is the most they can spend."""
    most = CREATE.rate * f.budget_percent / 100 * days * 86400 + CREATE.burst
    share = 100 * f.creates / days / PLAN_PER_DAY
    return f"{share:.1f} % ({f.creates:,} of at most {most:,.0f}): {_verdict(f.creates <= most)}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def targets(results: dict[tuple[int, str], Figures], days: int) -> str:
    counts = sorted({count for count, _ in results})
    checks: dict[str, list[str]] = {name: [] for name, _ in TARGETS}
    for count in counts:
        alone, every = results.get((count, SETS["sales"])), results[(count, SETS["all"])]
        checks[TARGETS[0][0]].append(f"{every.throttled_steady}: {_verdict(every.throttled_steady == 0)}")
        checks[TARGETS[1][0]].append(_within_budget(every, days))
        for name, delays_of in ((TARGETS[2][0], "first"), (TARGETS[3][0], "final")):
            now = percentile(getattr(every.kinds["sales"], delays_of), 0.95)
            was = None if alone is None else percentile(getattr(alone.kinds["sales"], delays_of), 0.95)
            checks[name].append(f"{now:.1f} min" if was is None else
                                f"{now:.1f} vs {was:.1f} min: {_verdict(now <= was)}")
    headers = ["target", "limit", *(f"{n} marketplace(s)" for n in counts)]
    return table(headers, [[name, limit, *checks[name]] for name, limit in TARGETS])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=3, help="measured days (after the catch-up)")
    parser.add_argument("--marketplaces", default="1,5")
    parser.add_argument("--sets", default="sales,all", help="REPORT_TYPES sets: sales (baseline), all (three kinds)")
    parser.add_argument("--offset", type=int, default=5, choices=range(15), metavar="0-14",
                        help="cron runs this many minutes after each quarter hour (5: crontab.example's 5-59/15)")
    parser.add_argument("--runs", type=int, default=1, help="runs per scenario (the figures must not differ)")
    parser.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting for every scenario (repeatable)")
    args = parser.parse_args()
    offset, rows, results = timedelta(minutes=args.offset), [], {}
    settings = dict(item.split("=", 1) for item in args.setting)
    for count in map(int, args.marketplaces.split(",")):
        for report_types in (SETS[name] for name in args.sets.split(",")):
            figures, seconds = run(report_types, count, args.days, offset, args.runs, settings)
            results[(count, report_types)] = figures
            rows += rows_of(count, report_types, figures, args.days, seconds)
    headers = ["marketplaces", "REPORT_TYPES", "lanes", "live refresh every", "kind", "hours measured",
               "first appearance p50 min", "p95 min", "final p50 min after settle", "p95 min",
               "createReport / day (plan)", "getReportDocument / day (plan)", "createReport / day by window", "429s (steady / whole run)", "bench s"]
    print(f"Deterministic (simulated time, seed 1{f'; {args.runs} identical runs each' if args.runs > 1 else ''}); "
          f"cron at :{args.offset:02d}, :{15 + args.offset}, :{30 + args.offset}, :{45 + args.offset}; {args.days} "
          f"measured day(s) after a {CATCH_UP} catch-up; createReport plan {PLAN_PER_DAY:.0f} a day; settings: "
          f"{' '.join(args.setting) or 'defaults'}. {machine()}\n")
    print(table(headers, rows))
    if any(report_types == SETS["all"] for _, report_types in results):
        print()
        print(targets(results, args.days))


if __name__ == "__main__":
    main()
