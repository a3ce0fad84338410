"""Watch benchmark: does `rtsales watch` catch stock-outs, lost listings and spikes, and how soon?

    .venv/bin/python bench/watch.py [--days 14] [--seeds 1,2] [--events 12] [--asins 20] [--keep PATH]

The in-process simulator with a busier catalogue (`simulator.events.Demand`: per ASIN rates,
about half of them 5-30 units an hour, a daily shape, Poisson hours) and `--events` events per
marketplace drawn from the seed (`plan_events`: stock-out, suppression and spike in turn,
2-10 hours, spikes x4-8, never two within a day on one ASIN), in 5 marketplaces. Cron every
15 minutes runs the real sync (SimulatedCron: createReport, polling, download, ingest) of
sales, traffic and inventory, as `REPORT_TYPES=sales,traffic,inventory` would; its first run
fetches the LOOKBACK_DAYS=7 before the start, so baselines exist from the first day and
`--days` days are all measured. After every cron run that brought a new hour, `watch_report`
(what `rtsales watch` runs) judges every marketplace and remembers what it reported. Stock that
runs out stops sales in the simulator (its stock gate): those natural stock-outs are events too,
read from its inventory truth (hours an ASIN has no sellable units), from the first hour held.

* precision: reported events (each once) that match a true event: same marketplace and ASIN,
  hours that overlap, and a kind that fits (drop, conversion or vanished for a stock-out or a
  suppression; spike for a spike);
* recall: the scored events (at least 2 hours, on an ASIN whose expected units over the event's
  hours average at least 5 an hour) that some report matched;
* detection delay: the newest hour held at the first matching report, minus the event's first
  hour, in hours: how many hours of data it took, the time the data takes to land left out
  (a drop needs WATCH_DROP_HOURS=2 hours of data: 1 h; a spike its first hour: 0 h). Beside it,
  the same in wall-clock time (from the event's start to the watch run that reported it).

Deterministic: the figures depend on the seed only. `--keep PATH` keeps the first seed's database
there, without the flags the bench's watch runs remembered, so that `rtsales watch` on it reports
what a first run would (the README's example comes from one).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, data_dir, machine, table  # noqa: E402

sys.path.insert(0, str(ROOT))
from rtsales.clock import HOUR, FrozenClock, format_duration, parse_hour, parse_instant  # noqa: E402
from rtsales.simulator import Demand, Event, Simulator, plan_events  # noqa: E402
from rtsales.simulator.cron import CRON_INTERVAL, SimulatedCron  # noqa: E402
from rtsales.views.watch import Thresholds, _spans, watch_report  # noqa: E402
from rtsales.views.watch_data import newest_held  # noqa: E402

MARKETPLACES = ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A1F83G8C2ARO7P", "A1PA6795UKMFR9")
START = parse_instant("2026-03-02T00:05:00Z")  # a Monday; cron at :05, :20, :35, :50 (crontab.example)
DAY = timedelta(days=1)
FITS = {"stockout": {"drop", "conversion", "vanished"}, "suppression": {"drop", "conversion", "vanished"},
        "spike": {"spike"}}
SCORED_HOURS, SCORED_UNITS = 2, 5.0
TARGETS = (("recall", ">= 0.9"), ("precision", ">= 0.9"), ("median detection delay", "<= 1 h"))
SETTINGS = {"REPORT_TYPES": "sales,traffic,inventory"}


@dataclass
class Outcome:
    seed: int
    events: list[Event]
    scored: list[Event]
    reports: list[tuple[dict[str, Any], datetime, datetime]] = field(default_factory=list)  # flag, when, newest
    seconds: float = 0.0

    def matches(self, flag: dict[str, Any], event: Event) -> bool:
        first, last = parse_hour(flag["start_hour"]), parse_hour(flag["last_hour"])
        return ((flag["marketplace_id"], flag["asin"]) == (event.marketplace_id, event.asin)
                and flag["kind"] in FITS[event.kind] and first < event.end and event.start <= last)

    def first_report(self, event: Event) -> tuple[dict[str, Any], datetime, datetime] | None:
        return next((r for r in self.reports if self.matches(r[0], event)), None)

    def false_flags(self) -> list[dict[str, Any]]:
        return [flag for flag, _, _ in self.reports if not any(self.matches(flag, e) for e in self.events)]


def _scored(sim: Simulator, event: Event) -> bool:
    hours = [event.start + i * HOUR for i in range(event.hours)]
    mean = statistics.fmean(sim.truth.expected_units(event.marketplace_id, event.asin, h) for h in hours)
    return event.hours >= SCORED_HOURS and mean >= SCORED_UNITS


def natural_stockouts(sim: Simulator, start: datetime, end: datetime) -> list[Event]:
    """The hours [start, end) in which an ASIN had no sellable units (so no sales), as stock-out events."""
    found = []
    hours = [start + i * HOUR for i in range(int((end - start) / HOUR))]
    for mp in MARKETPLACES:
        for asin in sim.truth.catalogue(mp):
            out = [not sim.reports.inventory.in_stock(mp, hour, asin) for hour in hours]
            found += [Event("stockout", mp, asin, hours[first], hours[last] + HOUR)
                      for first, last in _spans(out, 0)]
    return found


def run(seed: int, days: int, per_marketplace: int, asins: int, keep: Path | None = None) -> Outcome:
    clock = FrozenClock(START)
    sim = Simulator(seed=seed, clock=clock, demand=Demand(), asins_per_marketplace=asins)
    catalogues = {mp: sim.truth.catalogue(mp) for mp in MARKETPLACES}
    first = START.replace(minute=0) + DAY
    for event in plan_events(random.Random(seed), catalogues, first, START.replace(minute=0) + days * DAY,
                             per_marketplace):
        sim.truth.add_event(event)
    events = [*sim.truth.events, *natural_stockouts(sim, START.replace(minute=0) - 7 * DAY,
                                                    START.replace(minute=0) + days * DAY)]
    outcome = Outcome(seed, events, [e for e in events if _scored(sim, e)])
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=data_dir()) as folder:
        cron = SimulatedCron(Path(folder) / "watch.db", MARKETPLACES, START, simulator=sim, settings=SETTINGS)
        thresholds = Thresholds.of(cron.settings)
        seen: dict[str, datetime | None] = {}
        while cron.clock.now() < START + days * DAY:
            cron.cycle()
            newest = {mp: newest_held(cron.db, mp) for mp in MARKETPLACES}
            if newest == seen:
                continue
            seen = newest
            report = watch_report(cron.db, list(MARKETPLACES), thresholds, cron.clock.now())
            for flag in report["flags"]:
                outcome.reports.append((flag, cron.clock.now(), newest[flag["marketplace_id"]]))
        cron.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cron.db.conn.close()
        if keep is not None:
            shutil.copyfile(Path(folder) / "watch.db", keep)
            with sqlite3.connect(keep) as kept:
                kept.execute("DELETE FROM rtsales_watch_flags")
            print(f"kept {keep}: the last cron run was at {cron.clock.now() - CRON_INTERVAL:%Y-%m-%dT%H:%M:%SZ}")
    outcome.seconds = time.perf_counter() - began
    return outcome


def _figures(outcome: Outcome) -> dict[str, Any]:
    found = {id(e): outcome.first_report(e) for e in outcome.scored}
    delays = [(report[2] - e.start) / HOUR for e in outcome.scored if (report := found[id(e)])]
    waits = [(report[1] - e.start) / HOUR for e in outcome.scored if (report := found[id(e)])]
    reports = len(outcome.reports)
    false = len(outcome.false_flags())
    return {"events": len(outcome.events), "scored": len(outcome.scored), "caught": len(delays),
            "recall": len(delays) / len(outcome.scored) if outcome.scored else 1.0, "reports": reports, "false": false,
            "precision": (reports - false) / reports if reports else 1.0,
            "delay p50": statistics.median(delays) if delays else None, "delay max": max(delays, default=None),
            "wall p50": statistics.median(waits) if waits else None, "delays": delays}


def _row(name: str, f: dict[str, Any], seconds: float) -> list[object]:
    return [name, f["events"], f["scored"], f["caught"], f"{f['recall']:.2f}", f["reports"], f["false"],
            f"{f['precision']:.2f}", _hours(f["delay p50"]), _hours(f["delay max"]), _hours(f["wall p50"]),
            f"{seconds:.0f}"]


def _hours(value: float | None) -> str:
    return "-" if value is None else format_duration(value * 3600)


def _merged(outcomes: list[Outcome]) -> dict[str, Any]:
    parts = [_figures(o) for o in outcomes]
    total: dict[str, Any] = {k: sum(p[k] for p in parts) for k in ("events", "scored", "caught", "reports", "false")}
    delays = [d for p in parts for d in p["delays"]]
    total.update(recall=total["caught"] / total["scored"], precision=(total["reports"] - total["false"]) /
                 total["reports"], **{"delay p50": statistics.median(delays), "delay max": max(delays),
                                      "wall p50": statistics.median(w for p in parts if p["wall p50"] is not None
                                                                    for w in [p["wall p50"]])})
    return total


def _by_kind(outcomes: list[Outcome]) -> None:
    """Scored events caught per kind, and reports per flag kind (true or false)."""
    rows = []
    for kind in FITS:
        scored = [(o, e) for o in outcomes for e in o.scored if e.kind == kind]
        caught = [(o, e) for o, e in scored if o.first_report(e)]
        delays = [(o.first_report(e)[2] - e.start) / HOUR for o, e in caught]  # type: ignore[index]
        rows.append([f"event: {kind}", len(scored), len(caught), _hours(statistics.median(delays) if delays else None)])
    for kind in ("drop", "conversion", "spike", "new", "vanished"):
        flags = [(o, f) for o in outcomes for f, _, _ in o.reports if f["kind"] == kind]
        false = [f for o, f in flags if f in o.false_flags()]
        rows.append([f"flag: {kind}", len(flags), len(flags) - len(false), ""])
    print("\n" + table(["what", "scored events / reports", "caught / true", "delay p50"], rows))


def _details(outcomes: list[Outcome]) -> None:
    """Every missed scored event and every false report, so that a figure can be checked by hand."""
    rows = []
    for o in outcomes:
        for e in o.scored:
            if o.first_report(e) is None:
                rows.append([o.seed, "missed", e.kind, e.marketplace_id, e.asin, f"{e.start:%m-%d %H:00}", e.hours, ""])
        for flag in o.false_flags():
            rows.append([o.seed, "false", flag["kind"], flag["marketplace_id"], flag["asin"],
                         flag["start_hour"][5:16].replace("T", " "), len(flag["hours"]),
                         " ".join(f"{h['units']}/{h['baseline']}" for h in flag["hours"][-6:])])
    if rows:
        print("\n" + table(["seed", "what", "kind", "marketplace", "ASIN", "start (UTC)", "hours",
                            "units/baseline (last hours)"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--events", type=int, default=12, help="events per marketplace")
    parser.add_argument("--asins", type=int, default=20, help="ASINs per marketplace")
    parser.add_argument("--keep", type=Path, help="keep the first seed's database at this path")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    outcomes = [run(seed, args.days, args.events, args.asins, args.keep if seed == seeds[0] else None)
                for seed in seeds]
    print(f"{args.days} simulated days, {len(MARKETPLACES)} marketplaces x {args.asins} ASINs, {args.events} events "
          f"per marketplace, watch at its defaults ({Thresholds.of()}). {machine()}\n")
    headers = ["seed", "events", "scored", "caught", "recall", "reports", "false", "precision", "delay p50",
               "delay max", "wall-clock p50", "bench s"]
    rows = [_row(str(o.seed), _figures(o), o.seconds) for o in outcomes]
    total = _merged(outcomes)
    rows.append(_row("all", total, sum(o.seconds for o in outcomes)))
    print(table(headers, rows))
    met = {"recall": total["recall"] >= 0.9, "precision": total["precision"] >= 0.9,
           "median detection delay": total["delay p50"] <= 1}
    values = {"recall": f"{total['recall']:.2f}", "precision": f"{total['precision']:.2f}",
              "median detection delay": _hours(total["delay p50"])}
    print("\n" + table(["target", "limit", "all seeds"], [[name, limit, f"{values[name]}: "
                                                           f"{'met' if met[name] else '**NOT met**'}"]
                                                          for name, limit in TARGETS]))
    _by_kind(outcomes)
    _details(outcomes)


if __name__ == "__main__":
    main()
