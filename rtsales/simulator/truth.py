"""Ground truth: the sales the simulator reports, deterministic from a seed.

Every (marketplace, hour) is computed on its own from a hash of (seed, marketplace,
hour, ASIN), never from a shared sequential generator, so any hour can be asked
about in any order and always gives the same answer.

Late revisions: while `at < hour end + revision_hours`, `observed()` still shows
cancellations that have not been booked yet (higher units and revenue) and may
show "ghost" ASINs that vanish from the final numbers. At least one revision of
every hour with sales settles only at the very end of that period, so observed
numbers differ from `final_truth()` until then and equal it afterwards.

An optional `stock_gate` (set by `kinds_truth.InventoryTruth`) says whether an ASIN
can sell in an hour; an ASIN it refuses has no row, not even a ghost. An optional
`Demand` (a busier catalogue with a daily shape) and `Event`s (stock-outs, suppressions,
spikes) come from `events`. Without them every number is as it always was for a seed.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rtsales.clock import HOUR, floor_hour, hour_key, to_utc
from rtsales.simulator.events import Demand, Event, poisson

ASIN_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
ACTIVE_RATE = 0.5  # chance that a catalogue ASIN has a row in an hour with sales
ZERO_ROW_RATE = 0.08  # rows with 0 units (real rows, 0.00 revenue)
NEGATIVE_RATE = 0.06  # rows where cancellations outweigh orders
LATE_CANCEL_RATE = 0.35  # rows with cancellations booked after the hour
GHOST_RATE = 0.25  # hours with an ASIN that is seen early and vanishes later
SETTLE_FRACTIONS = (1 / 3, 2 / 3, 1.0)
StockGate = Callable[[str, datetime, str], bool]  # (marketplace, hour, asin) -> may it sell in that hour


def seeded_rng(seed: int, *parts: object) -> random.Random:
    """A generator of its own for (seed, *parts): any part of the truth can be asked on its own."""
    digest = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True)
class Sales:
    """One ASIN in one hour: ordered units and revenue in integer cents."""

    units: int
    revenue_cents: int

    def __add__(self, other: Sales) -> Sales:
        return Sales(self.units + other.units, self.revenue_cents + other.revenue_cents)


@dataclass(frozen=True)
class _Line:
    """An ASIN's hour: final numbers (None for a ghost), the part still to be
    cancelled, and when (as a fraction of the revision period) that settles."""

    asin: str
    final: Sales | None
    pending: Sales
    settles: float


class SalesTruth:
    """Deterministic hourly sales per marketplace; see the module docstring."""

    def __init__(self, seed: int = 0, *, asins_per_marketplace: int = 12, revision_hours: float = 3,
                 no_sales_rate: float = 0.08,
                 quiet_windows: Iterable[tuple[datetime, datetime]] = (), stock_gate: StockGate | None = None,
                 demand: Demand | None = None, events: Iterable[Event] = ()) -> None:
        if asins_per_marketplace < 2:
            raise ValueError("asins_per_marketplace must be at least 2")
        self.seed = seed
        self.asins_per_marketplace = asins_per_marketplace
        self.revision = timedelta(hours=revision_hours)
        self.no_sales_rate = no_sales_rate
        self.quiet_windows = [(to_utc(start), to_utc(end)) for start, end in quiet_windows]
        self.stock_gate = stock_gate
        self.demand = demand
        self.events = list(events)

    def _rng(self, *parts: object) -> random.Random:
        return seeded_rng(self.seed, *parts)

    def add_quiet_window(self, start: datetime, end: datetime) -> None:
        """Hours starting in [start, end) have no sales in any marketplace."""
        self.quiet_windows.append((to_utc(start), to_utc(end)))

    def add_event(self, event: Event) -> None:
        """Inject a stock-out, suppression or spike (see `events`)."""
        self.events.append(event)

    def event_at(self, marketplace_id: str, hour: datetime, asin: str) -> Event | None:
        """The event that changes this ASIN in this hour, if any."""
        return next((e for e in self.events if e.covers(marketplace_id, asin, hour)), None)

    def expected_units(self, marketplace_id: str, asin: str, hour: datetime) -> float:
        """With a Demand: the mean of the hour's units before any event (0 in a quiet hour)."""
        if self.demand is None or self.is_quiet(hour):
            return 0.0
        day = 1 + self._rng("day", marketplace_id, to_utc(hour).date().isoformat()).uniform(
            -self.demand.day_swing, self.demand.day_swing)
        return self.rate(marketplace_id, asin) * day * self.demand.shape(marketplace_id, hour)

    def rate(self, marketplace_id: str, asin: str) -> float:
        """With a Demand: the ASIN's units an hour at the mean hour of a mean day (0 without one)."""
        if self.demand is None:
            return 0.0
        rng = self._rng("demand", marketplace_id, asin)
        busy = rng.random() < self.demand.busy_share
        return rng.uniform(*(self.demand.busy_rate if busy else self.demand.slow_rate))

    def catalogue(self, marketplace_id: str) -> list[str]:
        """The marketplace's ASINs, e.g. 'B0K3Z9QX2M'."""
        rng = self._rng("catalogue", marketplace_id)
        asins: list[str] = []
        while len(asins) < self.asins_per_marketplace:
            asin = "B0" + "".join(rng.choice(ASIN_ALPHABET) for _ in range(8))
            if asin not in asins:
                asins.append(asin)
        return asins

    def price_cents(self, marketplace_id: str, asin: str) -> int:
        return self._rng("price", marketplace_id, asin).randint(299, 19999)

    def has_sales(self, marketplace_id: str, hour: datetime) -> bool:
        """False for quiet hours and the ~no_sales_rate share of hours without any sale."""
        hour = whole_hour(hour)
        if self.is_quiet(hour):
            return False
        if self.demand is not None:  # a busy catalogue sells somewhere every hour
            return True
        return self._rng("hour", marketplace_id, hour_key(hour)).random() >= self.no_sales_rate

    def is_quiet(self, hour: datetime) -> bool:
        """The hour starts in a quiet window."""
        return any(start <= to_utc(hour) < end for start, end in self.quiet_windows)

    def final_truth(self, marketplace_id: str, hour: datetime) -> dict[str, Sales]:
        """The settled numbers of one hour, by ASIN (empty for an hour without sales)."""
        return {line.asin: line.final for line in self._lines(marketplace_id, hour) if line.final is not None}

    def observed(self, marketplace_id: str, hour: datetime, at: datetime) -> dict[str, Sales]:
        """The numbers of one hour as a report generated at `at` shows them.

        Before the hour starts there is nothing; from then until each revision
        settles, the pending cancellations (and ghost ASINs) are still included.
        """
        hour = whole_hour(hour)
        return self._observe(self._lines(marketplace_id, hour), hour, to_utc(at))

    def unaffected(self, marketplace_id: str, hour: datetime) -> dict[str, Sales]:
        """What the hour's first report would show had no event changed it: what shoppers came for."""
        hour = whole_hour(hour)
        return self._observe(self._plain_lines(marketplace_id, hour), hour, hour)

    def _observe(self, lines: list[_Line], hour: datetime, at: datetime) -> dict[str, Sales]:
        if at < hour:
            return {}
        out: dict[str, Sales] = {}
        for line in lines:
            settled = at >= hour + HOUR + self.revision * line.settles
            if not settled:
                out[line.asin] = line.pending if line.final is None else line.final + line.pending
            elif line.final is not None:
                out[line.asin] = line.final
        return out

    def _lines(self, marketplace_id: str, hour: datetime) -> list[_Line]:
        lines = self._plain_lines(marketplace_id, hour)
        if not self.events:
            return lines
        changed = []
        for line in lines:
            event = self.event_at(marketplace_id, whole_hour(hour), line.asin)
            if event is None:
                changed.append(line)
            elif event.kind == "spike" and line.final is not None:
                changed.append(_Line(line.asin, _times(line.final, event.factor), line.pending, line.settles))
        return changed

    def _plain_lines(self, marketplace_id: str, hour: datetime) -> list[_Line]:
        hour = whole_hour(hour)
        if not self.has_sales(marketplace_id, hour):
            return []
        key = hour_key(hour)
        catalogue = self.catalogue(marketplace_id)
        if self.stock_gate is not None:
            catalogue = [asin for asin in catalogue if self.stock_gate(marketplace_id, hour, asin)]
            if not catalogue:
                return []
        hour_rng = self._rng("plan", marketplace_id, key)
        if self.demand is not None:
            lines = self._demand_lines(marketplace_id, hour, catalogue)
            if not lines:
                return []
        else:
            active = [a for a in catalogue if self._rng("active", marketplace_id, key, a).random() < ACTIVE_RATE]
            lines = [self._line(marketplace_id, key, asin) for asin in active or [hour_rng.choice(catalogue)]]
        if hour_rng.random() < GHOST_RATE and len(lines) < len(catalogue):
            lines.append(self._ghost(marketplace_id, hour_rng, catalogue, {line.asin for line in lines}))
        elif not any(line.settles == 1.0 for line in lines):
            lines = self._anchor_revision(marketplace_id, hour_rng, lines)
        return lines

    def _line(self, marketplace_id: str, key: str, asin: str) -> _Line:
        rng = self._rng("line", marketplace_id, key, asin)
        price = self.price_cents(marketplace_id, asin)
        kind = rng.random()
        if kind < ZERO_ROW_RATE:
            units = 0
        elif kind < ZERO_ROW_RATE + NEGATIVE_RATE:
            units = -rng.randint(1, 3)
        else:
            units = rng.randint(1, 6)
        return self._priced(rng, asin, price, units)

    def _demand_lines(self, marketplace_id: str, hour: datetime, catalogue: list[str]) -> list[_Line]:
        """A Poisson draw around each ASIN's expected units times the hour's burst; ASINs that sold none have no row."""
        lines = []
        for asin in catalogue:
            rng = self._rng("demand-line", marketplace_id, hour_key(hour), asin)
            units = poisson(rng, self.expected_units(marketplace_id, asin, hour) * self.demand.hour_factor(rng))
            if units:
                lines.append(self._priced(rng, asin, self.price_cents(marketplace_id, asin), units))
        return lines

    def _priced(self, rng: random.Random, asin: str, price: int, units: int) -> _Line:
        discount = rng.randint(0, 99 * units) if units > 0 else 0
        final = Sales(units, units * price - discount)
        late = rng.randint(1, 2) if rng.random() < LATE_CANCEL_RATE else 0
        return _Line(asin, final, Sales(late, late * price), rng.choice(SETTLE_FRACTIONS) if late else 0.0)

    def _ghost(self, marketplace_id: str, rng: random.Random, catalogue: list[str], taken: set[str]) -> _Line:
        asin = rng.choice([asin for asin in catalogue if asin not in taken])
        units = rng.randint(1, 3)
        return _Line(asin, None, Sales(units, units * self.price_cents(marketplace_id, asin)), 1.0)

    def _anchor_revision(self, marketplace_id: str, rng: random.Random, lines: list[_Line]) -> list[_Line]:
        """Make one row carry a cancellation that settles at the end of the revision period."""
        index = rng.randrange(len(lines))
        line = lines[index]
        price = self.price_cents(marketplace_id, line.asin)
        pending = line.pending if line.pending.units else Sales(1, price)
        lines[index] = _Line(line.asin, line.final, pending, 1.0)
        return lines


def _times(sales: Sales, factor: float) -> Sales:
    return Sales(round(sales.units * factor), round(sales.revenue_cents * factor))


def whole_hour(hour: datetime) -> datetime:
    hour = to_utc(hour)
    if hour != floor_hour(hour):
        raise ValueError(f"not a whole UTC hour: {hour.isoformat()}")
    return hour
