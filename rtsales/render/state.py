"""Views of the state: `status` (diagnosis, facts, grid), `runs` and `doctor`."""

from __future__ import annotations

from collections.abc import Callable
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


def _live_text(m: dict[str, Any], live: dict[str, Any], several: bool) -> str:
    every = live["effective_minutes"]
    slower = (f" (LIVE_REFRESH_MINUTES is {live['configured_minutes']}; QUOTA_BUDGET_PERCENT={live['budget_percent']} "
              "pays for no more)") if every > live["configured_minutes"] else ""
    lanes, kinds, mps = live["lanes"], len(live["report_kinds"]), live["marketplaces"]
    shares = f" for {lanes} lane{_s(lanes)}" + (f" ({kinds} report kind{_s(kinds)} x {mps} marketplace{_s(mps)})"
                                               if mps else "")
    soon = {kind: format_duration(v["first_seen_within_minutes"] * 60) for kind, v in live["kinds"].items()}
    listed = ", ".join(f"{kind} {v}" if several else v for kind, v in soon.items())
    within = f"; new hours fetched within {listed} of their end" if soon else ""
    changing = "hours may still change" if several else f"{m['provisional_hours']} hour(s) may still change"
    return (f"every {every} min{shares}{slower}{within}; {changing} "
            f"(younger than SETTLE_HOURS={live['settle_hours']}, or not yet fetched after it)")


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _last_sync_text(run: dict[str, Any] | None, now: str) -> str:
    if run is None:
        return "none recorded"
    how = (f"{run['outcome']} (exit {run['exit_code']})" if run["state"] == "finished" else
           "died mid-way (no end recorded)" if run["state"] == "died" else "running")
    return f"{show_instant(run['started_at'], now)}: {how}; `rtsales runs` lists the recent runs"


def _ledger_text(ledger: dict[str, int]) -> str:
    return "  ".join(f"{state} {n}" for state, n in ledger.items())


def _last_text(k: dict[str, Any], now: str) -> str:
    age = k["last_applied_age_minutes"]
    return (f"{show_instant(k['last_applied_hour'], now)} ({format_duration(age * 60)} ago)" if age is not None
            else "never")


def _kind_text(k: dict[str, Any], now: str, shared: bool) -> str:
    """One kind of a marketplace in a line: ledger, newest hour held, hours still changing, and its
    trouble unless every kind has the same (cron not running, say: the marketplace's line says it)."""
    trouble = "" if k["ok"] or shared else f"; {k['diagnosis']}"
    return (f"{_ledger_text(k['ledger'])}; last applied {_last_text(k, now)}; "
            f"{k['provisional_hours']} hour(s) may still change{trouble}")


def _per_kind(kinds: dict[str, dict[str, Any]], describe: Callable[[dict[str, Any]], str | None],
              empty: str) -> str:
    """What `describe` says of the one kind, or 'sales: ...; traffic: ...' of several (None: nothing
    to say of that kind); `empty` when it says nothing at all."""
    said = [(kind, describe(k)) for kind, k in kinds.items()]
    if len(said) == 1:
        return said[0][1] or empty
    return "; ".join(f"{kind}: {found}" for kind, found in said if found is not None) or empty


def _status_marketplace(m: dict[str, Any], now: str, live: dict[str, Any], last_sync: dict[str, Any] | None) -> None:
    colour = "green" if m["ok"] else "red"
    console.print(f"[bold]{text(m['marketplace_id'])}[/]  [{colour}]{text(m['diagnosis'])}[/]", soft_wrap=True)
    rows = _fact_rows(m, now, live, last_sync)
    # Plain aligned lines, not a rich Table: one line per fact whatever the width (cron, pipes),
    # and a table laid out per marketplace was most of status's drawing time.
    width = max(len(name) for name, _ in rows) + 2
    for name, value in rows:
        console.print(f"  [dim]{name:<{width}}[/]{text(value)}", soft_wrap=True)
    several = len(m["kinds"]) > 1
    for kind, k in m["kinds"].items():
        for failed in k["failed"]:
            retry = show_instant(failed["next_retry_utc"], now)
            console.print(f"  [red]FAILED[/] {text(kind) + ' ' if several else ''}"
                          f"{text(show_instant(failed['hour_utc'], now))} retry {text(retry)}: "
                          f"{text((failed['last_error'] or '')[:100])}", soft_wrap=True)
    for kind, k in m["kinds"].items():
        _grid(k["grid"], kind if several else None)
    _legend()
    console.print()


