"""All terminal output: the only module that imports rich.

One shared stdout console and one stderr console. Rich drops colour by itself
when output is not a terminal (pipes, cron); NO_COLOR is honoured too. `--json`
output bypasses rich entirely. Dynamic text is escaped and secrets redacted.

Off a terminal (a pipe, a file, cron) nothing is wrapped or padded: one message is
one line, whatever its length, and no line ends in blanks. There, every stderr line
starts with the UTC time it was written (`2026-12-01T14:03:00Z `), as the log lines
of `rtsales.logs` do: wall-clock time, not RTSALES_NOW, since a log is read beside
cron's own records. On a terminal, stderr lines are not stamped and long runs show
a transient line saying what they do (`activity`).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, is_dataclass
from itertools import groupby
from typing import Any, TextIO

from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from rtsales import figures, logs
from rtsales.clock import format_duration, parse_instant, show_instant
from rtsales.figures import money as _money
from rtsales.redaction import redact

PIPE_WIDTH = 100_000  # off a terminal: wide enough that no message or table row ever wraps
_PADDING = re.compile(r"[ \t]+(?=\n)")


class _Stream:
    """sys.stdout or sys.stderr as it is at each write (tests swap them). Off a terminal, each line
    loses the blanks rich pads table cells and titles with and, on stderr, starts with its time."""

    def __init__(self, name: str, stamped: bool):
        self._name, self._stamped = name, stamped
        self._line_start = True

    def _target(self) -> TextIO:
        stream = getattr(sys, self._name)
        # Under a live display rich swaps in a proxy that prints through this console: write past it, as rich does.
        return getattr(stream, "rich_proxied_file", stream)  # type: ignore[no-any-return]

    @property
    def encoding(self) -> str:
        return getattr(self._target(), "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        return logs.on_terminal(self._target())

    def fileno(self) -> int:
        return self._target().fileno()

    def write(self, text: str) -> int:
        if text and not self.isatty():
            text = _PADDING.sub("", text)
            if self._stamped:
                text = self._stamp(text)
        return self._target().write(text)

    def _stamp(self, text: str) -> str:
        lines = text.split("\n")
        stamp = logs.stamp()
        stamped = [stamp + line if line and (i or self._line_start) else line for i, line in enumerate(lines)]
        self._line_start = text.endswith("\n")
        return "\n".join(stamped)

    def flush(self) -> None:
        self._target().flush()


class _Console(Console):
    """A rich Console that wraps at the terminal's width on a terminal, and nowhere else."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(PIPE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console = _Console(file=_Stream("stdout", stamped=False), highlight=False)  # type: ignore[arg-type]
err_console = _Console(file=_Stream("stderr", stamped=True), highlight=False)  # type: ignore[arg-type]


def text(value: object) -> str:
    """Dynamic text made safe for rich markup and free of secrets."""
    return escape(redact(str(value)))


def print_json(data: Any) -> None:
    if is_dataclass(data) and not isinstance(data, type):
        data = asdict(data)
    sys.stdout.write(redact(json.dumps(data, indent=2, sort_keys=False, default=str)) + "\n")
    sys.stdout.flush()


