"""What `rtsales status` concludes for one marketplace: an ordered checklist, first match wins.

Each check compares the clock, the run history and the marketplace's ledger (as
`rtsales.views.status` collected them) and returns a `Diagnosis` (ok, code, one line) or
None to pass on. The order is the troubleshooting order: what the operator chose,
a run at work, cron not running, a run that died, runs that fail, locks, cooldown,
FAILED hours, hours left waiting, data older than the settings allow, lost hours.
"Syncing normally" is what is left: the last sync is recent, nothing fails and the
newest hour held is as fresh as the settings allow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rtsales.clock import HOUR, iso, parse_instant, show_instant
from rtsales.sync.ledger import newest_wanted_hour

RECENT_RUN = timedelta(minutes=35)  # two 15-minute cron intervals and a margin: longer, cron missed runs
STALE_AFTER = timedelta(hours=3)  # claimable work older than the lag plus this is not being reached
SILENT_AFTER = timedelta(hours=6)  # nothing applied for this long is worth a shout
Info = dict[str, Any]


@dataclass(frozen=True)
class Diagnosis:
    ok: bool
    code: str  # stable, for scripts: `diagnosis_code` in `status --json`
    text: str


@dataclass(frozen=True)
class History:
    """What the run history says, the same for every marketplace (rtsales.sync.runs)."""

    last_sync: dict[str, Any] | None  # the newest `rtsales sync` run
    streak: dict[str, Any] | None  # the runs failing since the newest that did not
    died: dict[str, Any] | None  # a run that died after the newest run that succeeded


@dataclass(frozen=True)
class Clockwork:
    now: datetime
    safety_lag: timedelta
    fresh_within: timedelta  # how far behind the newest wanted hour the newest held may be

    def show(self, instant: str) -> str:
        return show_instant(instant, self.now)


Check = Callable[[Info, History, Clockwork], Diagnosis | None]


def age_minutes(instant: str | None, now: datetime, plus: timedelta = timedelta(0)) -> int | None:
    return None if instant is None else int((now - parse_instant(instant) - plus).total_seconds() // 60)


def span(minutes: int) -> str:
    """'4 h 30 min', '40 min', '2 h'."""
    hours, rest = divmod(max(minutes, 0), 60)
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest or not hours else "")
                    if part)


def _not_configured(info: Info, _h: History, _c: Clockwork) -> Diagnosis | None:
    if info["configured"]:
        return None  # else sync leaves it alone, by the operator's choice: nothing to fix
    return Diagnosis(True, "not_configured", f"not configured ({sum(info['ledger'].values())} hours kept)")


def _working(info: Info, _h: History, c: Clockwork) -> Diagnosis | None:
    lock = info["lock"]
    if not lock or lock["stale"]:
        return None
    return Diagnosis(True, "syncing", f"a sync is working on it ({lock['owner']}, lock until "
                                      f"{c.show(lock['expires_at'])})")


def _cron_dead(_info: Info, h: History, c: Clockwork) -> Diagnosis | None:
    if h.last_sync is None:
        return Diagnosis(False, "cron_dead", "no `rtsales sync` has run yet: run it once by hand, then install "
                                             "crontab.example")
    started = h.last_sync["started_at"]
    if parse_instant(started) + RECENT_RUN >= c.now:
        return None
    return Diagnosis(False, "cron_dead", f"no sync has run for {span(age_minutes(started, c.now) or 0)} "
                                         f"(last {c.show(started)}): is cron running `rtsales sync`? "
                                         "(see crontab.example)")


def _run_died(_info: Info, h: History, c: Clockwork) -> Diagnosis | None:
    if h.died is None:
        return None
    return Diagnosis(False, "run_died", f"the {h.died['command']} started {c.show(h.died['started_at'])} died "
                                        "mid-way (no end recorded: killed, out of memory, a cron timeout?); the next "
                                        "sync takes over and resumes its hours")


def _runs_failing(_info: Info, h: History, c: Clockwork) -> Diagnosis | None:
    streak = h.streak
    if streak is None:
        return None
    code = streak["outcome"] if streak["outcome"] in ("login_error", "config_error") else "runs_failing"
    failed, finished, when = streak["failed"], streak["finished"], c.show(streak["since"])
    if finished == 1:
        head = f"the last run failed ({when})"
    elif failed == finished:
        head = f"the last {failed} runs failed (since {when})"
    else:  # the others had nothing to do (FAILED hours wait for their retry) or were skipped
        head = f"{failed} of the last {finished} runs failed (since {when}), none succeeded"
    return Diagnosis(False, code, f"{head}: {streak['error'] or streak['outcome']}")


def _access_refused(info: Info, _h: History, c: Clockwork) -> Diagnosis | None:
    refused = info.get("access_error")
    if not refused:
        return None
    return Diagnosis(False, "access_refused", f"the last run was refused (since {c.show(refused['since'])}): "
                                              f"{refused['error']}")


def _lock_stale(info: Info, _h: History, c: Clockwork) -> Diagnosis | None:
    lock = info["lock"]
    if not lock:
        return None
    if lock["expires_at"] > iso(c.now):  # stale yet in the future: beyond its TTL
        return Diagnosis(False, "stale_lock", f"lock held by {lock['owner']} expires {c.show(lock['expires_at'])}, "
                                              "further ahead than LOCK_TTL_MINUTES (clock set back?); the next sync "
                                              "takes it over")
    return Diagnosis(False, "stale_lock", f"lock held by {lock['owner']} went stale "
                                          f"{age_minutes(lock['expires_at'], c.now)} min ago (a run died?); the next "
                                          "sync takes it over")


def _cooldown(info: Info, _h: History, c: Clockwork) -> Diagnosis | None:
    cooldown = info["cooldown"]
    if cooldown["reason"] != "quota":
        return None
    return Diagnosis(False, "cooldown", f"Cooldown due to SP-API quota (until {c.show(cooldown['until_utc'])})")


def _failed_hours(info: Info, _h: History, c: Clockwork) -> Diagnosis | None:
    if not (info["ledger"]["FAILED"] and info["next_retry_utc"] and not info["next_claimable_hour"]):
        return None
    error = (info["failed"][0]["last_error"] or "")[:120] if info["failed"] else ""
    return Diagnosis(False, "failed_hours", f"{info['ledger']['FAILED']} hour(s) FAILED, next retry "
                                            f"{c.show(info['next_retry_utc'])}: {error}")


def _backlog(info: Info, h: History, c: Clockwork) -> Diagnosis | None:
    waiting = info["oldest_claimable_hour"]
    if not waiting or parse_instant(waiting) + HOUR + c.safety_lag + STALE_AFTER >= c.now:
        return None
    last = c.show(h.last_sync["started_at"]) if h.last_sync else "?"
    return Diagnosis(False, "backlog", f"hours waiting since {waiting[:16].replace('T', ' ')} UTC although sync "
                                       f"runs (last {last}): `rtsales runs` shows what the runs did")


def _nothing_applied(info: Info, _h: History, c: Clockwork) -> Diagnosis | None:
    age = info["last_applied_age_minutes"]
    if age is not None and age <= (c.safety_lag + SILENT_AFTER).total_seconds() / 60:
        return None
    since = "ever" if age is None else f"{age // 60} h"
    return Diagnosis(False, "nothing_applied", f"nothing applied for {since}: run `rtsales sync` and check its output")


def _catching_up(info: Info, _h: History, c: Clockwork) -> Diagnosis | None:
    wanted = newest_wanted_hour(c.now, c.safety_lag)
    behind = wanted - parse_instant(info["last_applied_hour"])
    if behind <= c.fresh_within:
        return None
    return Diagnosis(True, "catching_up", f"catching up: the newest hour held is {span(int(behind / HOUR) * 60)} "
                                          f"behind the newest that should be ({c.show(iso(wanted))})")


def _unavailable(info: Info, _h: History, _c: Clockwork) -> Diagnosis | None:
    lost = info["unavailable_recent"]
    if not lost:
        return None
    return Diagnosis(True, "unavailable_hours", f"syncing; {lost} hour(s) within LOOKBACK_DAYS are UNAVAILABLE "
                                                "(older than Amazon serves: their numbers are not in the database)")


CHECKLIST: tuple[Check, ...] = (_not_configured, _working, _cron_dead, _run_died, _runs_failing, _access_refused,
                                _lock_stale, _cooldown, _failed_hours, _backlog, _nothing_applied, _catching_up,
                                _unavailable)
NORMAL = Diagnosis(True, "ok", "syncing normally")


def diagnose(info: Info, history: History, clock: Clockwork) -> Diagnosis:
    """The first check that matches, or "syncing normally"."""
    for check in CHECKLIST:
        found = check(info, history, clock)
        if found is not None:
            return found
    return NORMAL
