"""The view of `rtsales watch`: one table of flags, the numbers each rests on, and what to do next.

Every cell is text, so the table reads the same in a terminal, a pipe and a cron mail.
"""

from __future__ import annotations

from typing import Any

from rtsales.amazon.marketplaces import lookup
from rtsales.figures import money
from rtsales.render.base import info, table

SHOWN_HOURS = 6  # a long event shows its last hours; --json has them all
COLUMNS = ["flag", "marketplace", "ASIN", "since (UTC)", "hours", "units/h", "baseline/h", "revenue", "stock",
           "data", "reported", "why"]
OPTIONAL = {"stock", "reported", "why"}  # shown only when some flag fills them


def watch(report: dict[str, Any]) -> None:
    flags = report["flags"]
    if not flags:
        info(_nothing(report))
        return
    rows = [_row(flag) for flag in flags]
    shown = [i for i, name in enumerate(COLUMNS) if name not in OPTIONAL or any(row[i] for row in rows)]
    table(_title(report), [COLUMNS[i] for i in shown], [[row[i] for i in shown] for row in rows])
    if any(flag["provisional"] for flag in flags):
        info("provisional: some of its hours may still be revised by Amazon; the flag may change as they settle.")
    if not report["recorded"] and report["new"]:
        info("--no-record: nothing was remembered; the next run reports these again.")


def _nothing(report: dict[str, Any]) -> str:
    held = [m for m in report["marketplaces"] if m["newest_hour"]]
    if not held:
        return "watch: no hours held yet; run `rtsales sync` first."
    before = report["reported_before"]
    tail = f"; {before} reported before (--all shows them)" if before else ""
    newest = ", ".join(f"{_country(m['marketplace_id'])} {_hour(m['newest_hour'])}" for m in held)
    return f"watch: nothing new flagged up to the newest hours held ({newest} UTC){tail}."


def _title(report: dict[str, Any]) -> str:
    new, before = report["new"], report["reported_before"]
    shown = f"{new} new" + (f", {before} reported before" if before and len(report["flags"]) > new else "")
    return f"watch: {shown} (sorted by revenue at stake; units and baselines hour by hour, oldest first)"


def _row(flag: dict[str, Any]) -> list[object]:
    hours = flag["hours"][-SHOWN_HOURS:]
    more = "... " if len(flag["hours"]) > SHOWN_HOURS else ""
    stock = "" if flag["stock"] is None else f"{flag['stock']} at {_hour(flag['stock_hour'])[11:]}"
    return [flag["kind"], _country(flag["marketplace_id"]), flag["asin"], _hour(flag["start_hour"]),
            len(flag["hours"]), more + " ".join(_figure(h["units"]) for h in hours),
            more + " ".join(_figure(h["baseline"]) for h in hours), f"{money(flag['revenue'])} {flag['currency_code']}",
            stock, "provisional" if flag["provisional"] else "final", "" if flag["new"] else "before",
            flag["why"] or ""]


def _figure(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}"


def _hour(key: str) -> str:
    return key[:16].replace("T", " ")


def _country(marketplace_id: str) -> str:
    known = lookup(marketplace_id)
    return known.country if known else marketplace_id
