"""Operator actions on demand: `audit daily|weekly` and `fill-day`.

Both re-open hours and then run the ordinary sync cycle on them, so they obey
the same leases, pacing and cooldowns as cron. A cooldown or busy lock is a
refusal with exit 75 that says until when.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlite_utils import Database

from rtsales import zones
from rtsales.clock import HOUR, Clock, floor_hour, hour_key, iso, show_instant
from rtsales.config import Settings
from rtsales.errors import CooldownActiveError, LockBusyError, UsageError
from rtsales.store import transaction
from rtsales.sync import audits
from rtsales.sync.engine import SyncResult, SyncRun
from rtsales.kinds import KINDS
from rtsales.sync.ledger import LANE, LEDGER, HourStatus, reopen
from rtsales.sync.reach import Reach


def refuse_if_skipped(result: SyncResult) -> None:
    if result.skipped == "cooldown":
        raise CooldownActiveError(f"cooldown due to SP-API quota "
                                  f"(until {show_instant(result.cooldown_until, result.started_at)})",
                                  hint="nothing was requested; try again after that time")
    if result.skipped == "lock_busy":
        holders = ", ".join(f"{m.marketplace_id}: {m.holder}" for m in result.marketplaces)
        raise LockBusyError(f"worker lock busy ({holders})", hint="another rtsales is working; try again shortly")


def run_audit(db: Database, settings: Settings, clock: Clock, kind: str, marketplaces: tuple[str, ...],
              transport: httpx.BaseTransport | None = None, kinds: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Re-fetch the audit window now (even when cron audits are disabled) and report what changed."""
    started: list[audits.AuditStart] = []

    def reopen_window(run: SyncRun) -> None:
        now = run.clock.now()
        for report_kind in run.kinds:
            started.extend(run.start_audit(mp, kind, report_kind, now) for mp in run.leased)

    result = SyncRun(db, settings, clock, transport, command=f"audit-{kind}", marketplaces=marketplaces,
                     cron_audits=False, prepare=reopen_window, kinds=kinds).run()
    refuse_if_skipped(result)
    rows = audits.runs_by_id(db, [s.run_id for s in started])
    return {"kind": kind, "now_utc": result.started_at, "marketplaces": rows, "reports_created": _created(result),
            "quota_hit": result.quota_hit, "cooldown_until": result.cooldown_until}


def _created(result: SyncResult) -> int:
    return sum(m.tally.reports_created for m in result.marketplaces)


