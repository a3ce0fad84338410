"""`rtsales sales`: the last known numbers from the database, no API call at all.

Totals per ASIN or per hour over the last N hours of known data (ending at the
newest hour that holds sales, also while it is being re-fetched), totals per
currency, and whether SP-API is cooling down (then this is "last known data" by
design). Per hour, every hour of the window is a row: 0 when the ledger holds the
hour without sales, no numbers when it holds nothing for it ("not fetched").

Traffic and inventory, when their ledgers hold an hour of the window (or their tables
a row), add their figures to the same rows, with the same rule per kind: an hour the
kind's ledger holds without a row for an ASIN is 0, an hour it does not hold is
unknown (None), never 0. Conversion (units per glance view, in percent) counts only
the hours that hold both sales and traffic, since traffic arrives an hour later.
Per ASIN, sellable units are a stock level, not a flow: the value at the newest hour
of the window whose inventory is held. One grouped query per kind and marketplace.
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
from rtsales.kinds import KINDS
from rtsales.quota import active_cooldown
from rtsales.sync.ledger import LEDGER, newest_held_hour
from rtsales.zones import local_iso

UTC_ZONE = ZoneInfo("UTC")
EXTRA_KINDS = ("traffic", "inventory")  # beside sales, when they hold data in the window
_CONVERTING = "_converting"  # (units, views) of the hours holding sales and traffic: for totals, not shown


def sales_summary(db: Database, marketplaces: list[str], now: datetime, hours: int, by: str,
                  longest_cooldown: timedelta | None = None, tz: ZoneInfo = UTC_ZONE) -> dict[str, Any]:
    """Totals over the last `hours` hours of known data: up to the newest hour that holds data, not
    up to now, since the newest hour may not be fetched yet (SAFETY_LAG_MINUTES). `tz` only labels."""
    until, newest = window_end(db, marketplaces, now)
    since = until - hours * HOUR
    rows: list[dict[str, Any]] = []
    extras: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []
    for mp in marketplaces:
        held = _held(db, mp, hour_key(since), iso(until))
        found = _grouped(db, mp, hour_key(since), iso(until), by)
        found = found if by == "asin" else _every_hour(mp, since, until, found, held["sales"], tz)
        extras.append((found, _other_kinds(db, mp, hour_key(since), iso(until), by, held)))
        rows.extend(found)
    shown = [kind for kind in EXTRA_KINDS if any(figures[kind]["present"] for _, figures in extras)]
    for found, figures in extras:
        _add_figures(found, figures, shown, by)
    if by == "asin":
        titles = cached_titles(db, [r["asin"] for r in rows])
        for row in rows:
            row["title"] = titles.get(row["asin"])
    sums = totals(rows)
    for row in rows:
        row.pop(_CONVERTING, None)
    cooldown = active_cooldown(db, "spapi", now, longest_cooldown)
    return {"now_utc": iso(now), "since_hour_utc": hour_key(since), "until_utc": iso(until), "hours": hours,
            "by": by, "time_zone": tz.key, "newest_applied_hour": newest, "report_kinds": ["sales", *shown],
            "cooldown_until": iso(cooldown.until) if cooldown else None, "rows": rows, "totals": sums}


def _held(db: Database, mp: str, since: str, until: str) -> dict[str, dict[str, str]]:
    """kind -> {hour: data_state} of the window's hours whose numbers that kind's ledger holds."""
    held: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    for kind, hour, state in db.execute(
            f"SELECT report_kind, hour_utc, data_state FROM {LEDGER} WHERE report_kind IN "
            f"({','.join('?' * len(KINDS))}) AND marketplace_id = ? AND hour_utc >= ? AND hour_utc < ? "
            f"AND data_state != 'none'", [*KINDS, mp, since, until]):
        held[kind][hour] = state
    return held


def _grouped(db: Database, mp: str, since: str, until: str, by: str) -> list[dict[str, Any]]:
    group = "s.asin" if by == "asin" else "s.hour_utc"
    # final: every hour behind the row was fetched after it settled; else Amazon may still revise it.
    # LEFT JOIN: a sales row without its ledger row (a hand-edited file) is still counted, as not final.
    return [{"marketplace_id": mp, by: key, "ordered_units": units, "ordered_revenue": revenue,
             "currency_code": currency, "final": bool(final), _CONVERTING: converting}
            for key, units, revenue, currency, final, converting in db.execute(
        f"SELECT {group}, SUM(s.ordered_units), ROUND(SUM(s.ordered_revenue), 2), MAX(s.currency_code), "
        f"MIN(COALESCE(l.data_state = 'final', 0)), SUM(CASE WHEN t.data_state != 'none' THEN s.ordered_units "
        f"ELSE 0 END) FROM vendor_realtime_sales s "
        f"LEFT JOIN {LEDGER} l "
        f"ON l.report_kind = 'sales' AND l.marketplace_id = s.marketplace_id AND l.hour_utc = s.hour_utc "
        f"LEFT JOIN {LEDGER} t "
        f"ON t.report_kind = 'traffic' AND t.marketplace_id = s.marketplace_id AND t.hour_utc = s.hour_utc "
        f"WHERE s.marketplace_id = ? AND s.hour_utc >= ? AND s.hour_utc < ? GROUP BY {group} "
        f"ORDER BY {'SUM(s.ordered_revenue) DESC' if by == 'asin' else 's.hour_utc'}", [mp, since, until])]


def hourly_rows(db: Database, mp: str, since: datetime, until: datetime, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Every hour of [since, until) of one marketplace, as `sales --by hour` shows its sales."""
    found = _grouped(db, mp, hour_key(since), iso(until), "hour")
    rows = _every_hour(mp, since, until, found, _held(db, mp, hour_key(since), iso(until))["sales"], tz)
    for row in rows:
        row.pop(_CONVERTING, None)
    return rows


