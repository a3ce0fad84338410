"""`rtsales sales`: the last known numbers from the database, no API call at all.

Totals per ASIN or per hour over the last N hours of known data (ending at the
newest hour that holds data, also while it is being re-fetched), totals per
currency, and whether SP-API is cooling down (then this is "last known data" by
design). Per hour, every hour of the window is a row: 0 when the ledger holds the
hour without sales, no numbers when it holds nothing for it ("not fetched").
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from rtsales.amazon.marketplaces import lookup
from rtsales.clock import HOUR, floor_hour, hour_key, hours_between, iso, parse_hour
from rtsales.keepa.cache import cached_titles
from rtsales.quota import active_cooldown
from rtsales.sync.ledger import newest_held_hour
from rtsales.zones import local_iso

UTC_ZONE = ZoneInfo("UTC")


def sales_summary(db: Database, marketplaces: list[str], now: datetime, hours: int, by: str,
                  longest_cooldown: timedelta | None = None, tz: ZoneInfo = UTC_ZONE) -> dict[str, Any]:
    """Totals over the last `hours` hours of known data: up to the newest hour that holds data, not
    up to now, since the newest hour may not be fetched yet (SAFETY_LAG_MINUTES). `tz` only labels."""
    until, newest = window_end(db, marketplaces, now)
    since = until - hours * HOUR
    rows: list[dict[str, Any]] = []
    for mp in marketplaces:
        rows.extend(_grouped(db, mp, hour_key(since), iso(until), by) if by == "asin" else
                    hourly_rows(db, mp, since, until, tz))
    if by == "asin":
        titles = cached_titles(db, [r["asin"] for r in rows])
        for row in rows:
            row["title"] = titles.get(row["asin"])
    cooldown = active_cooldown(db, "spapi", now, longest_cooldown)
    return {"now_utc": iso(now), "since_hour_utc": hour_key(since), "until_utc": iso(until), "hours": hours,
            "by": by, "time_zone": tz.key, "newest_applied_hour": newest,
            "cooldown_until": iso(cooldown.until) if cooldown else None, "rows": rows, "totals": totals(rows)}


def _grouped(db: Database, mp: str, since: str, until: str, by: str) -> list[dict[str, Any]]:
    group = "s.asin" if by == "asin" else "s.hour_utc"
    # final: every hour behind the row was fetched after it settled; else Amazon may still revise it.
    # LEFT JOIN: a sales row without its ledger row (a hand-edited file) is still counted, as not final.
    return [{"marketplace_id": mp, by: key, "ordered_units": units, "ordered_revenue": revenue,
             "currency_code": currency, "final": bool(final)} for key, units, revenue, currency, final in db.execute(
        f"SELECT {group}, SUM(s.ordered_units), ROUND(SUM(s.ordered_revenue), 2), MAX(s.currency_code), "
        f"MIN(COALESCE(l.data_state = 'final', 0)) FROM vendor_realtime_sales s "
        f"LEFT JOIN vendor_rt_sales_hour_ledger l "
        f"ON l.report_kind = 'sales' AND l.marketplace_id = s.marketplace_id AND l.hour_utc = s.hour_utc "
        f"WHERE s.marketplace_id = ? AND s.hour_utc >= ? AND s.hour_utc < ? GROUP BY {group} "
        f"ORDER BY {'SUM(s.ordered_revenue) DESC' if by == 'asin' else 's.hour_utc'}", [mp, since, until])]


def hourly_rows(db: Database, mp: str, since: datetime, until: datetime, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Every hour of [since, until) of one marketplace, as `sales --by hour` shows them."""
    return _every_hour(db, mp, since, until, _grouped(db, mp, hour_key(since), iso(until), "hour"), tz)


def window_end(db: Database, marketplaces: list[str], now: datetime) -> tuple[datetime, dict[str, str | None]]:
    """The end of the newest hour held in any of the marketplaces (now's hour if none), and each one's newest."""
    newest = {mp: newest_held_hour(db, mp, kind="sales") for mp in marketplaces}
    known = [parse_hour(h) + HOUR for h in newest.values() if h]
    return (max(known) if known else floor_hour(now)), newest


def _every_hour(db: Database, mp: str, since: datetime, until: datetime, found: list[dict[str, Any]],
                tz: ZoneInfo) -> list[dict[str, Any]]:
    """One row per hour of the window: the sold ones as found, held hours without sales as 0, and
    hours the database holds nothing for without numbers (held: false)."""
    by_hour = {row["hour"]: row for row in found}
    states = dict(db.execute("SELECT hour_utc, data_state FROM vendor_rt_sales_hour_ledger WHERE report_kind = 'sales' "
                             "AND marketplace_id = ? AND hour_utc >= ? AND hour_utc < ?",
                             [mp, hour_key(since), iso(until)]).fetchall())
    known = lookup(mp)
    rows = []
    for key in map(hour_key, hours_between(since, until)):
        state = states.get(key, "none")
        held = state != "none"
        row = by_hour.get(key) or {"marketplace_id": mp, "hour": key, "ordered_units": 0 if held else None,
                                   "ordered_revenue": 0.0 if held else None,
                                   "currency_code": known.currency if known else None, "final": state == "final"}
        rows.append({**row, "hour_local": local_iso(key, tz), "held": held})
    return rows


def totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Units and revenue summed per currency (adding up dollars and euros would mean nothing)."""
    units: dict[str, int] = defaultdict(int)
    revenue: dict[str, float] = defaultdict(float)
    for row in rows:
        if row["ordered_units"] is not None:
            units[row["currency_code"]] += row["ordered_units"]
            revenue[row["currency_code"]] += row["ordered_revenue"]
    return [{"currency_code": c, "ordered_units": units[c], "ordered_revenue": round(revenue[c], 2)}
            for c in sorted(units)]
