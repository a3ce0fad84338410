"""The cells of the `sales` and `fill-day` tables, shaped from their reports without rich.

Hours are labelled in the display zone with their dates, figures are text ready to be
right-aligned, and totals (per currency) come as rows of their own; `render` only draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rtsales.clock import show_instant
from rtsales.zones import local_label, zone

# Columns of numbers: render right-aligns them.
FIGURES = frozenset({"units", "revenue", "units before", "units after", "revenue before", "revenue after",
                     "glance views", "conversion", "sellable units", "sellable (newest hour)",
                     "glance views before", "glance views after", "sellable units before", "sellable units after"})


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
