"""Views of the paid APIs beside SP-API: xAI answers and quota, Keepa balance, products and waits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rtsales.clock import format_duration, show_instant
from rtsales.render.base import err_console, info, table, text, warn


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
