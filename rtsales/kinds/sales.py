"""GET_VENDOR_REAL_TIME_SALES_REPORT: ordered units and revenue per ASIN-hour (rtsales keeps it by default).

The sales schema states no window limits: MAX_WINDOW_HOURS and MAX_DATA_AGE_HOURS govern sales
requests. Sales keeps the specification checks it always had (currencyCode required, no check of
dataStartTime/dataEndTime)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from rtsales.kinds.base import ORDERED_REVENUE, ORDERED_UNITS, Kind, WindowLimits

SALES_REPORT = "GET_VENDOR_REAL_TIME_SALES_REPORT"


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


SALES = Kind("sales", SALES_REPORT, (ORDERED_UNITS, ORDERED_REVENUE), SalesRow, SalesBatch,
             currency=True, checks_window=False, limits=WindowLimits(),
             table="vendor_realtime_sales", columns=("ordered_units", "ordered_revenue"), measure="units")