def _fact_rows(m: dict[str, Any], now: str, live: dict[str, Any],
               last_sync: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The facts behind a marketplace's diagnosis; with several kinds, a line per kind instead of
    `ledger` and `last applied hour`, and each kind named where kinds differ."""
    kinds = m["kinds"]
    several = len(kinds) > 1
    lock, cooldown = m["lock"], m["cooldown"]
    lock_text = "free" if lock is None else (
        f"{lock['owner']} until {show_instant(lock['expires_at'], now)}" + (" (stale)" if lock["stale"] else ""))
    cool_text = ("none" if cooldown["reason"] == "none" else
                 f"{cooldown['reason']} until {show_instant(cooldown['until_utc'], now)}")
    shared = len({k["diagnosis"] for k in kinds.values()}) == 1
    facts = ([(kind, _kind_text(k, now, shared)) for kind, k in kinds.items()] if several else
             [("ledger", _ledger_text(m["ledger"])), ("last applied hour", _last_text(m, now))])
    rows = [("last sync", _last_sync_text(last_sync, now)), *facts,
            ("next claimable hour", _per_kind(kinds, lambda k: k["next_claimable_hour"], "none")),
            ("worker lock", lock_text), ("cooldown", cool_text), ("live refresh", _live_text(m, live, several)),
            ("window cap", _per_kind(kinds, lambda k: _cap_text(k["window_cap"], now), "none (full-size windows)")),
            *_audit_rows(kinds, now)]
    inconclusive = sum(k["inconclusive"] for k in kinds.values())
    if inconclusive:
        which = f" ({_per_kind(kinds, lambda k: str(k['inconclusive']) if k['inconclusive'] else None, '')})"
        rows.append(("inconclusive", f"{inconclusive} hour(s){which if several else ''}: the last re-fetch came "
                                     "back CANCELLED; stored rows kept, the next audit asks again"))
    return rows


def _audit_rows(kinds: dict[str, dict[str, Any]], now: str) -> list[tuple[str, str]]:
    """A line per audit period: enabled or not, and each kind's last run of it."""
    first = next(iter(kinds.values()))
    rows = []
    for period, audit in first["audits"].items():
        state = "enabled" if audit["enabled"] else "disabled"
        runs = _per_kind(kinds, lambda k, p=period: _audit_text(k["audits"][p]["last_run"], now), "")
        rows.append((f"{period} audit", f"{state}; {runs}"))
    return rows


def _audit_text(run: dict[str, Any] | None, now: str) -> str:
    if run is None:
        return "never ran"
    done = "finished" if run["finished_at"] else "in progress"
    unsure = f", {run['hours_inconclusive']} inconclusive (CANCELLED, rows kept)" if run["hours_inconclusive"] else ""
    started = show_instant(run["started_at"], now)
    return f"last {started} ({done}): {run['hours']} hours re-fetched, {run['hours_changed']} changed{unsure}"


def _cap_text(cap: dict[str, Any] | None, now: str) -> str | None:
    if cap is None:
        return None
    return (f"{cap['hours']} h, learned {show_instant(cap['learned_at'], now)} from a range error; "
            "a full-size window re-tests it after a day")


def _grid(days: dict[str, list[str | None]], heading: str | None = None) -> None:
    # Built as Text runs (one span per run of equal cells), not markup: status draws
    # hundreds of cells and markup parsing was most of its time.
    grid = Text(f"  {heading}\n" if heading else "", style="bold")
    grid.append(f"  {'UTC hour':<12}" + "".join(f"{h:<3}" for h in range(0, 24, 3)) + "\n", style="dim")
    for day, cells in days.items():
        grid.append(f"  {day}  ")
        for state, run in groupby(cells):
            char, style = GRID_CELLS[state]
            grid.append(char * len(list(run)), style=style)
        grid.append("\n")
    console.print(grid, end="")


def _legend() -> None:
    legend = Text()
    for name, (char, style) in GRID_CELLS.items():
        legend.append("  ")
        legend.append(char, style=style)
        legend.append(f" {_LEGEND.get(name, name.lower() if name else 'not tracked')}")
    console.print(legend)


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