def emit(data: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    """The one output switch of every command: JSON for scripts (no rich), or the human view."""
    if as_json:
        print_json(data)
    else:
        human(data)


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
    for index, column in enumerate(columns):
        # The first column is the key (marketplace, hour): never cut it; others wrap first.
        grid.add_column(text(column), no_wrap=index == 0, min_width=len(column) if index == 0 else None)
    for row in rows:
        grid.add_row(*(text("" if cell is None else cell) for cell in row))
    console.print(grid)


GRID_CELLS = {  # distinct characters, so the grid still reads without colour (pipes, cron mail)
    "FINAL": ("█", "green"), "PROVISIONAL": ("▄", "green"), "REQUESTED": ("▒", "blue"), "DOWNLOADED": ("▓", "cyan"),
    "MISSING": ("·", "yellow"), "FAILED": ("x", "bold red"), "UNAVAILABLE": ("-", "dim"), None: (" ", "dim"),
}


def status(report: dict[str, Any]) -> None:
    """Per marketplace: the diagnosis first, then the facts behind it, then the grid."""
    for warning in report["warnings"]:
        warn(warning)
    if not report["marketplaces"]:
        info(f"No marketplaces yet in {report['db']}. Set MARKETPLACE_IDS and run `rtsales sync`.")
        return
    for m in report["marketplaces"]:
        _status_marketplace(m, report["now_utc"], report["live_refresh"], report["last_sync"])


def _live_text(m: dict[str, Any], live: dict[str, Any]) -> str:
    every = live["effective_minutes"]
    slower = (f" (LIVE_REFRESH_MINUTES is {live['configured_minutes']}; QUOTA_BUDGET_PERCENT={live['budget_percent']} "
              "pays for no more)") if every > live["configured_minutes"] else ""
    return (f"every {every} min{slower}; {m['provisional_hours']} hour(s) may still change "
            f"(younger than SETTLE_HOURS={live['settle_hours']}, or not yet fetched after it)")


def _last_sync_text(run: dict[str, Any] | None, now: str) -> str:
    if run is None:
        return "none recorded"
    how = (f"{run['outcome']} (exit {run['exit_code']})" if run["state"] == "finished" else
           "died mid-way (no end recorded)" if run["state"] == "died" else "running")
    return f"{show_instant(run['started_at'], now)}: {how}; `rtsales runs` lists the recent runs"


def _status_marketplace(m: dict[str, Any], now: str, live: dict[str, Any], last_sync: dict[str, Any] | None) -> None:
    colour = "green" if m["ok"] else "red"
    console.print(f"[bold]{text(m['marketplace_id'])}[/]  [{colour}]{text(m['diagnosis'])}[/]", soft_wrap=True)
    ledger = "  ".join(f"{state} {n}" for state, n in m["ledger"].items())
    age = m["last_applied_age_minutes"]
    last = (f"{show_instant(m['last_applied_hour'], now)} ({format_duration(age * 60)} ago)" if age is not None
            else "never")
    lock = m["lock"]
    lock_text = "free" if lock is None else (
        f"{lock['owner']} until {show_instant(lock['expires_at'], now)}" + (" (stale)" if lock["stale"] else ""))
    cooldown = m["cooldown"]
    cool_text = ("none" if cooldown["reason"] == "none" else
                 f"{cooldown['reason']} until {show_instant(cooldown['until_utc'], now)}")
    rows = [("last sync", _last_sync_text(last_sync, now)), ("ledger", ledger), ("last applied hour", last),
            ("next claimable hour", m["next_claimable_hour"] or "none"), ("worker lock", lock_text),
            ("cooldown", cool_text), ("live refresh", _live_text(m, live)),
            ("window cap", _cap_text(m["window_cap"], now)),
            *(_audit_row(kind, a, now) for kind, a in m["audits"].items())]
    if m["inconclusive"]:
        rows.append(("inconclusive", f"{m['inconclusive']} hour(s): the last re-fetch came back CANCELLED; "
                                     "stored rows kept, the next audit asks again"))
    grid = Table(show_header=False, box=None, padding=(0, 2))
    for name, value in rows:
        grid.add_row(f"[dim]{name}[/]", text(value))
    console.print(grid)
    for failed in m["failed"]:
        retry = show_instant(failed["next_retry_utc"], now)
        console.print(f"  [red]FAILED[/] {text(show_instant(failed['hour_utc'], now))} retry {text(retry)}: "
                      f"{text((failed['last_error'] or '')[:100])}", soft_wrap=True)
    _grid(m["grid"])
    console.print()


def _audit_row(kind: str, audit: dict[str, Any], now: str) -> tuple[str, str]:
    run = audit["last_run"]
    state = "enabled" if audit["enabled"] else "disabled"
    if run is None:
        return f"{kind} audit", f"{state}; never ran"
    done = "finished" if run["finished_at"] else "in progress"
    unsure = f", {run['hours_inconclusive']} inconclusive (CANCELLED, rows kept)" if run["hours_inconclusive"] else ""
    started = show_instant(run["started_at"], now)
    return f"{kind} audit", (f"{state}; last {started} ({done}): {run['hours']} hours re-fetched, "
                             f"{run['hours_changed']} changed{unsure}")


def _cap_text(cap: dict[str, Any] | None, now: str) -> str:
    if cap is None:
        return "none (full-size windows)"
    return (f"{cap['hours']} h, learned {show_instant(cap['learned_at'], now)} from a range error; "
            "a full-size window re-tests it after a day")


def _grid(days: dict[str, list[str | None]]) -> None:
    # Built as Text runs (one span per run of equal cells), not markup: status draws
    # hundreds of cells and markup parsing was most of its time.
    grid = Text(f"  {'UTC hour':<12}" + "".join(f"{h:<3}" for h in range(0, 24, 3)) + "\n", style="dim")
    for day, cells in days.items():
        grid.append(f"  {day}  ")
        for state, run in groupby(cells):
            char, style = GRID_CELLS[state]
            grid.append(char * len(list(run)), style=style)
        grid.append("\n")
    for name, (char, style) in GRID_CELLS.items():
        grid.append("  ")
        grid.append(char, style=style)
        grid.append(f" {_LEGEND.get(name, name.lower() if name else 'not tracked')}")
    console.print(grid)


_LEGEND = {"FINAL": "final", "PROVISIONAL": "may still change"}


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
                     t.hours_failed, f"{ledger.get('APPLIED', 0)}/{sum(ledger.values())}"])
    table(f"rtsales sync at {show_instant(result.started_at, result.started_at)}",
          ["marketplace", "state", "reports", "applied", "rows", "failed", "done/total"], rows)
    for m in result.marketplaces:
        if m.stolen_from:
            warn(f"{m.marketplace_id}: took over an expired lock from {m.stolen_from}")
    for audit in (a for a in result.audits if a["hours"]):
        info(f"{audit['kind']} audit started for {audit['marketplace_id']}: {audit['hours']} hours re-opened")
    if result.quota_hit:
        warn(f"{result.quota_hit}; cooldown due to SP-API quota (until {until})")


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


