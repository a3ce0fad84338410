"""A busier catalogue and injected events: what `rtsales watch` is measured against.

Both are off by default, so every existing seed keeps its numbers exactly.

`Demand` makes the sales truth look like a vendor with real volume: each ASIN has a
rate of its own (about half of them busy, 5-30 units an hour at the day's mean, the rest
slow), shaped by the hour of the marketplace's local day (a quiet night, a busy evening)
and by a level of the day; an hour's units are a Poisson draw around that mean times a
burst of the hour's own (sales are burstier than a Poisson count, as real ones are). A busy
catalogue sells somewhere every hour, so `no_sales_rate` does not apply (quiet windows do).

An `Event` changes one ASIN of one marketplace over [start, end), hours known in advance:

* stockout: no units, highly available inventory 0; shoppers still look (glance views as
  without the event);
* suppression: no units and next to no glance views (the listing is gone); stock as usual;
* spike: units times `factor` (a deal, or a price error); shoppers rise with them.

`plan_events` draws events deterministically from a seed, for the bench and the tests.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rtsales.amazon.marketplaces import lookup
from rtsales.clock import HOUR, to_utc

EVENT_KINDS = ("stockout", "suppression", "spike")
# The local hour of each region's day, near enough: the shape of a day, not its clock.
_REGION_OFFSET_HOURS = {"NA": -6, "EU": 1, "FE": 9}


@dataclass(frozen=True)
class Demand:
    """Rates of a busier catalogue; see the module docstring."""

    busy_share: float = 0.5  # share of a catalogue that sells at busy_rate
    busy_rate: tuple[float, float] = (5.0, 30.0)  # units an hour at the day's mean hour
    slow_rate: tuple[float, float] = (0.2, 3.0)
    night_share: float = 0.5  # the quietest hour's rate as a share of the day's mean (the busiest: 2 - this)
    day_swing: float = 0.15  # a day's level: 1 +/- this
    burst: float = 0.25  # an hour's own swing around its mean (coefficient of variation): sales come in bursts

    def hour_factor(self, rng: random.Random) -> float:
        """A gamma draw with mean 1: the units of an hour vary more than a Poisson count (overdispersed)."""
        if self.burst <= 0:
            return 1.0
        return rng.gammavariate(1 / self.burst ** 2, self.burst ** 2)

    def shape(self, marketplace_id: str, hour: datetime) -> float:
        """The hour's rate as a share of the day's mean: lowest at 04:00 local, highest at 16:00."""
        market = lookup(marketplace_id)
        local = (to_utc(hour).hour + _REGION_OFFSET_HOURS.get(market.region if market else "NA", 0)) % 24
        return 1 - (1 - self.night_share) * math.cos(2 * math.pi * (local - 4) / 24)


@dataclass(frozen=True)
class Event:
    """One ASIN's stock-out, suppression or spike over the hours [start, end)."""

    kind: str
    marketplace_id: str
    asin: str
    start: datetime
    end: datetime
    factor: float = 1.0  # spike: units times this

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"event kind must be one of {', '.join(EVENT_KINDS)}, not {self.kind!r}")
        if not to_utc(self.start) < to_utc(self.end):
            raise ValueError("an event must start before it ends")

    def covers(self, marketplace_id: str, asin: str, hour: datetime) -> bool:
        return (marketplace_id, asin) == (self.marketplace_id, self.asin) and self.start <= hour < self.end

    @property
    def hours(self) -> int:
        return int((self.end - self.start) / HOUR)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's product method; a normal draw beyond where it loses precision)."""
    if mean <= 0:
        return 0
    if mean > 500:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def plan_events(rng: random.Random, catalogues: dict[str, Sequence[str]], start: datetime, end: datetime,
                per_marketplace: int, hours: tuple[int, int] = (2, 10),
                factors: tuple[float, float] = (4.0, 8.0)) -> list[Event]:
    """`per_marketplace` events in each marketplace, starting on whole hours in [start, end - longest),
    of kinds in turn, on ASINs drawn from its catalogue, never two at once on one ASIN."""
    events: list[Event] = []
    span = int((end - start - timedelta(hours=hours[1])) / HOUR)
    for marketplace_id, catalogue in catalogues.items():
        taken: list[Event] = []
        while len(taken) < per_marketplace:
            kind, first = EVENT_KINDS[len(taken) % len(EVENT_KINDS)], start + rng.randrange(span) * HOUR
            asin, length, factor = rng.choice(list(catalogue)), rng.randint(*hours), round(rng.uniform(*factors), 1)
            event = Event(kind, marketplace_id, asin, first, first + length * HOUR, factor if kind == "spike" else 1.0)
            if not any(e.asin == event.asin and e.start < event.end + HOUR * 24 and event.start < e.end + HOUR * 24
                       for e in taken):  # a day apart: the baseline of one is not the other
                taken.append(event)
        events.extend(taken)
    return sorted(events, key=lambda e: (e.start, e.marketplace_id, e.asin))
