"""`rtsales sales --compare yesterday|last-week`: each hour of the window beside the same hour of the
reference day, from the local database (no API call).

The window is the one `sales --by hour` shows (the last N hours of known data); the reference of
an hour is the same UTC hour one day or seven days before. Either side may be unknown (the
database does not hold that hour): then it has no numbers and no change is worked out.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from rtsales.clock import HOUR, hour_key, iso
from rtsales.views.sales import hourly_rows, window_end

REFERENCES = {"yesterday": timedelta(days=1), "last-week": timedelta(days=7)}


def compare_hours(db: Database, marketplaces: list[str], now: datetime, hours: int, reference: str,
                  tz: ZoneInfo) -> dict[str, Any]:
    """Hour by hour: units and revenue, the reference hour's, and the change in units (percent)."""
    back = REFERENCES[reference]
    until, newest = window_end(db, marketplaces, now)
    since = until - hours * HOUR
    rows = []
    for mp in marketplaces:
        earlier = hourly_rows(db, mp, since - back, until - back, tz)
        for row, then in zip(hourly_rows(db, mp, since, until, tz), earlier, strict=True):
            rows.append({**row, "reference_hour": then["hour"], "reference_units": then["ordered_units"],
                         "reference_revenue": then["ordered_revenue"], "reference_held": then["held"],
                         "change_percent": change(row["ordered_units"], then["ordered_units"])})
    return {"now_utc": iso(now), "since_hour_utc": hour_key(since), "until_utc": iso(until), "hours": hours,
            "compare": reference, "time_zone": tz.key, "newest_applied_hour": newest, "rows": rows,
            "totals": _totals(rows)}


def change(now: int | None, then: int | None) -> float | None:
    """Units now against the reference, in percent; None without both, or against 0."""
    if now is None or then is None or then <= 0:
        return None
    return round(100 * (now - then) / then, 1)


def _totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per currency, over the hours known on both sides (an unknown hour would read as a loss)."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0.0])
    for row in rows:
        if row["ordered_units"] is None or row["reference_units"] is None:
            continue
        total = sums[row["currency_code"]]
        total[0] += row["ordered_units"]
        total[1] += row["ordered_revenue"]
        total[2] += row["reference_units"]
        total[3] += row["reference_revenue"]
    return [{"currency_code": c, "ordered_units": int(t[0]), "ordered_revenue": round(t[1], 2),
             "reference_units": int(t[2]), "reference_revenue": round(t[3], 2),
             "change_percent": change(int(t[0]), int(t[2]))} for c, t in sorted(sums.items())]
