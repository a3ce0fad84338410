"""Read-only status: why is it (not) syncing? Run history, ledger, lock, cooldown, audits, gaps, clock skew.

Never takes a lock, never calls an API, needs no credentials. Returns plain
data, with each marketplace's diagnosis from `rtsales.views.diagnosis`; `render.status`
draws it and `--json` prints it. Every query is bounded by
the (report_kind, marketplace_id, status, hour_utc) index or the ledger's primary key.
Each report kind of a marketplace is judged on its own (its own lag and ledger); a
marketplace's top-level fields are its first kind's (sales by default), and `kinds`
holds every kind's. Leases,
cooldowns and retries are judged exactly as sync judges them (an instant further
ahead than rtsales ever sets one is over), so status says what sync will do.
"""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from rtsales.clock import HOUR, floor_hour, iso
from rtsales.config import Settings
from rtsales.kinds import KINDS
from rtsales.lock import is_live
from rtsales.quota import SPAPI_PLANS, access_error, active_cooldown, learned_rates
from rtsales.sync import audits, caps, runs, scheduler, skew
from rtsales.sync.ledger import (LANE, LEDGER, claimable_params, lane_key, ledger_counts, newest_held_hour,
                                 newest_wanted_hour)
from rtsales.sync.reach import Reach
from rtsales.views.diagnosis import Clockwork, History, age_minutes, diagnose

RUNS_SHOWN = 5  # the newest runs in `status --json`; `rtsales runs` lists more
# Without ANALYZE statistics SQLite walks a lane's primary key for `status = ?`; the status
# index goes straight to the few FAILED or MISSING hours among a year of APPLIED ones.
BY_STATUS = f"{LEDGER} INDEXED BY ix_ledger_status"


# Hops from one marketplace to the next in the primary key (report_kind, marketplace_id, hour_utc)
# instead of reading every row: one short walk per report kind.
_MARKETPLACES_SQL = f"""
    WITH RECURSIVE m(id) AS (
        SELECT MIN(marketplace_id) FROM {LEDGER} WHERE report_kind = :kind
        UNION ALL
        SELECT (SELECT MIN(marketplace_id) FROM {LEDGER} WHERE report_kind = :kind AND marketplace_id > m.id)
        FROM m WHERE m.id IS NOT NULL
    ) SELECT id FROM m WHERE id IS NOT NULL"""


def known_marketplaces(db: Database, settings: Settings) -> list[str]:
    seen = sorted({r[0] for kind in KINDS for r in db.execute(_MARKETPLACES_SQL, {"kind": kind})})
    return list(dict.fromkeys([*settings.marketplace_ids, *seen]))


def known_kinds(db: Database, settings: Settings) -> list[str]:
    """The configured report kinds, then any other kind the ledger still holds hours of."""
    held = [kind for kind in KINDS if _one(db, f"SELECT 1 FROM {LEDGER} WHERE report_kind = ? LIMIT 1", [kind])]
    return list(dict.fromkeys([*settings.report_types, *held]))


def _one(db: Database, sql: str, params: list[Any]) -> Any:
    row = db.execute(sql, params).fetchone()
    return row[0] if row else None


def _lock(db: Database, mp: str, now: datetime, ttl: timedelta) -> dict[str, Any] | None:
    row = db.execute("SELECT owner, expires_at FROM vendor_rt_sales_worker_lock WHERE marketplace_id = ?",
                     [mp]).fetchone()
    if row is None:
        return None
    return {"owner": row[0], "expires_at": row[1], "stale": not is_live(row[1], now, ttl)}


def _failed(db: Database, kind: str, mp: str, limit: int = 5) -> list[dict[str, Any]]:
    rows = db.execute(f"SELECT hour_utc, last_error, next_retry_utc, attempts FROM {BY_STATUS} WHERE {LANE} "
                      f"AND status = 'FAILED' ORDER BY hour_utc DESC LIMIT ?", [kind, mp, limit])
    return [dict(zip(("hour_utc", "last_error", "next_retry_utc", "attempts"), r, strict=True)) for r in rows]


def _audits(db: Database, kind: str, mp: str, settings: Settings) -> dict[str, Any]:
    latest = audits.latest_runs(db, mp, report_kind=kind)
    enabled = {"daily": settings.daily_audit_enabled, "weekly": settings.weekly_audit_enabled}
    return {kind: {"enabled": on, "last_run": latest.get(kind)} for kind, on in enabled.items()}


_HELD = {"final": "FINAL", "provisional": "PROVISIONAL"}  # grid cells of hours that hold data
_UNGRADED = {"APPLIED": "PROVISIONAL"}  # an answer without a data_state (a hand-made file) is not confirmed


