"""`rtsales sales`: the last known numbers from the database, no API call at all.

Totals per ASIN or per hour over the last N hours of known data (ending at the
newest hour that holds data, also while it is being re-fetched), and
whether SP-API is cooling down (then this is "last known data" by design).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from rtsales.clock import HOUR, floor_hour, hour_key, iso, parse_hour
from rtsales.keepa.cache import cached_titles
from rtsales.ledger import newest_held_hour
from rtsales.quota import active_cooldown


def sales_summary(db: Database, marketplaces: list[str], now: datetime, hours: int, by: str,
                  longest_cooldown: timedelta | None = None) -> dict[str, Any]:
    """Totals over the last `hours` hours of known data: up to the newest hour that holds data, not
    up to now, since the newest hour may not be fetched yet (SAFETY_LAG_MINUTES)."""
    newest = {mp: newest_held_hour(db, mp) for mp in marketplaces}
    known = [parse_hour(h) + HOUR for h in newest.values() if h]
    until = max(known) if known else floor_hour(now)
    since = hour_key(until - hours * HOUR)
    group = "s.asin" if by == "asin" else "s.hour_utc"
    rows: list[dict[str, Any]] = []
    for mp in marketplaces:
        # final: every hour behind the row was fetched after it settled; else Amazon may still revise it.
        for key, units, revenue, currency, final in db.execute(
                f"SELECT {group}, SUM(s.ordered_units), ROUND(SUM(s.ordered_revenue), 2), MAX(s.currency_code), "
                f"MIN(l.data_state = 'final') FROM vendor_realtime_sales s JOIN vendor_rt_sales_hour_ledger l "
                f"ON l.marketplace_id = s.marketplace_id AND l.hour_utc = s.hour_utc "
                f"WHERE s.marketplace_id = ? AND s.hour_utc >= ? AND s.hour_utc < ? GROUP BY {group} "
                f"ORDER BY {'SUM(s.ordered_revenue) DESC' if by == 'asin' else 's.hour_utc'}",
                [mp, since, iso(until)]):
            rows.append({"marketplace_id": mp, by: key, "ordered_units": units, "ordered_revenue": revenue,
                         "currency_code": currency, "final": bool(final)})
    if by == "asin":
        titles = cached_titles(db, [r["asin"] for r in rows])
        for row in rows:
            row["title"] = titles.get(row["asin"])
    cooldown = active_cooldown(db, "spapi", now, longest_cooldown)
    return {"now_utc": iso(now), "since_hour_utc": since, "until_utc": iso(until), "hours": hours, "by": by,
            "newest_applied_hour": newest, "cooldown_until": iso(cooldown.until) if cooldown else None,
            "rows": rows}
