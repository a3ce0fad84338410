"""The hours `rtsales watch` judges, read from the database into arrays: one `Lane` per marketplace.

Hour i of a lane is `since + i hours`, up to the newest hour the sales ledger holds. An
hour the ledger does not hold (data_state 'none', or no row) is unknown, never 0; a held
hour without a row for an ASIN is 0 units. Glance views count only where the traffic
ledger holds the hour (traffic lands an hour after sales); stock is the newest row at or
before an hour. Without traffic or inventory (REPORT_TYPES) watch works on sales alone.
Reads only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from rtsales.amazon.marketplaces import lookup
from rtsales.clock import HOUR, hour_key, parse_hour

LEDGER = "vendor_rt_sales_hour_ledger"
TRAFFIC, INVENTORY = "vendor_realtime_traffic", "vendor_realtime_inventory"


@dataclass
class Lane:
    """One marketplace's hours [since, since + size hours) as arrays indexed by hour."""

    marketplace_id: str
    since: datetime
    size: int
    states: list[str | None]  # data_state of each held hour; None: not held
    currency_code: str
    units: dict[str, list[int]] = field(default_factory=dict)
    rows: dict[str, set[int]] = field(default_factory=dict)  # hours with a row (0 units included)
    revenue: dict[str, float] = field(default_factory=dict)  # per ASIN, hours with positive units
    sold: dict[str, int] = field(default_factory=dict)  # positive units behind `revenue`
    views_held: list[bool] | None = None  # None: no traffic data at all
    views: dict[str, list[int]] = field(default_factory=dict)
    stock: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # (hour, units), oldest first
    excluded: dict[str, set[int]] = field(default_factory=dict)  # hours of events reported before

    def __post_init__(self) -> None:
        self._keys = [hour_key(self.since + i * HOUR) for i in range(self.size)]
        self._indexes = {key: i for i, key in enumerate(self._keys)}  # rows are read by the hundred thousand

    def key(self, index: int) -> str:
        return self._keys[index] if 0 <= index < self.size else hour_key(self.since + index * HOUR)

    def index(self, key: str) -> int:
        found = self._indexes.get(key)
        return found if found is not None else int((parse_hour(key) - self.since) / HOUR)

    def held(self, index: int) -> bool:
        return 0 <= index < self.size and self.states[index] is not None

    def price(self, asin: str) -> float:
        """Revenue per unit over the lane: what a unit lost or gained is worth."""
        sold = self.sold.get(asin, 0)
        return self.revenue.get(asin, 0.0) / sold if sold > 0 else 0.0

    def stock_at(self, asin: str, index: int) -> tuple[int, int] | None:
        """The newest (hour, sellable units) at or before `index`."""
        return next((entry for entry in reversed(self.stock.get(asin, [])) if entry[0] <= index), None)


def newest_held(db: Database, marketplace_id: str) -> datetime | None:
    """The newest hour whose sales the database holds (provisional or final)."""
    row = db.execute(f"SELECT MAX(hour_utc) FROM {LEDGER} WHERE report_kind = 'sales' AND marketplace_id = ? "
                     "AND data_state != 'none'", [marketplace_id]).fetchone()
    return parse_hour(row[0]) if row and row[0] else None


def load_lane(db: Database, marketplace_id: str, since: datetime, newest: datetime,
              excluded: dict[str, list[tuple[datetime, datetime]]]) -> Lane:
    """Sales, glance views and stock of [since, newest], and the hours to leave out of baselines."""
    size = int((newest - since) / HOUR) + 1
    known = lookup(marketplace_id)
    lane = Lane(marketplace_id, since, size, [None] * size, known.currency if known else "USD")
    for key, state in _held(db, lane, "sales"):
        lane.states[lane.index(key)] = state
    _load_sales(db, lane)
    _load_views(db, lane)
    _load_stock(db, lane)
    for asin, spans in excluded.items():
        lane.excluded[asin] = {i for first, last in spans for i in range(lane.index(hour_key(first)),
                                                                         lane.index(hour_key(last)) + 1)}
    return lane


def _span(lane: Lane) -> list[str]:
    return [lane.marketplace_id, lane.key(0), lane.key(lane.size - 1)]


def _held(db: Database, lane: Lane, kind: str) -> list[tuple[str, str]]:
    """(hour, data_state) of the hours of the lane whose numbers of this kind the database holds."""
    return db.execute(f"SELECT hour_utc, data_state FROM {LEDGER} WHERE marketplace_id = ? AND hour_utc >= ? "
                      "AND hour_utc <= ? AND data_state != 'none' AND report_kind = ?", [*_span(lane), kind]).fetchall()


def _load_sales(db: Database, lane: Lane) -> None:
    for asin, key, units, revenue, currency in db.execute(
            "SELECT asin, hour_utc, ordered_units, ordered_revenue, currency_code FROM vendor_realtime_sales "
            "WHERE marketplace_id = ? AND hour_utc >= ? AND hour_utc <= ?", _span(lane)):
        index = lane.index(key)
        if not lane.held(index):  # rows of an hour the ledger does not hold: not trusted yet
            continue
        lane.units.setdefault(asin, [0] * lane.size)[index] = units
        lane.rows.setdefault(asin, set()).add(index)
        lane.currency_code = currency
        if units > 0:
            lane.sold[asin] = lane.sold.get(asin, 0) + units
            lane.revenue[asin] = lane.revenue.get(asin, 0.0) + revenue


def _load_views(db: Database, lane: Lane) -> None:
    held = _held(db, lane, "traffic")
    if not held:  # traffic not fetched (REPORT_TYPES): watch works on sales alone
        return
    lane.views_held = [False] * lane.size
    for key, _state in held:
        lane.views_held[lane.index(key)] = True
    for asin, key, views in db.execute(f"SELECT asin, hour_utc, glance_views FROM {TRAFFIC} WHERE marketplace_id = ? "
                                       "AND hour_utc >= ? AND hour_utc <= ?", _span(lane)):
        if lane.views_held[lane.index(key)]:
            lane.views.setdefault(asin, [0] * lane.size)[lane.index(key)] = views


def _load_stock(db: Database, lane: Lane) -> None:
    stock: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for asin, key, units in db.execute(f"SELECT asin, hour_utc, highly_available_inventory FROM {INVENTORY} WHERE "
                                       "marketplace_id = ? AND hour_utc >= ? AND hour_utc <= ? ORDER BY hour_utc",
                                       _span(lane)):
        stock[asin].append((lane.index(key), units))
    lane.stock = dict(stock)