def _grid(db: Database, kind: str, mp: str, now: datetime, days: int) -> dict[str, list[str | None]]:
    first_day = floor_hour(now).replace(hour=0) - timedelta(days=days - 1)
    grid: dict[str, list[str | None]] = {(first_day + timedelta(days=d)).strftime("%Y-%m-%d"): [None] * 24
                                         for d in range(days)}
    for hour, status, data in db.execute(f"SELECT hour_utc, status, data_state FROM {LEDGER} WHERE "
                                         f"{LANE} AND hour_utc >= ?", [kind, mp, iso(first_day)]):
        if hour[:10] in grid:  # an hour that holds data shows it, whatever re-fetch of it is in flight
            grid[hour[:10]][int(hour[11:13])] = _HELD.get(data, _UNGRADED.get(status, status))
    return grid


def _kind(db: Database, settings: Settings, kind: str, mp: str, now: datetime, days: int) -> dict[str, Any]:
    """One report kind of one marketplace: its ledger, newest hour held, waiting and failed hours."""
    last, lane = newest_held_hour(db, mp, kind=kind), [kind, mp]
    claimable, oldest_waiting = _claimable_edge(db, lane, now, "MAX"), _claimable_edge(db, lane, now, "MIN")
    next_retry = _one(db, f"SELECT MIN(next_retry_utc) FROM {BY_STATUS} WHERE {LANE} AND status = 'FAILED' "
                      f"AND next_retry_utc > ? AND next_retry_utc <= ?", [*lane, *claimable_params(now)])
    return {
        "report_kind": kind, "ledger": ledger_counts(db.conn, mp, kind=kind), "last_applied_hour": last,
        "last_applied_age_minutes": age_minutes(last, now, HOUR), "next_claimable_hour": claimable,
        "oldest_claimable_hour": oldest_waiting, "next_retry_utc": next_retry,
        "failed": _failed(db, kind, mp), "audits": _audits(db, kind, mp, settings),
        "inconclusive": _one(db, f"SELECT COUNT(*) FROM {LEDGER} INDEXED BY ix_ledger_inconclusive WHERE {LANE} "
                                 f"AND inconclusive = 1", lane),
        "window_cap": _window_cap(db, lane_key(kind, mp)), "grid": _grid(db, kind, mp, now, days),
        "provisional_hours": _one(db, f"SELECT COUNT(*) FROM {LEDGER} WHERE {LANE} "
                                      f"AND data_state = 'provisional'", lane),
        "unavailable_recent": _one(db, f"SELECT COUNT(*) FROM {LEDGER} WHERE {LANE} AND status = "
                                       f"'UNAVAILABLE' AND hour_utc >= ?",
                                   [*lane, iso(floor_hour(now) - timedelta(days=settings.lookback_days))]),
    }


def _claimable_edge(db: Database, lane: list[str], now: datetime, edge: str) -> str | None:
    """The newest (MAX) or oldest (MIN) claimable hour (CLAIMABLE_SQL), from the two ends of its index
    ranges: the OR of CLAIMABLE_SQL alone would walk every hour of the lane."""
    return _one(db, f"SELECT {edge}(h) FROM (SELECT {edge}(hour_utc) AS h FROM {BY_STATUS} WHERE {LANE} AND "
                    f"status = 'MISSING' UNION ALL SELECT {edge}(hour_utc) FROM {BY_STATUS} WHERE {LANE} AND "
                    f"status = 'FAILED' AND (next_retry_utc <= ? OR next_retry_utc > ?))",
                [*lane, *lane, *claimable_params(now)])


def _window_cap(db: Database, lane: str) -> dict[str, Any] | None:
    row = db.execute("SELECT value, updated_at FROM rtsales_state WHERE key = ?",
                     [f"{caps.PREFIX}{lane}"]).fetchone()
    return {"hours": int(row[0]), "learned_at": row[1]} if row else None



def _cooldown(info: dict[str, Any], quota_until: str | None) -> dict[str, Any]:
    lock = info["lock"]
    if quota_until:
        return {"reason": "quota", "until_utc": quota_until}
    if lock and not lock["stale"]:
        return {"reason": "lock_busy", "until_utc": lock["expires_at"]}
    return {"reason": "none", "until_utc": None}


def env_file_warning(path: Path | None) -> str | None:
    if path is None or not path.exists():
        return None
    if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
        return f"{path} is readable by other users; run: chmod 600 {path}"
    return None


def _configured(settings: Settings, mp: str) -> bool:
    """In MARKETPLACE_IDS, so sync works on it. Without MARKETPLACE_IDS (status needs no
    configuration) nothing can be told apart, and every marketplace is judged as configured."""
    return mp in settings.marketplace_ids or not settings.marketplace_ids