def runs_table(report: dict[str, Any]) -> None:
    """The run history, newest first: one row per run."""
    now = report["now_utc"]
    rows = [[show_instant(r["started_at"], now), r["command"], r["outcome"] or r["state"], r["exit_code"], _took(r),
             sum(r["calls"].values()), r["http_429"], r["hours_applied"], r["hours_failed"], r["error"]]
            for r in report["runs"]]
    table(f"rtsales runs (newest first, at {show_instant(now, now)})",
          ["started", "command", "outcome", "exit", "took", "calls", "429", "applied", "failed", "error"], rows)
    if not rows:
        info("No run recorded yet: every `rtsales sync`, audit and fill-day records one.")


def _took(run: dict[str, Any]) -> str:
    if run["ended_at"] is None:
        return ""
    seconds = (parse_instant(run["ended_at"]) - parse_instant(run["started_at"])).total_seconds()
    return format_duration(seconds)

DOCTOR_MARKS = {"ok": ("✔", "green"), "warn": ("!", "yellow"), "fail": ("✘", "bold red"), "skip": ("-", "dim")}


def doctor(report: dict[str, Any], problems_only: bool = False) -> None:
    """One line per check: mark, name, what was found and, unless it passed, the fix."""
    for check in report["checks"]:
        if problems_only and check["status"] not in ("warn", "fail"):
            continue
        mark, style = DOCTOR_MARKS[check["status"]]
        fix = f" [dim](fix: {text(check['fix'])})[/]" if check["fix"] else ""
        console.print(f"[{style}]{mark}[/] {text(check['name'])}: {text(check['detail'])}{fix}", soft_wrap=True)


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
    stamp = result.started_at[:16].replace("T", " ")
    until = show_instant(result.cooldown_until, result.started_at)
    if result.quota_hit:
        console.print(f"{stamp}  [red]429 from SP-API[/]: every call stops; cooldown until {until}")
    elif result.skipped == "cooldown":
        console.print(f"{stamp}  [yellow]skipped[/] (exit 75): cooling down until {until}")
    elif created > 2 * len(result.marketplaces) or result.audits:
        audits = f"; {len(result.audits)} daily audit(s) started" if result.audits else ""
        console.print(f"{stamp}  {created} report(s) requested, {applied} hour(s) applied{audits}{_fresh(result)}")
    elif number % 24 == 0:
        console.print(f"{stamp}  [dim]steady: one live refresh per marketplace per run{_fresh(result)}[/]")