def day_hours(day_text: str, zone: str, now: datetime, max_age_days: int) -> tuple[date, list[datetime]]:
    """The UTC hours of a calendar day in `zone`, validated against now and Amazon's retention."""
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise UsageError(f"not a date: {day_text!r}", hint="use YYYY-MM-DD, e.g. 2026-03-09") from None
    tz = zones.zone(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = start + timedelta(days=1)
    if start.astimezone(now.tzinfo) > now:
        raise UsageError(f"{day} is in the future", hint="pick today or an earlier day")
    if start.astimezone(now.tzinfo) < now - timedelta(days=max_age_days):
        raise UsageError(f"{day} is older than the {max_age_days} days of data Amazon keeps",
                         hint="raise FILL_DAY_MAX_AGE_DAYS if your account keeps more")
    # Zones with half-hour offsets: repair every whole UTC hour that overlaps the local day.
    hours, cursor = [], floor_hour(start)
    while cursor < end:
        hours.append(cursor)
        cursor += HOUR
    return day, hours


def _hour_totals(db: Database, kind: str, mp: str, keys: list[str]) -> dict[str, tuple[int, float, int]]:
    """hour -> (the kind's first number summed, revenue for sales or 0, rows)."""
    table, columns = KINDS[kind].table, KINDS[kind].columns
    second = f"ROUND(SUM({columns[1]}), 2)" if len(columns) > 1 else "0.0"
    rows = db.execute(f"SELECT hour_utc, SUM({columns[0]}), {second}, COUNT(*) FROM {table} WHERE "
                      f"marketplace_id = ? AND hour_utc IN ({','.join('?' * len(keys))}) GROUP BY hour_utc",
                      [mp, *keys])
    return {hour: (units, revenue, n) for hour, units, revenue, n in rows}


def _day_keys(settings: Settings, now: datetime, day: date, hours: list[datetime],
              kinds: tuple[str, ...]) -> dict[str, list[str]]:
    """kind -> the hours of the day it may be asked for now (each kind's own lag and age limit)."""
    reach = Reach(settings, now + timedelta(seconds=settings.run_budget_seconds), fill=True)
    if hours[-1] < reach.fetchable(now):
        raise UsageError(f"{day} is older than the {settings.max_data_age_hours} hours of data Amazon serves",
                         hint="raise MAX_DATA_AGE_HOURS only if your account is known to serve older hours")
    keys = {kind: [hour_key(h) for h in hours if reach.oldest(now, kind) <= h <= reach.newest(now, kind)]
            for kind in kinds}
    if all(hours[-1] < reach.fetchable(now, kind) for kind in kinds):
        limits = ", ".join(f"{kind} {reach.max_age(kind) / HOUR:g} h" for kind in kinds)
        raise UsageError(f"{day} is older than Amazon serves {' and '.join(kinds)} data ({limits})",
                         hint="pick a more recent day, or --kind a report kind that reaches back further")
    if not any(keys.values()):
        raise UsageError(f"no hour of {day} ended long enough ago to fetch yet",
                         hint=f"an hour is asked for SAFETY_LAG_MINUTES ({settings.safety_lag_minutes}) after it ends")
    return {kind: found for kind, found in keys.items() if found}


def fill_day(db: Database, settings: Settings, clock: Clock, day_text: str, zone: str,
             marketplaces: tuple[str, ...], transport: httpx.BaseTransport | None = None,
             on_progress: Callable[[int, int], None] | None = None,
             kinds: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Fetch every hour of one day now (APPLIED and FAILED included); known rows stay until replaced."""
    now, kinds = clock.now(), kinds or settings.report_types
    day, hours = day_hours(day_text, zone, now, settings.fill_day_max_age_days)
    keys = _day_keys(settings, now, day, hours, kinds)
    before = {(kind, mp): _hour_totals(db, kind, mp, keys[kind]) for kind in keys for mp in marketplaces}

    def reopen_day(run: SyncRun) -> None:
        for (kind, hours_of_kind), mp in ((item, mp) for item in keys.items() for mp in run.leased):
            with transaction(db) as conn:
                conn.executemany(f"INSERT OR IGNORE INTO {LEDGER} (report_kind, marketplace_id, hour_utc, status, "
                                 f"updated_at) VALUES (?, ?, ?, 'MISSING', ?)",
                                 [(kind, mp, k, iso(now)) for k in hours_of_kind])
                # APPLIED hours stay APPLIED, rows and all, until their re-fetch answers.
                reopen(conn, mp, hours_of_kind, now, kind=kind, sources=(HourStatus.FAILED, HourStatus.UNAVAILABLE))

    def progress() -> None:
        """Hours of the day this run has fetched (applied since it began) of all it wants: the total
        is known, and told, before the first request."""
        if on_progress:
            done = sum(_applied_since(db, kind, mp, hours_of_kind, now)
                       for kind, hours_of_kind in keys.items() for mp in marketplaces)
            on_progress(done, sum(map(len, keys.values())) * len(marketplaces))

    progress()
    result = SyncRun(db, settings, clock, transport, command="fill-day", marketplaces=marketplaces, kinds=tuple(keys),
                     cron_audits=False, prepare=reopen_day, on_progress=progress,
                     focus={k for found in keys.values() for k in found}).run()
    refuse_if_skipped(result)
    progress()
    return {"day": day.isoformat(), "time_zone": zone, "now_utc": iso(now), "hours": max(map(len, keys.values())),
            "reports_created": _created(result),
            "quota_hit": result.quota_hit, "cooldown_until": result.cooldown_until,
            "marketplaces": [_day_changes(db, kind, mp, keys[kind], before[kind, mp], zones.zone(zone))
                             for mp in marketplaces for kind in keys]}


def _applied_since(db: Database, kind: str, mp: str, keys: list[str], since: datetime) -> int:
    return db.execute(f"SELECT COUNT(*) FROM {LEDGER} WHERE {LANE} AND status = 'APPLIED' AND updated_at >= ? "
                      f"AND hour_utc IN ({','.join('?' * len(keys))})", [kind, mp, iso(since), *keys]).fetchone()[0]


def _day_changes(db: Database, kind: str, mp: str, keys: list[str], before: dict[str, tuple[int, float, int]],
                 tz: ZoneInfo) -> dict[str, Any]:
    after = _hour_totals(db, kind, mp, keys)
    states = {k: (status, bool(flag)) for k, status, flag in db.execute(
        f"SELECT hour_utc, status, inconclusive FROM {LEDGER} WHERE {LANE} AND hour_utc IN "
        f"({','.join('?' * len(keys))})", [kind, mp, *keys])}
    empty = (0, 0.0, 0)
    hours = [{"hour_utc": k, "hour_local": zones.local_iso(k, tz), "status": states.get(k, (None, False))[0],
              "inconclusive": states.get(k, (None, False))[1], "units_before": before.get(k, empty)[0],
              "units_after": after.get(k, empty)[0], "revenue_before": before.get(k, empty)[1],
              "revenue_after": after.get(k, empty)[1], "changed": before.get(k) != after.get(k)} for k in keys]
    return {"marketplace_id": mp, "report_kind": kind, "measure": KINDS[kind].measure, "hours": hours}
