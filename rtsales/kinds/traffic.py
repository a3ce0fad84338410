"""GET_VENDOR_REAL_TIME_TRAFFIC_REPORT: glance views per ASIN-hour.

Its schema: dataEndTime at least 60 minutes before the request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import NamedTuple

from rtsales.kinds.base import GLANCE_VIEWS, Kind, WindowLimits

TRAFFIC_REPORT = "GET_VENDOR_REAL_TIME_TRAFFIC_REPORT"


class TrafficRow(NamedTuple):
    hour_utc: str
    asin: str
    glance_views: int


class TrafficBatch(NamedTuple):
    hour_utc: Sequence[str]
    asin: Sequence[str]
    glance_views: Sequence[int]


TRAFFIC = Kind("traffic", TRAFFIC_REPORT, (GLANCE_VIEWS,), TrafficRow, TrafficBatch,
               currency=False, checks_window=True, limits=WindowLimits(min_end_age=timedelta(minutes=60)),
               table="vendor_realtime_traffic", columns=("glance_views",), measure="glance views")
