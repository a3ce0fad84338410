"""Views of the state: `status` (diagnosis, facts, grid), `runs` and `doctor`."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from rich.text import Text

from rtsales.clock import format_duration, parse_instant, show_instant
from rtsales.render.base import console, info, table, text, warn


GRID_CELLS = {  # distinct characters, so the grid still reads without colour (pipes, cron mail)
    "FINAL": ("█", "green"), "PROVISIONAL": ("▄", "green"),
    "REQUESTED": ("▒", "blue"), "DOWNLOADED": ("▓", "cyan"),
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
    # Plain aligned lines, not a rich Table: one line per fact whatever the width (cron, pipes),
    # and a table laid out per marketplace was most of status's drawing time.
    width = max(len(name) for name, _ in rows) + 2
    for name, value in rows:
        console.print(f"  [dim]{name:<{width}}[/]{text(value)}", soft_wrap=True)
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
