"""GET_VENDOR_REAL_TIME_INVENTORY_REPORT: highly available sellable units per ASIN-hour.

Its schema: dataStartTime at most 168 hours before the request, dataEndTime at most 24 hours
after dataStartTime."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import NamedTuple

from rtsales.kinds.base import HIGHLY_AVAILABLE_INVENTORY, Kind, WindowLimits

INVENTORY_REPORT = "GET_VENDOR_REAL_TIME_INVENTORY_REPORT"


class InventoryRow(NamedTuple):
    hour_utc: str
    asin: str
    highly_available_inventory: int


class InventoryBatch(NamedTuple):
    hour_utc: Sequence[str]
    asin: Sequence[str]
    highly_available_inventory: Sequence[int]


INVENTORY = Kind("inventory", INVENTORY_REPORT, (HIGHLY_AVAILABLE_INVENTORY,), InventoryRow, InventoryBatch,
                 currency=False, checks_window=True,
                 limits=WindowLimits(max_data_age=timedelta(hours=168), max_span=timedelta(hours=24)),
                 table="vendor_realtime_inventory", columns=("highly_available_inventory",), measure="sellable units")
