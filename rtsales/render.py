"""All terminal output: the only module that imports rich.

One shared stdout console and one stderr console. Rich drops colour by itself
when output is not a terminal (pipes, cron); NO_COLOR is honoured too. `--json`
output bypasses rich entirely. Dynamic text is escaped and secrets redacted.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from rtsales.clock import format_duration
from rtsales.redaction import redact

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def text(value: object) -> str:
    """Dynamic text made safe for rich markup and free of secrets."""
    return escape(redact(str(value)))


def print_json(data: Any) -> None:
    sys.stdout.write(redact(json.dumps(data, indent=2, sort_keys=False, default=str)) + "\n")
    sys.stdout.flush()


def error(message: str, hint: str | None = None) -> None:
    line = f"[bold red]error:[/] {text(message)}"
    if hint:
        line += f" [dim]({text(hint)})[/]"
    err_console.print(line, soft_wrap=True)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {text(message)}", soft_wrap=True)


def info(message: str) -> None:
    console.print(text(message), soft_wrap=True)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    grid = Table(title=text(title), title_justify="left")
    for column in columns:
        grid.add_column(text(column))
    for row in rows:
        grid.add_row(*(text("" if cell is None else cell) for cell in row))
    console.print(grid)


def status(report: dict[str, Any]) -> None:
    states = ["MISSING", "REQUESTED", "DOWNLOADED", "APPLIED", "FAILED"]
    rows = [[m["marketplace_id"], *(m["ledger"][s] for s in states)] for m in report["marketplaces"]]
    if not rows:
        info(f"No marketplaces yet in {report['db']}. Set MARKETPLACE_IDS and run `rtsales sync`.")
        return
    table(f"rtsales status at {report['now_utc']}", ["marketplace", *states], rows)


LONG_WAIT_SECONDS = 5.0  # shorter waits pass without a bar or a line


@contextmanager
def wait_progress() -> Iterator[Callable[[str, float, float], None]]:
    """A callback for core waits: a progress bar on a terminal's stderr, one line per wait otherwise."""
    bar = Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                   console=err_console, transient=True)
    tasks: dict[str, TaskID] = {}

    def on_wait(what: str, done: float, total: float) -> None:
        if total < LONG_WAIT_SECONDS:
            return
        if done == 0 and not err_console.is_terminal:
            err_console.print(f"waiting {format_duration(total)} for {text(what)}", soft_wrap=True)
            return
        if not err_console.is_terminal:
            return
        if done == 0:
            bar.start()
            tasks[what] = bar.add_task(text(what), total=total)
        elif what in tasks:
            bar.update(tasks[what], completed=done)
        if done >= total and what in tasks:
            bar.remove_task(tasks.pop(what))

    try:
        yield on_wait
    finally:
        if bar.live.is_started:  # stopping a bar never started still prints a blank line
            bar.stop()


def _wait_text(report: dict[str, Any]) -> str:
    if report["can_run_now"]:
        return "can run now"
    if report["wait_seconds"] is None:
        return "cannot run: the refill rate never reaches the balance it needs"
    return f"must wait {format_duration(report['wait_seconds'])} (until {report['run_at_utc']})"


def keepa_balance(report: dict[str, Any]) -> None:
    until = report["seconds_until_threshold"]
    rows = [
        ("tokens left", f"{report['tokens_left']:g} (Keepa said {report['reported_tokens_left']} "
                        f"{format_duration(report['status_age_seconds'])} ago; {report['source']})"),
        ("refill rate", f"{report['refill_rate']} per minute"),
        ("refill in", format_duration(report["refill_in_seconds"] or 0)),
        ("token flow reduction", f"{report['token_flow_reduction']:g}"),
        (f"{report['policy']} threshold {report['threshold']}",
         "never at this refill rate" if until is None else "reached" if until == 0 else f"in {format_duration(until)}"),
        (f"request of {report['cost']} tokens", _wait_text(report)),
    ]
    table(f"Keepa tokens at {report['now_utc']}", ["", "value"], rows)
    if report["cooldown_until"]:
        warn(f"Keepa cooling down after NOT_ENOUGH_TOKEN until {report['cooldown_until']}")
    if report["warning"]:
        warn(report["warning"])


def keepa_products(report: dict[str, Any]) -> None:
    rows = [[p["asin"], p["title"] or "", "" if p["sales_rank"] is None else p["sales_rank"], p["source"]]
            for p in report["products"]]
    if rows:
        table(f"Keepa products ({report['domain']})", ["ASIN", "title", "sales rank", "from"], rows)
    for warning in report["warnings"]:
        warn(warning)
    balance = "" if report["balance"] is None else f"; balance now {report['balance']:g}"
    info(f"{report['asins']} ASINs: {report['cached']} from cache, {report['fetched']} fetched in "
         f"{report['requests']} requests; {report['tokens_spent']} tokens spent{balance}")
