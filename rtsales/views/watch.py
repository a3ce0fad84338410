"""`rtsales watch`: stock-outs, lost listings and spikes, judged from the hours the database holds.

Baseline: an ASIN's units in an hour are compared with the median of its units in the same
UTC hour on each of the last WATCH_BASELINE_DAYS days, counting only hours the ledger holds
and leaving out the hours of events reported before; with fewer than MIN_SAMPLES such days
there is no baseline and the hour is not judged. Why this method: sales have a strong shape
over the day, which the same hour of other days carries without a model; a median ignores
the very outages and spikes being looked for (and the odd hour Amazon revised), where a mean
would be dragged by them; and it needs no week-old weekday history, so a new database has a
baseline after five days. The hour being judged is never in its own baseline.

Flags (each states the hours, units and baselines it rests on, and whether any hour may
still be revised):

* drop: hours in a row at or below WATCH_DROP_RATIO x baseline, reported once WATCH_DROP_HOURS
  of them in a row average a baseline of at least WATCH_MIN_BASELINE_UNITS;
* spike: WATCH_SPIKE_HOURS hours in a row at or above WATCH_SPIKE_RATIO x the baseline (or x
  WATCH_MIN_BASELINE_UNITS, whichever is more, so that a slow seller's 3 units are no spike):
  sales come in bursts, and one busy hour alone is too often nothing;
* conversion: as a drop, with no units at all while glance views stay at or above
  WATCH_VIEWS_RATIO x their own baseline (traffic data needed);

  and for these three, the run's units must be unlikely as chance: a Poisson count with the
  baselines' sum as its mean comes out that low (high) with a probability under WATCH_CHANCE.
  Ratios alone flag the noise of small counts: 2 units in an hour against a baseline of 9
  happens about one hour in sixty, and a catalogue has thousands of ASIN-hours a day;
* new: an ASIN that sells now and did not once in the baseline days before;
* vanished: an ASIN that sold on most baseline days and has had no row for WATCH_VANISHED_HOURS.

An event is followed back JUDGED_HOURS and reported while it lasts into the last
REPORTED_HOURS. Stock (sellable units) at its last hour is attached when known; 0 explains it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from rtsales.clock import HOUR, hour_key, iso
from rtsales.config import Settings
from rtsales.views import watch_store
from rtsales.views.watch_data import Lane, load_lane, newest_held

JUDGED_HOURS = 48
REPORTED_HOURS = 24
MIN_SAMPLES = 5
LOST_VIEWS_SHARE = 0.2  # a drop whose glance views fell below this share of theirs: the listing is not seen


@dataclass(frozen=True)
class Thresholds:
    """The WATCH_* settings (each field is a setting's name without the prefix)."""

    baseline_days: int
    min_baseline_units: float
    drop_hours: int
    drop_ratio: float
    spike_hours: int
    spike_ratio: float
    views_ratio: float
    vanished_hours: int
    chance: float

    @classmethod
    def of(cls, settings: Settings | None = None) -> Thresholds:
        """From the settings (their defaults without any)."""
        chosen = settings or Settings()
        return cls(**{f.name: getattr(chosen, f"watch_{f.name}") for f in fields(cls)})


@dataclass
class Hour:
    """One hour a flag rests on."""

    hour_utc: str
    units: int
    baseline: float | None
    provisional: bool
    glance_views: int | None = None
    views_baseline: float | None = None


@dataclass
class Flag:
    marketplace_id: str
    asin: str
    kind: str
    start_hour: str
    last_hour: str
    hours: list[Hour]
    revenue: float  # estimated: extra (> 0) or lost (< 0), in currency_code
    currency_code: str
    stock: int | None = None
    stock_hour: str | None = None
    why: str | None = None
    new: bool = True

    @property
    def provisional(self) -> bool:
        return any(hour.provisional for hour in self.hours)

    def evidence(self) -> dict[str, Any]:
        return {**asdict(self), "provisional": self.provisional}


class _Judge:
    """Baselines and flags of one lane."""

    def __init__(self, lane: Lane, t: Thresholds) -> None:
        self.lane, self.t = lane, t
        self.first = max(0, lane.size - JUDGED_HOURS)
        self.reported = lane.size - REPORTED_HOURS

    def baseline(self, values: list[int], index: int, held: Callable[[int], bool], left_out: set[int]) -> float | None:
        samples = [values[j] for j in (index - 24 * d for d in range(1, self.t.baseline_days + 1))
                   if j >= 0 and held(j) and j not in left_out]
        return statistics.median(samples) if len(samples) >= MIN_SAMPLES else None

    def units_baselines(self, asin: str) -> list[float | None]:
        units, left_out = self.lane.units[asin], self.lane.excluded.get(asin, set())
        return [self.baseline(units, i, self.lane.held, left_out) if i >= self.first and self.lane.held(i) else None
                for i in range(self.lane.size)]

    def views_baselines(self, asin: str) -> list[float | None] | None:
        held, views = self.lane.views_held, self.lane.views.get(asin)
        if held is None or views is None:
            return None
        return [self.baseline(views, i, held.__getitem__, set()) if i >= self.first and held[i] else None
                for i in range(self.lane.size)]

    def flags(self) -> Iterator[Flag]:
        for asin in sorted(self.lane.units):
            base = self.units_baselines(asin)
            views = self.views_baselines(asin)
            yield from self._runs(asin, "drop", base, views, self._low(asin, base))
            yield from self._runs(asin, "spike", base, views, self._high(asin, base))
            if views is not None:
                yield from self._runs(asin, "conversion", base, views, self._unconverted(asin, base, views))
            yield from self._new(asin)
            yield from self._vanished(asin)

    def _low(self, asin: str, base: list[float | None]) -> list[bool]:
        units = self.lane.units[asin]
        return [b is not None and units[i] <= self.t.drop_ratio * b for i, b in enumerate(base)]

    def _high(self, asin: str, base: list[float | None]) -> list[bool]:
        units, floor = self.lane.units[asin], self.t.min_baseline_units
        return [b is not None and units[i] >= self.t.spike_ratio * max(b, floor) for i, b in enumerate(base)]

    def _unconverted(self, asin: str, base: list[float | None], views: list[float | None]) -> list[bool]:
        units, seen = self.lane.units[asin], self.lane.views[asin]
        return [b is not None and v is not None and v > 0 and units[i] == 0 and seen[i] >= self.t.views_ratio * v
                for i, (b, v) in enumerate(zip(base, views, strict=True))]

    def _runs(self, asin: str, kind: str, base: list[float | None], views: list[float | None] | None,
              marked: list[bool]) -> Iterator[Flag]:
        units = self.lane.units[asin]
        for first, last in _spans(marked, self.first):
            lasted = last - first + 1 >= self.t.spike_hours if kind == "spike" else self._meaningful(base, first, last)
            if last < self.reported or not lasted:
                continue
            hours = range(first, last + 1)
            seen, expected = sum(max(0, units[i]) for i in hours), sum(base[i] or 0 for i in hours)
            sign = 1 if kind == "spike" else -1
            if (poisson_above if sign > 0 else poisson_below)(seen, expected) >= self.t.chance:
                continue  # within what chance gives
            gap = sum(max(0.0, sign * (units[i] - (base[i] or 0))) for i in hours)
            yield self._flag(asin, kind, first, last, base, views, sign * gap * self.lane.price(asin))

    def _meaningful(self, base: list[float | None], first: int, last: int) -> bool:
        """Some WATCH_DROP_HOURS hours in a row of the run have a baseline of WATCH_MIN_BASELINE_UNITS or more."""
        k = self.t.drop_hours
        return any(statistics.fmean(b or 0 for b in base[j:j + k]) >= self.t.min_baseline_units
                   for j in range(first, last - k + 2))

    def _new(self, asin: str) -> Iterator[Flag]:
        rows = self.lane.rows.get(asin, set())
        before = sum(1 for i in range(self.reported) if self.lane.held(i))
        if not rows or min(rows) < self.reported or before < MIN_SAMPLES * 24:
            return
        start = min(rows)
        revenue = self.lane.price(asin) * sum(max(0, u) for u in self.lane.units[asin][start:])
        yield self._flag(asin, "new", start, self.lane.size - 1, [0.0] * self.lane.size, None, revenue)

    def _vanished(self, asin: str) -> Iterator[Flag]:
        rows = self.lane.rows.get(asin, set())
        days = {i // 24 for i in rows if i < self.reported}
        if not rows or 2 * len(days) < self.t.baseline_days:
            return
        absent = [i for i in range(max(rows) + 1, self.lane.size) if self.lane.held(i)]
        if len(absent) < self.t.vanished_hours:
            return
        held_before = sum(1 for i in range(max(rows) + 1) if self.lane.held(i))
        rate = self.lane.sold.get(asin, 0) / held_before if held_before else 0.0
        base = [rate] * self.lane.size
        yield self._flag(asin, "vanished", absent[0], self.lane.size - 1, base, None,
                         -rate * len(absent) * self.lane.price(asin))

    def _flag(self, asin: str, kind: str, first: int, last: int, base: list[float | None],
              views: list[float | None] | None, revenue: float) -> Flag:
        lane = self.lane
        shown = [i for i in range(first, last + 1) if lane.held(i)]
        seen = lane.views.get(asin) if lane.views_held is not None else None
        hours = [Hour(lane.key(i), lane.units.get(asin, [0] * lane.size)[i], _round(base[i]),
                      lane.states[i] == "provisional",
                      seen[i] if seen is not None and lane.views_held and lane.views_held[i] else None,
                      _round(views[i]) if views is not None else None) for i in shown]
        flag = Flag(lane.marketplace_id, asin, kind, lane.key(first), lane.key(last), hours, round(revenue, 2),
                    lane.currency_code)
        stock = lane.stock_at(asin, last)
        if stock is not None:
            flag.stock_hour, flag.stock = lane.key(stock[0]), stock[1]
        flag.why = _why(flag)
        return flag


def poisson_below(count: int, mean: float) -> float:
    """P(X <= count) for X ~ Poisson(mean), summed in logs (a day of a busy ASIN is a mean in the thousands)."""
    if mean <= 0:
        return 1.0
    return min(1.0, sum(math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) for k in range(count + 1)))


def poisson_above(count: int, mean: float) -> float:
    """P(X >= count) for X ~ Poisson(mean)."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    return max(0.0, 1.0 - poisson_below(count - 1, mean))


def _spans(marked: list[bool], first: int) -> Iterator[tuple[int, int]]:
    """(first, last) of each run of marked hours from `first` on."""
    start = None
    for i in range(first, len(marked) + 1):
        on = i < len(marked) and marked[i]
        if on and start is None:
            start = i
        elif not on and start is not None:
            yield start, i - 1
            start = None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _why(flag: Flag) -> str | None:
    """What the other reports say about it."""
    if flag.stock == 0 and flag.kind in ("drop", "conversion", "vanished"):
        return "out of stock: sellable units 0"
    if flag.kind == "conversion":
        return "shoppers still look but none buy: buy box, price or listing?"
    seen = [(h.glance_views, h.views_baseline) for h in flag.hours if h.glance_views is not None and h.views_baseline]
    if flag.kind == "drop" and seen and sum(v for v, _ in seen) <= LOST_VIEWS_SHARE * sum(b for _, b in seen):
        return "glance views gone too: listing suppressed or lost?"
    return None


def find_flags(lane: Lane, thresholds: Thresholds) -> list[Flag]:
    """Every event of the lane that lasted into its last REPORTED_HOURS, before any is marked new."""
    return list(_Judge(lane, thresholds).flags())


def watch_report(db: Database, marketplaces: list[str], thresholds: Thresholds, now: datetime, *,
                 show_all: bool = False, record: bool = True) -> dict[str, Any]:
    """Flags of every marketplace, each marked new or reported before; new ones remembered unless `record` is
    False. Sorted by the revenue at stake (within a currency); only new ones unless `show_all`."""
    found: list[Flag] = []
    seen: list[tuple[Any, watch_store.Remembered]] = []
    lanes = []
    for mp in marketplaces:
        newest = newest_held(db, mp)
        lanes.append({"marketplace_id": mp, "newest_hour": hour_key(newest) if newest else None})
        if newest is None:
            continue
        since = newest - (JUDGED_HOURS + 24 * thresholds.baseline_days - 1) * HOUR
        known = watch_store.remembered(db, mp, since)
        lane = load_lane(db, mp, since, newest, watch_store.flagged_hours(known))
        lanes[-1].update(traffic=lane.views_held is not None, inventory=bool(lane.stock))
        flags = find_flags(lane, thresholds)
        seen.extend(watch_store.mark_new(flags, known))
        found.extend(flags)
    if record:
        watch_store.remember(db, found, seen, now)
    found.sort(key=lambda f: (f.currency_code, -abs(f.revenue), f.marketplace_id, f.asin, f.kind))
    shown = found if show_all else [f for f in found if f.new]
    return {"now_utc": iso(now), "thresholds": asdict(thresholds), "marketplaces": lanes, "recorded": record,
            "new": sum(f.new for f in found), "reported_before": sum(not f.new for f in found),
            "flags": [f.evidence() for f in shown]}
