"""The real-time report kinds rtsales reads, each as a small description.

A `Kind` says what one kind's documents hold: its reportType, the numeric members
of a row after startTime/endTime/asin (each with its check for one value and for a
whole column), the row and batch shapes the parser hands out, what the
reportSpecification must carry, and the window/age limits Amazon's schema states
for a request. `rtsales.amazon.document` reads any kind from this description;
`rtsales.amazon.parse` keeps the sales entry points on top of it.

Sales keeps the specification checks it always had (currencyCode, no check of
dataStartTime/dataEndTime) so its readers see no change; traffic and inventory
also require dataStartTime..dataEndTime to cover the requested window, which
catches a document for a narrower window whose missing hours would read as empty.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

SALES_REPORT = "GET_VENDOR_REAL_TIME_SALES_REPORT"
TRAFFIC_REPORT = "GET_VENDOR_REAL_TIME_TRAFFIC_REPORT"
INVENTORY_REPORT = "GET_VENDOR_REAL_TIME_INVENTORY_REPORT"


class SalesRow(NamedTuple):
    hour_utc: str
    asin: str
    ordered_units: int
    ordered_revenue: float


class SalesBatch(NamedTuple):
    """Rows as columns: row i is (hour_utc[i], asin[i], ordered_units[i], ordered_revenue[i])."""

    hour_utc: Sequence[str]
    asin: Sequence[str]
    ordered_units: Sequence[int]
    ordered_revenue: Sequence[float]


class TrafficRow(NamedTuple):
    hour_utc: str
    asin: str
    glance_views: int


class TrafficBatch(NamedTuple):
    hour_utc: Sequence[str]
    asin: Sequence[str]
    glance_views: Sequence[int]


class InventoryRow(NamedTuple):
    hour_utc: str
    asin: str
    highly_available_inventory: int


class InventoryBatch(NamedTuple):
    hour_utc: Sequence[str]
    asin: Sequence[str]
    highly_available_inventory: Sequence[int]


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(value)


def _count(value: Any) -> int:
    if _integer(value) < 0:
        raise ValueError(value)
    return int(value)


def _amount(value: Any) -> float:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    except OverflowError:  # an integer too large for a float
        pass
    raise ValueError(value)


def only(column: Sequence[Any], kind: type) -> bool:
    """Every value is exactly of type `kind` (so bool is not an int here)."""
    return set(map(type, column)) == {kind}


def _integers(column: list[Any]) -> list[Any] | None:
    return column if only(column, int) else None


def _counts(column: list[Any]) -> list[Any] | None:
    return column if only(column, int) and min(column) >= 0 else None


def _amounts(column: list[Any]) -> list[Any] | None:
    kinds = set(map(type, column))
    if not kinds <= {float, int}:
        return None
    try:
        amounts = list(map(float, column)) if int in kinds else column
    except OverflowError:
        return None
    # NaN and inf make the sum non-finite; so does an overflowing sum of good values (row by row is still right)
    return amounts if math.isfinite(sum(amounts)) else None


@dataclass(frozen=True)
class Value:
    """One numeric member of a row: its check for one value and for a column of them."""

    name: str  # the JSON member, e.g. "glanceViews"
    problem: str  # the message after the name when a value fails, e.g. "is not an integer"
    one: Callable[[Any], Any]  # the checked value; raises ValueError
    column: Callable[[list[Any]], list[Any] | None]  # the checked column, or None: check row by row


ORDERED_UNITS = Value("orderedUnits", "is not an integer", _integer, _integers)
ORDERED_REVENUE = Value("orderedRevenue", "is not a number", _amount, _amounts)
GLANCE_VIEWS = Value("glanceViews", "is not an integer >= 0", _count, _counts)
HIGHLY_AVAILABLE_INVENTORY = Value("highlyAvailableInventory", "is not an integer >= 0", _count, _counts)


@dataclass(frozen=True)
class WindowLimits:
    """What a createReport request may ask for, as the report's schema states it (None: not stated)."""

    max_data_age: timedelta | None = None  # dataStartTime at most this long before the request
    max_span: timedelta | None = None  # dataEndTime at most this long after dataStartTime
    min_end_age: timedelta | None = None  # dataEndTime at least this long before the request

    def refusal(self, start: datetime, end: datetime, now: datetime) -> str | None:
        """Why a request for [start, end) made at `now` breaks these limits, or None."""
        if self.max_data_age is not None and start < now - self.max_data_age:
            return f"dataStartTime may be at most {_hours(self.max_data_age)} hours before the request"
        if self.max_span is not None and end - start > self.max_span:
            return f"dataEndTime may be at most {_hours(self.max_span)} hours after dataStartTime"
        if self.min_end_age is not None and end > now - self.min_end_age:
            minutes = f"{self.min_end_age.total_seconds() / 60:g}"
            return f"dataEndTime must be at least {minutes} minutes before the request"
        return None


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g}"


@dataclass(frozen=True)
class Kind:
    """One report kind: see the module docstring."""

    name: str  # "sales", "traffic", "inventory"
    report_type: str
    values: tuple[Value, ...]
    row: Callable[..., tuple[Any, ...]]  # (hour_utc, asin, *values) -> the row NamedTuple
    batch: Callable[..., tuple[Sequence[Any], ...]]  # (hour column, asin column, *value columns)
    currency: bool  # reportOptions.currencyCode is required (and handed out)
    checks_window: bool  # dataStartTime..dataEndTime must cover the requested window
    limits: WindowLimits


# The sales schema states no limits; MAX_WINDOW_HOURS and MAX_DATA_AGE_HOURS govern sales requests.
SALES = Kind("sales", SALES_REPORT, (ORDERED_UNITS, ORDERED_REVENUE), SalesRow, SalesBatch,
             currency=True, checks_window=False, limits=WindowLimits())
TRAFFIC = Kind("traffic", TRAFFIC_REPORT, (GLANCE_VIEWS,), TrafficRow, TrafficBatch,
               currency=False, checks_window=True, limits=WindowLimits(min_end_age=timedelta(minutes=60)))
INVENTORY = Kind("inventory", INVENTORY_REPORT, (HIGHLY_AVAILABLE_INVENTORY,), InventoryRow, InventoryBatch,
                 currency=False, checks_window=True,
                 limits=WindowLimits(max_data_age=timedelta(hours=168), max_span=timedelta(hours=24)))
KINDS: dict[str, Kind] = {kind.name: kind for kind in (SALES, TRAFFIC, INVENTORY)}


def kind_for(report_type: str) -> Kind:
    """The Kind of a reportType; KeyError for one rtsales does not read."""
    for kind in KINDS.values():
        if kind.report_type == report_type:
            return kind
    raise KeyError(report_type)