def _fresh(result: Any) -> str:
    """How fresh the newest hour in the database is, as of this run."""
    ages = [m.newest_age_minutes for m in result.marketplaces if m.newest_age_minutes is not None]
    return f"; newest hour held ended {format_duration(min(ages) * 60)} ago" if ages else ""


def demo_summary(calls: dict[str, dict[str, int]], cycles: int) -> None:
    parts = [f"{op} {sum(by_status.values())}" for op, by_status in sorted(calls.items())]
    throttled = sum(by_status.get("429", 0) for by_status in calls.values())
    info(f"{cycles} cron runs; simulator saw: {', '.join(parts)}; 429 answers: {throttled} (all injected)")

def xai_quota(report: dict[str, Any]) -> None:
    tokens = report["tokens_today"]
    cooldown = report["cooldown"]
    rows = [
        ["calls today", f"{report['calls_today']} / {report['daily_limit']} ({report['calls_left']} left)"],
        ["resets", f"in {report['resets_in']} ({show_instant(report['resets_at_utc'], report['now_utc'])})"],
        ["tokens today", f"prompt {tokens['prompt']}, completion {tokens['completion']}, "
                         f"reasoning {tokens['reasoning']}"],
        ["cache", f"{report['cache_entries']} entries; today {report['cache_hits_today']} hits, "
                  f"{report['cache_misses_today']} misses, {report['fallbacks_today']} fallbacks"],
        ["model", report["model"]],
        ["fallback answer", report["fallback_answer"] if report["fallback_answer"] is not None else "(none: exit 75)"],
        ["cooldown", f"until {show_instant(cooldown['until_utc'], report['now_utc'])} ({cooldown['ends_in']}): "
                     f"{cooldown['reason']}"
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

LONG_WAIT_SECONDS = 5.0  # shorter waits pass without a bar or a line


@contextmanager
def wait_progress() -> Iterator[Callable[[str, float, float], None]]:
    """A callback for core waits: a progress bar on a terminal's stderr, one line per wait otherwise."""
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn  # only when waiting

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
    return (f"must wait {format_duration(report['wait_seconds'])} "
            f"(until {show_instant(report['run_at_utc'], report['now_utc'])})")


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
    table(f"Keepa tokens at {show_instant(report['now_utc'], report['now_utc'])}", ["", "value"], rows)
    if report["cooldown_until"]:
        until = show_instant(report["cooldown_until"], report["now_utc"])
        warn(f"Keepa cooling down after NOT_ENOUGH_TOKEN until {until}")
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
    rows = [[m["marketplace_id"], m["hours"], m["hours_changed"], m["hours_inconclusive"], m["units_delta"],
             _money(m["revenue_delta"]), "done" if m["finished_at"] else "in progress"] for m in report["marketplaces"]]
    table(f"{report['kind']} audit: {report['reports_created']} report(s) requested",
          ["marketplace", "hours re-fetched", "hours changed", "inconclusive", "units delta", "revenue delta",
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
    for note in figures.sales_notes(report["rows"]):
        info(note)


def sales_csv(report: dict[str, Any]) -> None:
    by_hour = report["by"] == "hour"
    fields = ["marketplace_id", report["by"], *(["hour_local"] if by_hour else ["title"]),
              "ordered_units", "ordered_revenue", "currency_code", "final", *(["held"] if by_hour else [])]
    writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(report["rows"])
