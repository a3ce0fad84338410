"""Ground truth of traffic (glance views) and inventory (highly available units), from a SalesTruth.

Both are deterministic from the sales truth's seed and can be asked about any hour in
any order. A quiet window of the sales truth is an outage of every feed: no traffic
and no inventory rows either (stock still moves, without sales).

Traffic: every catalogue ASIN is looked at in an hour by the buyers of that hour
(its units before late cancellations, divided by a conversion rate of the ASIN's own,
rounded up) plus people who did not buy, so glance views are never fewer than the
units of any observation of that hour. Late revisions as in sales: robot views are
counted early and filtered out when they settle (within the revision period, one of
every hour at its very end), so early numbers are higher and an ASIN seen only by
robots vanishes.

Events (`events.Event`): shoppers come for what the ASIN would have sold without a stock-out
(so its glance views stay as they were), a spike brings its buyers, and a suppressed listing
gets no glance views. A stock-out holds the ASIN's highly available units at 0 for its hours.

Inventory: each ASIN has a capacity (with a Demand, at least a week of its sales); stock falls by the hour's (final, positive)
units, never below zero, and once at or below a quarter of capacity a delivery
fills it up at a random later hour. An ASIN at zero stock sells nothing in that
hour: the inventory truth installs itself as the sales truth's `stock_gate` (unless
told not to), so sales and stock are one history. To stay computable in any order,
every ASIN is filled up at each weekly stock-take (Monday 00:00 UTC), and an hour's
stock is worked out forward from the last one (at most a week of hours, cached).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rtsales.clock import HOUR, hour_key, to_utc
from rtsales.simulator.truth import SETTLE_FRACTIONS, SalesTruth, seeded_rng, whole_hour

CONVERSION = (0.05, 0.4)  # share of an ASIN's glance views that buy: its own value in this range
BROWSE_MAX = 25  # glance views of people who did not buy, per ASIN-hour: 0..BROWSE_MAX
ROBOT_RATE = 0.35  # ASIN-hours with robot views that are filtered out late
ROBOT_MAX = 20
CAPACITY = (30, 240)  # units an ASIN's stock is filled up to
REORDER_SHARE = 0.25  # a delivery is due once stock is at or below this share of capacity
DELIVERY_RATE = 0.08  # chance per hour that a due delivery arrives
STOCK_TAKE = timedelta(days=7)
_STOCK_TAKE_EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday


@dataclass(frozen=True)
class _Views:
    """An ASIN's hour of traffic: settled views, robot views still counted until `settles`."""

    asin: str
    final: int
    robots: int
    settles: float  # when the robots are filtered, as a fraction of the revision period


class TrafficTruth:
    """Glance views per ASIN-hour, consistent with the sales truth; see the module docstring."""

    def __init__(self, sales: SalesTruth) -> None:
        self.sales = sales

    def _rng(self, *parts: object) -> random.Random:
        return seeded_rng(self.sales.seed, "traffic", *parts)

    def conversion(self, marketplace_id: str, asin: str) -> float:
        """The share of the ASIN's glance views that buy."""
        return self._rng("conversion", marketplace_id, asin).uniform(*CONVERSION)

    def final_truth(self, marketplace_id: str, hour: datetime) -> dict[str, int]:
        """Settled glance views of one hour, by ASIN (ASINs without views have no entry)."""
        return {line.asin: line.final for line in self._lines(marketplace_id, hour) if line.final}

    def observed(self, marketplace_id: str, hour: datetime, at: datetime) -> dict[str, int]:
        """Glance views of one hour as a report generated at `at` shows them (robots until they settle)."""
        hour, at = whole_hour(hour), to_utc(at)
        if at < hour:
            return {}
        out: dict[str, int] = {}
        for line in self._lines(marketplace_id, hour):
            settled = at >= hour + HOUR + self.sales.revision * line.settles
            views = line.final if settled else line.final + line.robots
            if views:
                out[line.asin] = views
        return out

    def _lines(self, marketplace_id: str, hour: datetime) -> list[_Views]:
        if self.sales.is_quiet(hour):
            return []
        bought = self.sales.unaffected(marketplace_id, hour)  # before any cancellation is booked
        key = hour_key(hour)
        lines = []
        for asin in self.sales.catalogue(marketplace_id):
            rng = self._rng("views", marketplace_id, key, asin)
            buyers = max(bought[asin].units, 0) if asin in bought else 0
            event = self.sales.event_at(marketplace_id, hour, asin) if self.sales.events else None
            if event is not None and event.kind == "spike":
                buyers = round(buyers * event.factor)
            final = math.ceil(buyers / self.conversion(marketplace_id, asin)) + rng.randint(0, BROWSE_MAX)
            robots = rng.randint(1, ROBOT_MAX) if rng.random() < ROBOT_RATE else 0
            if event is not None and event.kind == "suppression":
                final = 0
            lines.append(_Views(asin, final, robots, rng.choice(SETTLE_FRACTIONS) if robots else 0.0))
        return _anchor_revision(lines, self._rng("anchor", marketplace_id, key))


