"""All terminal output: the only module that imports rich.

One shared stdout console and one stderr console. Rich drops colour by itself
when output is not a terminal (pipes, cron); NO_COLOR is honoured too. `--json`
output bypasses rich entirely. Dynamic text is escaped and secrets redacted.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

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


def xai_quota(report: dict[str, Any]) -> None:
    tokens = report["tokens_today"]
    cooldown = report["cooldown"]
    rows = [
        ["calls today", f"{report['calls_today']} / {report['daily_limit']} ({report['calls_left']} left)"],
        ["resets", f"in {report['resets_in']} ({report['resets_at_utc']})"],
        ["tokens today", f"prompt {tokens['prompt']}, completion {tokens['completion']}, "
                         f"reasoning {tokens['reasoning']}"],
        ["cache", f"{report['cache_entries']} entries; today {report['cache_hits_today']} hits, "
                  f"{report['cache_misses_today']} misses, {report['fallbacks_today']} fallbacks"],
        ["model", report["model"]],
        ["fallback answer", report["fallback_answer"] if report["fallback_answer"] is not None else "(none: exit 75)"],
        ["cooldown", f"until {cooldown['until_utc']} ({cooldown['ends_in']}): {cooldown['reason']}"
                     if cooldown else "none"],
    ]
    table(f"xAI quota for {report['day_utc']} (UTC)", ["quota", "value"], rows)


def xai_answer(result: dict[str, Any]) -> None:
    """The answer alone on stdout (scripts read it); where it came from on stderr."""
    info(result["answer"])
    if result["source"] == "fallback":
        warn(f"fallback answer, xAI not asked: {result['fallback_reason']}")
    elif result["source"] == "cache":
        err_console.print(f"[dim]from cache ({text(result['model'])}, answered {text(result['answered_at'])})[/]")
    else:
        err_console.print(f"[dim]from xAI ({text(result['model'])})[/]")