def window_end(db: Database, marketplaces: list[str], now: datetime) -> tuple[datetime, dict[str, str | None]]:
    """The end of the newest hour held in any of the marketplaces (now's hour if none), and each one's newest."""
    newest = {mp: newest_held_hour(db, mp, kind="sales") for mp in marketplaces}
    known = [parse_hour(h) + HOUR for h in newest.values() if h]
    return (max(known) if known else floor_hour(now)), newest


def _every_hour(mp: str, since: datetime, until: datetime, found: list[dict[str, Any]], states: dict[str, str],
                tz: ZoneInfo) -> list[dict[str, Any]]:
    """One row per hour of the window: the sold ones as found, held hours without sales as 0, and
    hours the database holds nothing for without numbers (held: false)."""
    by_hour = {row["hour"]: row for row in found}
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


def _sums(db: Database, kind: str, mp: str, since: str, until: str, group: str) -> dict[str, Any]:
    """The kind's number summed per `group` (asin or hour_utc) over the window: one grouped query.
    Traffic per ASIN also sums the views of the hours that hold sales, for conversion."""
    table, column = KINDS[kind].table, KINDS[kind].columns[0]
    with_sales = group == "asin" and kind == "traffic"
    both = (f", SUM(CASE WHEN l.data_state != 'none' THEN v.{column} ELSE 0 END) FROM {table} v LEFT JOIN {LEDGER} l "
            f"ON l.report_kind = 'sales' AND l.marketplace_id = v.marketplace_id AND l.hour_utc = v.hour_utc"
            if with_sales else f" FROM {table} v")
    rows = db.execute(f"SELECT v.{group}, SUM(v.{column}){both} WHERE v.marketplace_id = ? AND v.hour_utc >= ? "
                      f"AND v.hour_utc < ? GROUP BY v.{group}", [mp, since, until]).fetchall()
    return {row[0]: tuple(row[1:]) if with_sales else row[1] for row in rows}


