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
FIGURES = frozenset({"units", "revenue", "units before", "units after", "revenue before", "revenue after"})


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
    rows = [[r["marketplace_id"], r["asin"] if by_asin else local_label(r["hour"], tz),
             *([r.get("title") or ""] if by_asin else []),
             *(("", "") if r["ordered_units"] is None else (r["ordered_units"], money(r["ordered_revenue"]))),
             r["currency_code"], final_text(r)] for r in report["rows"]]
    totals = [["total", "", *title, t["ordered_units"], money(t["ordered_revenue"]), t["currency_code"], ""]
              for t in report["totals"]]
    newest = ", ".join(f"{mp}: {local_label(hour, tz) if hour else 'none'}"
                       for mp, hour in report["newest_applied_hour"].items())
    return FigureTable(f"sales {local_label(report['since_hour_utc'], tz)} .. {local_label(report['until_utc'], tz)} "
                       f"(newest applied hour {newest})",
                       ["marketplace", report["by"], *(["title"] if by_asin else []), "units", "revenue", "currency",
                        "final"], rows, totals)


def final_text(row: dict[str, Any]) -> str:
    if not row.get("held", True):
        return "not fetched"
    return "yes" if row["final"] else "may change"


def sales_notes(rows: list[dict[str, Any]]) -> list[str]:
    notes = []
    if not any(r["ordered_units"] for r in rows):
        notes.append("No sales in this window: nothing applied yet, or no sales in those hours.")
    if any(not r["final"] and r.get("held", True) for r in rows):
        notes.append("'may change': hours within SETTLE_HOURS of their end, which Amazon may still revise; "
                     "rtsales keeps refreshing them.")
    if not all(r.get("held", True) for r in rows):
        notes.append("'not fetched': hours the database holds no numbers for yet; `rtsales status` says why.")
    return notes


def fill_day_tables(report: dict[str, Any]) -> list[FigureTable]:
    """Hour by hour, before and after; with --tz, each hour's local date and time beside its UTC one."""
    name = report["time_zone"]
    tz = None if name == "UTC" else zone(name)
    return [FigureTable(
        f"fill-day {report['day']} ({name}) {m['marketplace_id']}",
        ["UTC hour", *([name] if tz else []), "state", "units before", "units after", "revenue before",
         "revenue after", "changed"],
        [[show_instant(h["hour_utc"], report["now_utc"]), *([local_label(h["hour_utc"], tz)] if tz else []),
          h["status"], h["units_before"], h["units_after"], money(h["revenue_before"]), money(h["revenue_after"]),
          "inconclusive: CANCELLED, rows kept" if h["inconclusive"] else ("yes" if h["changed"] else "")]
         for h in m["hours"]]) for m in report["marketplaces"]]
