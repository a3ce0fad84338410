"""The real-time report kinds rtsales reads, each as a small description.

A `Kind` says what one kind's documents hold: its reportType, the numeric members
of a row after startTime/endTime/asin (each with its check for one value and for a
whole column), the row and batch shapes the parser hands out, what the
reportSpecification must carry, and the window/age limits Amazon's schema states
for a request. `rtsales.amazon.document` reads any kind from these descriptions;
`rtsales.amazon.parse` keeps the sales entry points on top of it.

Sales keeps the specification checks it always had (currencyCode, no check of
dataStartTime/dataEndTime) so its readers see no change; traffic and inventory
also require dataStartTime..dataEndTime to cover the requested window, which
catches a document for a narrower window whose missing hours would read as empty.
"""

from rtsales.kinds.base import (GLANCE_VIEWS, HIGHLY_AVAILABLE_INVENTORY, ORDERED_REVENUE, ORDERED_UNITS, Kind, Value,
                                WindowLimits, only)
from rtsales.kinds.inventory import INVENTORY, INVENTORY_REPORT, InventoryBatch, InventoryRow
from rtsales.kinds.sales import SALES, SALES_REPORT, SalesBatch, SalesRow
from rtsales.kinds.traffic import TRAFFIC, TRAFFIC_REPORT, TrafficBatch, TrafficRow

KINDS: dict[str, Kind] = {kind.name: kind for kind in (SALES, TRAFFIC, INVENTORY)}

__all__ = ["GLANCE_VIEWS", "HIGHLY_AVAILABLE_INVENTORY", "INVENTORY", "INVENTORY_REPORT", "KINDS", "ORDERED_REVENUE",
           "ORDERED_UNITS", "SALES", "SALES_REPORT", "TRAFFIC", "TRAFFIC_REPORT", "InventoryBatch", "InventoryRow",
           "Kind", "SalesBatch", "SalesRow", "TrafficBatch", "TrafficRow", "Value", "WindowLimits", "kind_for", "only"]


def kind_for(report_type: str) -> Kind:
    """The Kind of a reportType; KeyError for one rtsales does not read."""
    for kind in KINDS.values():
        if kind.report_type == report_type:
            return kind
    raise KeyError(report_type)