def _other_kinds(db: Database, mp: str, since: str, until: str, by: str,
                 held: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Traffic and inventory of one marketplace over the window: what each holds and its numbers."""
    figures: dict[str, Any] = {}
    for kind in EXTRA_KINDS:
        if by == "hour" or kind == "traffic":
            values = _sums(db, kind, mp, since, until, "asin" if by == "asin" else "hour_utc")
            figures[kind] = {"held": held[kind], "values": values, "present": bool(held[kind] or values)}
        else:  # a stock level: the newest held hour's, not a sum over the window
            newest = max(held[kind], default=None)
            values = dict(db.execute(f"SELECT asin, {KINDS[kind].columns[0]} FROM {KINDS[kind].table} WHERE "
                                     f"marketplace_id = ? AND hour_utc = ?", [mp, newest]).fetchall()) if newest else {}
            figures[kind] = {"held": held[kind], "values": values, "present": bool(newest), "hour": newest}
    return figures


def _add_figures(rows: list[dict[str, Any]], figures: dict[str, Any], shown: list[str], by: str) -> None:
    """The shown kinds' fields on one marketplace's rows: a kind's value, 0 where it holds the hour(s)
    without a row, None where it holds nothing."""
    for row in rows:
        if "traffic" in shown:
            _add_traffic(row, figures["traffic"], by)
        if "inventory" in shown:
            inventory = figures["inventory"]
            if by == "hour":
                row["sellable_units"] = _value(inventory, row["hour"], row["hour"] in inventory["held"])
            else:
                row["sellable_units"] = _value(inventory, row["asin"], inventory["hour"] is not None)
                row["sellable_units_hour"] = inventory["hour"]


def _add_traffic(row: dict[str, Any], traffic: dict[str, Any], by: str) -> None:
    """Glance views, and conversion over the hours that hold both sales and traffic (kept in
    _CONVERTING as (units, views) for the totals)."""
    if by == "hour":
        views = _value(traffic, row["hour"], row["hour"] in traffic["held"])
        known = views is not None and row["ordered_units"] is not None
        row[_CONVERTING] = (row["ordered_units"], views) if known else (0, 0)
    else:  # (views, views in hours holding sales), as _sums found them
        found = traffic["values"].get(row["asin"])
        views, with_sales = found if found is not None else (0 if traffic["held"] else None, 0)
        row[_CONVERTING] = (row[_CONVERTING], with_sales)
    row["glance_views"] = views
    row["conversion_percent"] = percent(*row[_CONVERTING])


def _value(figures: dict[str, Any], key: str, held: bool) -> Any:
    return figures["values"].get(key, 0 if held else None)


def percent(units: int, views: int) -> float | None:
    """Units per glance view in percent; None when there were no views to divide by."""
    return round(100 * units / views, 2) if views else None


def totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Units and revenue summed per currency (adding up dollars and euros would mean nothing); with
    traffic shown, the glance views of the rows and their conversion (None when none is known)."""
    units: dict[str, int] = defaultdict(int)
    revenue: dict[str, float] = defaultdict(float)
    views: dict[str, int | None] = defaultdict(lambda: None)
    converting: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        currency = row["currency_code"]
        if row["ordered_units"] is not None:
            units[currency] += row["ordered_units"]
            revenue[currency] += row["ordered_revenue"]
        if row.get("glance_views") is not None:
            views[currency] = (views[currency] or 0) + row["glance_views"]
            converting[currency][0] += row[_CONVERTING][0]
            converting[currency][1] += row[_CONVERTING][1]
    traffic = any("glance_views" in row for row in rows)
    return [{"currency_code": c, "ordered_units": units[c], "ordered_revenue": round(revenue[c], 2),
             **({"glance_views": views[c], "conversion_percent": percent(*converting[c])} if traffic else {})}
            for c in sorted(units)]