def collect_status(db: Database, settings: Settings, now: datetime, marketplace: str | None = None,
                   days: int = 7) -> dict[str, Any]:
    quota = active_cooldown(db, "spapi", now, timedelta(minutes=settings.quota_cooldown_max_minutes))
    quota_until = iso(quota.until) if quota else None
    refused = access_error(db)
    lag, ttl = timedelta(minutes=settings.safety_lag_minutes), timedelta(minutes=settings.lock_ttl_minutes)
    clock_skew = skew.recent(db, now)
    reach, kinds = Reach(settings, now), known_kinds(db, settings)
    live = _live_refresh(db, settings, reach)
    history = History(runs.last_sync(db, now, ttl), runs.failing_streak(db), runs.died_since_success(db, now, ttl))
    chosen = [marketplace] if marketplace else known_marketplaces(db, settings)
    marketplaces = []
    for mp in chosen:
        shared = {"marketplace_id": mp, "lock": _lock(db, mp, now, ttl), "configured": _configured(settings, mp),
                  "access_error": refused}
        shared["cooldown"] = _cooldown(shared, quota_until)
        each = {}
        for kind in kinds:
            info = {**shared, **_kind(db, settings, kind, mp, now, days)}
            info["configured"] = shared["configured"] and kind in settings.report_types
            clockwork = Clockwork(now, reach.lag(kind), HOUR + timedelta(minutes=live["effective_minutes"]))
            found = diagnose(info, history, clockwork)
            info["ok"], info["diagnosis_code"], info["diagnosis"] = found.ok, found.code, found.text
            if clock_skew is not None and not info["ok"]:  # maybe why Amazon refuses its windows
                info["diagnosis"] += f"; {skew.describe(clock_skew)}"
            each[kind] = info
        marketplaces.append(_combined(shared, each, kinds))
    warnings = [w for w in [env_file_warning(settings.env_file),
                            skew.describe(clock_skew) if clock_skew is not None else None] if w]
    return {"ok": all(m["ok"] for m in marketplaces), **_overall(marketplaces), "now_utc": iso(now),
            "db": str(settings.db_path), "newest_wanted_hour": iso(newest_wanted_hour(now, lag)),
            "warnings": warnings, "last_sync": history.last_sync, "runs": runs.recent(db, now, ttl, RUNS_SHOWN),
            "live_refresh": live, "clock_skew_seconds": clock_skew, "spapi_rates": _rates(db),
            "marketplaces": marketplaces}


def _combined(shared: dict[str, Any], each: dict[str, dict[str, Any]], kinds: list[str]) -> dict[str, Any]:
    """A marketplace: its first kind's fields at the top, every kind under `kinds`; ok only when every
    kind is, and the diagnosis of the first kind that is not (named when it is not the first kind)."""
    first = each[kinds[0]]
    bad = next((kind for kind in kinds if not each[kind]["ok"]), None)
    info = {**first, **shared, "configured": first["configured"] or shared["configured"],
            "kinds": {kind: {k: v for k, v in each[kind].items() if k not in shared} for kind in kinds}}
    if bad is not None:
        prefix = "" if bad == kinds[0] else f"{bad}: "
        info.update(ok=False, diagnosis_code=each[bad]["diagnosis_code"], diagnosis=prefix + each[bad]["diagnosis"])
    return info


def _overall(marketplaces: list[dict[str, Any]]) -> dict[str, str]:
    """The diagnosis of the first marketplace that is not ok (else of the first): one code for a monitor."""
    first = next((m for m in marketplaces if not m["ok"]), marketplaces[0] if marketplaces else None)
    if first is None:
        return {"diagnosis_code": "no_marketplaces", "diagnosis": "no marketplaces yet"}
    return {"diagnosis_code": first["diagnosis_code"], "diagnosis": first["diagnosis"]}


def _live_refresh(db: Database, settings: Settings, reach: Reach) -> dict[str, Any]:
    """How often each lane's live window is refreshed: LIVE_REFRESH_MINUTES, or slower when the budget
    is short; and per kind how soon after its end a new hour is asked for at that pace (its lag, then
    at most one live interval)."""
    interval = scheduler.live_interval(settings.live_refresh_minutes, settings.lanes,
                                       scheduler.create_rate(db), settings.quota_budget_percent)
    every = round(interval.total_seconds() / 60)
    kinds = {kind: {"first_seen_within_minutes": round(reach.lag(kind).total_seconds() / 60) + every}
             for kind in settings.report_types}
    return {"configured_minutes": settings.live_refresh_minutes, "effective_minutes": every,
            "budget_percent": settings.quota_budget_percent, "settle_hours": settings.settle_hours,
            "report_kinds": list(settings.report_types), "lanes": settings.lanes,
            "marketplaces": len(settings.marketplace_ids), "kinds": kinds}


def _rates(db: Database) -> dict[str, dict[str, Any]]:
    """The refill rate per operation: Amazon's applied rate once it named one, else the documented default."""
    learned = learned_rates(db, "spapi")
    return {op: {"rate": learned.get(op, plan.rate), "learned": op in learned} for op, plan in SPAPI_PLANS.items()}
