"""The cells of the `sales` and `fill-day` tables, shaped from their reports without rich.

Hours are labelled in the display zone with their dates, figures are text ready to be
right-aligned, and totals (per currency) come as rows of their own; `render` only draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from rtsales.clock import show_instant
from rtsales.zones import local_label, zone

# Columns of numbers: render right-aligns them.
FIGURES = frozenset({"units", "revenue", "units before", "units after", "revenue before", "revenue after",
                     "glance views", "conversion", "sellable units", "sellable (newest hour)",
                     "glance views before", "glance views after", "sellable units before", "sellable units after",
                     "change", "units yesterday", "revenue yesterday", "units last week", "revenue last week"})
BAR_WIDTH = 16
BAR_LEGEND = "bar: █ units sold in both hours, ▒ more than in the reference hour, · short of it; ? not fetched"


@dataclass(frozen=True)
class FigureTable:
    title: str
    columns: list[str]
    rows: list[list[object]]
    totals: list[list[object]] = field(default_factory=list)


def money(value: float | None) -> str:
    return f"{value or 0:,.2f}"


def sales_table(report: dict[str, Any]) -> FigureTable:
    tz, by_asin = zone(report["time_zone"]), report["by"] == "asin"
    title = [""] if by_asin else []
    kinds = [kind for kind in report["report_kinds"] if kind in _KIND_COLUMNS]
    rows = [[r["marketplace_id"], r["asin"] if by_asin else local_label(r["hour"], tz),
             *([r.get("title") or ""] if by_asin else []),
             *(("", "") if r["ordered_units"] is None else (r["ordered_units"], money(r["ordered_revenue"]))),
             r["currency_code"], final_text(r), *_kind_cells(r, kinds)] for r in report["rows"]]
    totals = [["total", "", *title, t["ordered_units"], money(t["ordered_revenue"]), t["currency_code"], "",
               *_kind_cells(t, kinds)] for t in report["totals"]]
    newest = ", ".join(f"{mp}: {local_label(hour, tz) if hour else 'none'}"
                       for mp, hour in report["newest_applied_hour"].items())
    extra = [column for kind in kinds for column in _KIND_COLUMNS[kind]]
    if by_asin and "inventory" in kinds:
        extra[-1] = "sellable (newest hour)"
    return FigureTable(f"sales {local_label(report['since_hour_utc'], tz)} .. {local_label(report['until_utc'], tz)} "
                       f"(newest applied hour {newest})",
                       ["marketplace", report["by"], *(["title"] if by_asin else []), "units", "revenue", "currency",
                        "final", *extra], rows, totals)


_KIND_COLUMNS = {"traffic": ("glance views", "conversion"), "inventory": ("sellable units",)}


def _kind_cells(row: dict[str, Any], kinds: list[str]) -> list[object]:
    """Traffic and inventory cells: empty when unknown (or, in totals, not summed)."""
    cells: list[object] = []
    if "traffic" in kinds:
        conversion = row.get("conversion_percent")
        cells += [row.get("glance_views"), None if conversion is None else f"{conversion:.1f}%"]
    if "inventory" in kinds:
        cells.append(row.get("sellable_units"))  # a stock level: the totals leave it empty
    return cells


def final_text(row: dict[str, Any]) -> str:
    if not row.get("held", True):
        return "not fetched"
    return "yes" if row["final"] else "may change"


def sales_notes(report: dict[str, Any]) -> list[str]:
    rows, notes = report["rows"], []
    if not any(r["ordered_units"] for r in rows):
        notes.append("No sales in this window: nothing applied yet, or no sales in those hours.")
    if any(not r["final"] and r.get("held", True) for r in rows):
        notes.append("'may change': hours within SETTLE_HOURS of their end, which Amazon may still revise; "
                     "rtsales keeps refreshing them.")
    if not all(r.get("held", True) for r in rows):
        notes.append("'not fetched': hours the database holds no numbers for yet; `rtsales status` says why.")
    if "traffic" in report["report_kinds"]:
        notes.append("conversion: units per glance view, over the hours that hold both sales and traffic "
                     "(traffic comes at least an hour after the hour ends); empty when they had no glance views or "
                     "traffic is not fetched yet.")
    if "inventory" in report["report_kinds"] and report["by"] == "asin":
        tz = zone(report["time_zone"])
        hours = {r["marketplace_id"]: r["sellable_units_hour"] for r in rows}
        notes.append("sellable (newest hour): sellable units at the newest hour of the window that holds inventory ("
                     + ", ".join(f"{mp}: {local_label(h, tz) if h else 'none'}" for mp, h in hours.items()) + ").")
    return notes


def compare_table(report: dict[str, Any]) -> FigureTable:
    """`sales --compare`: each hour beside its reference hour, the change and a bar that reads without colour."""
    tz, name = zone(report["time_zone"]), report["compare"].replace("-", " ")
    scale = {mp: max([1, *(max(r["ordered_units"] or 0, r["reference_units"] or 0) for r in rows)])
             for mp, rows in groupby(report["rows"], key=lambda r: r["marketplace_id"])}
    rows = [[r["marketplace_id"], local_label(r["hour"], tz), _blank(r["ordered_units"]), _blank(r["reference_units"]),
             percent(r["change_percent"]), _money_or_blank(r["ordered_revenue"]),
             _money_or_blank(r["reference_revenue"]), r["currency_code"],
             bar(r["ordered_units"], r["reference_units"], scale[r["marketplace_id"]])] for r in report["rows"]]
    totals = [["total", "", t["ordered_units"], t["reference_units"], percent(t["change_percent"]),
               money(t["ordered_revenue"]), money(t["reference_revenue"]), t["currency_code"], ""]
              for t in report["totals"]]
    return FigureTable(f"sales {local_label(report['since_hour_utc'], tz)} .. {local_label(report['until_utc'], tz)} "
                       f"against the same hours {'the day before' if name == 'yesterday' else 'a week before'}",
                       ["marketplace", "hour", "units", f"units {name}", "change", "revenue", f"revenue {name}",
                        "currency", "bar"], rows, totals)


def bar(now: int | None, then: int | None, scale: int) -> str:
    """█ for the units both hours sold, ▒ for more than the reference, · for short of it; ? for an hour not held."""
    if now is None:
        return "?"
    width = _cells(now, scale)
    if then is None:
        return "█" * width + " ?"
    both = min(width, _cells(then, scale))
    return "█" * both + "▒" * (width - both) + "·" * (_cells(then, scale) - both)


def _cells(units: int, scale: int) -> int:
    return round(max(units, 0) / scale * BAR_WIDTH)


def percent(value: float | None) -> str:
    return "" if value is None else f"{value:+.0f} %"


def _blank(value: int | None) -> object:
    return "" if value is None else value


def _money_or_blank(value: float | None) -> str:
    return "" if value is None else money(value)


def fill_day_tables(report: dict[str, Any]) -> list[FigureTable]:
    """Hour by hour, before and after, per marketplace and report kind, in the kind's measure (units
    and revenue for sales); with --tz, each hour's local date and time beside its UTC one."""
    name = report["time_zone"]
    tz = None if name == "UTC" else zone(name)
    tables = []
    for m in report["marketplaces"]:
        measure, revenue = m["measure"], m["report_kind"] == "sales"
        tables.append(FigureTable(
            f"fill-day {report['day']} ({name}) {m['marketplace_id']} {m['report_kind']}",
            ["UTC hour", *([name] if tz else []), "state", f"{measure} before", f"{measure} after",
             *(["revenue before", "revenue after"] if revenue else []), "changed"],
            [[show_instant(h["hour_utc"], report["now_utc"]), *([local_label(h["hour_utc"], tz)] if tz else []),
              h["status"], h["units_before"], h["units_after"],
              *([money(h["revenue_before"]), money(h["revenue_after"])] if revenue else []),
              "inconclusive: CANCELLED, rows kept" if h["inconclusive"] else ("yes" if h["changed"] else "")]
             for h in m["hours"]]))
    return tables
