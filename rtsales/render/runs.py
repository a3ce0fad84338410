"""Views of runs: sync and demo summaries, progress while waiting, audit, fill-day and sales reports."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from rtsales import figures, logs
from rtsales.clock import format_duration, show_instant
from rtsales.figures import money as _money
from rtsales.kinds import KINDS
from rtsales.render.base import console, err_console, error, info, table, text, warn


def sync_result(result: Any) -> None:
    """The summary of one sync run: a table per run, one line per notable event."""
    until = show_instant(result.cooldown_until, result.started_at)
    if result.skipped == "cooldown":
        err_console.print(f"skipped: cooldown due to SP-API quota (until {until})")
        return
    if result.skipped == "lock_busy":
        holders = "; ".join(f"{m.marketplace_id} held by {m.holder}" for m in result.marketplaces)
        err_console.print(f"skipped: every marketplace is locked by another worker ({text(holders)})")
        return
    rows = []
    for m in result.marketplaces:
        t, ledger = m.tally, m.ledger
        state = m.state if m.state != "worked" else _worked(t)
        rows.append([m.marketplace_id, state, t.reports_created, t.hours_applied, t.rows_written,
                     t.hours_failed, _done(ledger)])
    table(f"rtsales sync at {show_instant(result.started_at, result.started_at)}",
          ["marketplace", "state", "reports", "applied", "rows", "failed", "done/total"], rows)
    if any(len(m.kinds) > 1 for m in result.marketplaces):
        table("per report kind", ["marketplace", "report", "done/total", "newest hour held"],
              [[m.marketplace_id, kind, _done(k["ledger"]), _ended(k["newest_age_minutes"])]
               for m in result.marketplaces for kind, k in m.kinds.items()])
    for m in result.marketplaces:
        if m.stolen_from:
            warn(f"{m.marketplace_id}: took over an expired lock from {m.stolen_from}")
    for audit in (a for a in result.audits if a["hours"]):
        info(f"{audit['kind']} audit started for {audit['marketplace_id']}: {audit['hours']} hours re-opened")
    if result.quota_hit:
        warn(f"{result.quota_hit}; cooldown due to SP-API quota (until {until})")


def _done(ledger: dict[str, int]) -> str:
    return f"{ledger.get('APPLIED', 0)}/{sum(ledger.values())}"


def _ended(age_minutes: int | None) -> str:
    return "none held" if age_minutes is None else f"ended {format_duration(age_minutes * 60)} ago"


def _worked(tally: Any) -> str:
    if not tally.hours_failed:
        return "ok"
    return "some failed" if tally.hours_applied or tally.reports_created else "failed"


def sync_failures(result: Any) -> None:
    """Hours that failed in a sync, on stderr whatever --quiet says: an error when nothing
    succeeded (exit 1), a warning when some windows did."""
    retry = "they are retried with backoff; `rtsales status` shows them"
    if result.outcome == "failures":
        error(f"every window this run tried failed: {result.first_error()}", retry)
    else:
        warn(f"{result.first_error()} ({retry})")


def simulator_ready(base_url: str, lwa_token_url: str, client_id: str, client_secret: str,
                    refresh_token: str) -> None:
    """What `rtsales simulator serve` prints once it listens: the settings that point at it."""
    info(f"SP-API simulator listening on {base_url}. Point rtsales at it with:")
    for name, value in (("SPAPI_ENDPOINT", base_url), ("LWA_TOKEN_URL", lwa_token_url),
                        ("LWA_CLIENT_ID", client_id), ("LWA_CLIENT_SECRET", client_secret),
                        ("LWA_REFRESH_TOKEN", refresh_token)):
        # The simulator's fixed credentials are public and must be copied, so no redaction here.
        console.print(escape(f"  {name}={value}"), soft_wrap=True)
    info("Press Ctrl-C to stop.")


def demo_cycle(number: int, result: Any) -> None:
    """One line for each demo cron run worth seeing, and a heartbeat every six simulated hours."""
    created = sum(m.tally.reports_created for m in result.marketplaces)
    applied = sum(m.tally.hours_applied for m in result.marketplaces)
    lanes = sum(len(m.kinds) or 1 for m in result.marketplaces)  # a live refresh each is the steady state
    stamp = result.started_at[:16].replace("T", " ")
    until = show_instant(result.cooldown_until, result.started_at)
    if result.quota_hit:
        console.print(f"{stamp}  [red]429 from SP-API[/]: every call stops; cooldown until {until}")
    elif result.skipped == "cooldown":
        console.print(f"{stamp}  [yellow]skipped[/] (exit 75): cooling down until {until}")
    elif created > lanes or result.audits:
        audits = f"; {len(result.audits)} daily audit(s) started" if result.audits else ""
        console.print(f"{stamp}  {created} report(s) requested, {applied} hour(s) applied{audits}{_fresh(result)}")
    elif number % 24 == 0:
        console.print(f"{stamp}  [dim]steady: live refreshes only{_fresh(result)}[/]")


def _fresh(result: Any) -> str:
    """How fresh the newest hour in the database is, as of this run: of the run's first kind, then
    of its other kinds (traffic, say, comes an hour later)."""
    ages = [m.newest_age_minutes for m in result.marketplaces if m.newest_age_minutes is not None]
    if not ages:
        return ""
    others: dict[str, list[int]] = {}
    for m in result.marketplaces:
        for kind, k in list(m.kinds.items())[1:]:
            others.setdefault(kind, []).extend([k["newest_age_minutes"]] if k["newest_age_minutes"] is not None else [])
    rest = ", ".join(f"{kind} {format_duration(min(found) * 60)}" for kind, found in others.items() if found)
    return f"; newest hour held ended {format_duration(min(ages) * 60)} ago" + (f" ({rest})" if rest else "")


def demo_summary(calls: dict[str, dict[str, int]], cycles: int) -> None:
    parts = [f"{op} {sum(by_status.values())}" for op, by_status in sorted(calls.items())]
    throttled = sum(by_status.get("429", 0) for by_status in calls.values())
    info(f"{cycles} cron runs; simulator saw: {', '.join(parts)}; 429 answers: {throttled} (all injected)")

@contextmanager
def activity(enabled: bool = True) -> Iterator[None]:
    """On a terminal's stderr, a transient line saying what the run does or waits for: the latest
    HTTP call or wait that rtsales logs at debug level. Nothing anywhere else, nor with -v (the
    log lines say it already)."""
    if not enabled or not err_console.is_terminal or logs.is_verbose():
        yield
        return
    with err_console.status("starting", spinner="dots") as shown, logs.listen(
            lambda message: shown.update(_doing(message))):
        yield


def _doing(message: str) -> Text:
    return Text(message, no_wrap=True, overflow="ellipsis")


@contextmanager
def hour_progress(title: str, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr (only on a terminal) fed with (hours fetched, hours wanted), with
    what the run does or waits for beside it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    shown = enabled and err_console.is_terminal
    progress = Progress(TextColumn(text(title)), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[doing]}", markup=False), console=err_console, disable=not shown)
    task = progress.add_task(title, total=None, doing="")
    following = logs.listen(lambda message: progress.update(task, doing=message[:60])) if shown else nullcontext()
    with progress, following:
        yield lambda done, total: progress.update(task, completed=done, total=total)
        progress.update(task, doing="")


def audit_report(report: dict[str, Any]) -> None:
    rows = [[m["marketplace_id"], m["report_kind"], m["hours"], m["hours_changed"], m["hours_inconclusive"],
             f"{m['units_delta']:+,} {KINDS[m['report_kind']].measure}",
             _money(m["revenue_delta"]) if KINDS[m["report_kind"]].currency else "",
             "done" if m["finished_at"] else "in progress"] for m in report["marketplaces"]]
    table(f"{report['kind']} audit: {report['reports_created']} report(s) requested",
          ["marketplace", "report", "hours re-fetched", "hours changed", "inconclusive", "change", "revenue delta",
           "state"], rows)
    if any(m["hours_inconclusive"] for m in report["marketplaces"]):
        info("Inconclusive: Amazon answered CANCELLED (no data, or asked too often); the stored rows were kept "
             "and the next audit asks again.")
    if any(not m["finished_at"] for m in report["marketplaces"]):
        info("Windows still in progress are applied by the next `rtsales sync`; `rtsales status` shows the result.")
    _quota_note(report)


def fill_day_report(report: dict[str, Any]) -> None:
    for shaped in figures.fill_day_tables(report):
        _figures(shaped)
    _quota_note(report)


def _figures(shaped: figures.FigureTable) -> None:
    """Like `table`, with numbers right-aligned and totals under a rule."""
    grid = Table(title=text(shaped.title), title_justify="left")
    for index, column in enumerate(shaped.columns):
        grid.add_column(text(column), justify="right" if column in figures.FIGURES else "left", no_wrap=index == 0)
    rows = [*shaped.rows, *shaped.totals]
    for index, row in enumerate(rows):
        grid.add_row(*(text("" if cell is None else cell) for cell in row), end_section=index == len(shaped.rows) - 1,
                     style="bold" if index >= len(shaped.rows) else None)
    console.print(grid)


def _quota_note(report: dict[str, Any]) -> None:
    if report.get("quota_hit"):
        warn(f"{report['quota_hit']}; cooldown due to SP-API quota "
             f"(until {show_instant(report['cooldown_until'], report['now_utc'])}). "
             "The rest is picked up by the next sync.")


def sales_table(report: dict[str, Any]) -> None:
    if report["cooldown_until"]:
        warn(f"Cooldown due to SP-API quota (until {show_instant(report['cooldown_until'], report['now_utc'])}): "
             "showing last known data")
    _figures(figures.sales_table(report))
    for note in figures.sales_notes(report):
        info(note)


def sales_compare(report: dict[str, Any]) -> None:
    """`sales --compare`: hour by hour against the reference hours, a bar per row."""
    _figures(figures.compare_table(report))
    info(figures.BAR_LEGEND)
    if not all(r["held"] and r["reference_held"] for r in report["rows"]):
        info("Hours without numbers are not fetched (on either side); they count in no total.")


def sales_csv(report: dict[str, Any]) -> None:
    by = report.get("by", "hour")  # --compare is hour by hour
    by_hour, kinds = by == "hour", report.get("report_kinds", ["sales"])
    compared = ["reference_hour", "reference_units", "reference_revenue", "reference_held", "change_percent"]
    fields = ["marketplace_id", by, *(["hour_local"] if by_hour else ["title"]),
              "ordered_units", "ordered_revenue", "currency_code", "final", *(["held"] if by_hour else []),
              *(["glance_views", "conversion_percent"] if "traffic" in kinds else []),
              *(["sellable_units", *([] if by_hour else ["sellable_units_hour"])] if "inventory" in kinds else []),
              *(compared if "compare" in report else [])]
    writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(report["rows"])
