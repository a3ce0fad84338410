"""What every report kind is described by: its numeric values and their checks, the window
limits Amazon's schema states, and the `Kind` that gathers them (see `rtsales.kinds`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
    table: str  # where its rows live: (marketplace_id, asin, hour_utc, *columns, [currency_code], report_id, ...)
    columns: tuple[str, ...]  # the table's column for each of `values`, in order
    measure: str  # what its first number counts, for people: "units", "glance views", "sellable units"

    @property
    def window_limit_hours(self) -> int | None:
        """The longest window the schema allows, in whole hours (None: not stated)."""
        span = self.limits.max_span
        return None if span is None else int(span.total_seconds() // 3600)