def _anchor_revision(lines: list[_Views], rng: random.Random) -> list[_Views]:
    """Make one ASIN's robots settle at the end of the revision period, as sales do."""
    if not lines or any(line.robots and line.settles == 1.0 for line in lines):
        return lines
    index = rng.randrange(len(lines))
    line = lines[index]
    lines[index] = _Views(line.asin, line.final, line.robots or 1, 1.0)
    return lines


class InventoryTruth:
    """Highly available units per ASIN-hour, run down by the sales truth; see the module docstring."""

    def __init__(self, sales: SalesTruth, *, stops_sales: bool = True) -> None:
        self.sales = sales
        self._runs: dict[tuple[str, datetime], list[dict[str, int]]] = {}  # stock from a stock-take, hour by hour
        self._changes = self._sales_changes()
        if stops_sales:
            sales.stock_gate = self.in_stock

    def _rng(self, *parts: object) -> random.Random:
        return seeded_rng(self.sales.seed, "inventory", *parts)

    def capacity(self, marketplace_id: str, asin: str) -> int:
        """The units the ASIN's stock is filled up to (at every delivery and stock-take)."""
        base = self._rng("capacity", marketplace_id, asin).randint(*CAPACITY)
        return base + round(self.sales.rate(marketplace_id, asin) * 24 * 7)

    def stock(self, marketplace_id: str, hour: datetime) -> dict[str, int]:
        """Every catalogue ASIN's highly available units at the start of `hour` (never negative)."""
        hour = whole_hour(hour)
        if self._sales_changes() != self._changes:  # sales changed: so did the stock
            self._runs.clear()
            self._changes = self._sales_changes()
        take = _STOCK_TAKE_EPOCH + (hour - _STOCK_TAKE_EPOCH) // STOCK_TAKE * STOCK_TAKE
        run = self._runs.get((marketplace_id, take))
        if run is None:
            full = {asin: self.capacity(marketplace_id, asin) for asin in self.sales.catalogue(marketplace_id)}
            run = self._runs[(marketplace_id, take)] = [full]
        index = (hour - take) // HOUR
        while len(run) <= index:  # the sales of the last known hour read its stock from `run` (the gate)
            run.append(self._next(marketplace_id, take + (len(run) - 1) * HOUR, run[-1]))
        return dict(run[index])

    def _sales_changes(self) -> tuple[int, int]:
        """Quiet windows and events added to the sales truth so far: what its numbers were worked out with."""
        return len(self.sales.quiet_windows), len(self.sales.events)

    def in_stock(self, marketplace_id: str, hour: datetime, asin: str) -> bool:
        """The ASIN has units to sell in that hour (the sales truth's stock gate)."""
        return self.stock(marketplace_id, hour).get(asin, 0) > 0

    def final_truth(self, marketplace_id: str, hour: datetime) -> dict[str, int]:
        """The hour's stock as reports show it: every catalogue ASIN (0 in a stock-out), none in a quiet hour."""
        hour = whole_hour(hour)
        if self.sales.is_quiet(hour):
            return {}
        stock = self.stock(marketplace_id, hour)
        for event in self.sales.events:
            if event.kind == "stockout" and event.covers(marketplace_id, event.asin, hour) and event.asin in stock:
                stock[event.asin] = 0
        return stock

    def observed(self, marketplace_id: str, hour: datetime, at: datetime) -> dict[str, int]:
        """As `final_truth` once the hour has begun (stock is not revised); nothing before."""
        return {} if to_utc(at) < whole_hour(hour) else self.final_truth(marketplace_id, hour)

    def _next(self, marketplace_id: str, hour: datetime, stock: dict[str, int]) -> dict[str, int]:
        """The stock at the start of the hour after `hour`: sold down, or filled up by a delivery."""
        sold = self.sales.final_truth(marketplace_id, hour)
        key = hour_key(hour + HOUR)
        after: dict[str, int] = {}
        for asin, units in stock.items():
            left = max(0, units - max(0, sold[asin].units if asin in sold else 0))
            full = self.capacity(marketplace_id, asin)
            due = left <= full * REORDER_SHARE
            arrives = due and self._rng("delivery", marketplace_id, key, asin).random() < DELIVERY_RATE
            after[asin] = full if arrives else left
        return after
