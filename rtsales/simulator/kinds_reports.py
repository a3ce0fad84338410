"""Report documents of the traffic and inventory kinds, as Amazon's schemas describe them.

Like `reports.sales_document`: the whole hours of [start, end) as a report generated
at `at` shows them, rows sorted by hour then ASIN. Neither schema has reportOptions.
The report types and member names are spelt here, not taken from the client's
parser, so a round trip through `rtsales.amazon.document` checks one against the other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rtsales.clock import HOUR, hours_between, iso
from rtsales.simulator.kinds_truth import InventoryTruth, TrafficTruth

TRAFFIC_REPORT_TYPE = "GET_VENDOR_REAL_TIME_TRAFFIC_REPORT"
INVENTORY_REPORT_TYPE = "GET_VENDOR_REAL_TIME_INVENTORY_REPORT"
Hourly = Callable[[str, datetime, datetime], dict[str, int]]  # (marketplace, hour, at) -> value by ASIN


def traffic_document(truth: TrafficTruth, marketplace_id: str, start: datetime, end: datetime,
                     at: datetime) -> dict[str, Any]:
    """The report document (vendorRealTimeTrafficReport.json) for [start, end) as seen at `at`."""
    return _document(TRAFFIC_REPORT_TYPE, "glanceViews", truth.observed, marketplace_id, start, end, at)


def inventory_document(truth: InventoryTruth, marketplace_id: str, start: datetime, end: datetime,
                       at: datetime) -> dict[str, Any]:
    """The report document (vendorRealTimeInventoryReport.json) for [start, end) as seen at `at`."""
    return _document(INVENTORY_REPORT_TYPE, "highlyAvailableInventory", truth.observed, marketplace_id,
                     start, end, at)


def _document(report_type: str, member: str, observed: Hourly, marketplace_id: str, start: datetime,
              end: datetime, at: datetime) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for hour in hours_between(start, end):
        if hour + HOUR > end:
            break
        for asin, value in sorted(observed(marketplace_id, hour, at).items()):
            rows.append({"startTime": iso(hour), "endTime": iso(hour + HOUR), "asin": asin, member: value})
    return {
        "reportSpecification": {
            "reportType": report_type, "dataStartTime": iso(start), "dataEndTime": iso(end),
            "marketplaceIds": [marketplace_id],
        },
        "reportData": rows,
    }
