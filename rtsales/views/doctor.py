"""`rtsales doctor`: one checklist of what a cron run needs, as plain data.

Each check ends ok, warn, fail or skip (not asked: an earlier check failed, or there is
nothing to check), with a one-line detail and, unless ok, the fix. Settings that do not
load are a failed check, not an exit 78: the rest is checked with what could be read,
except Amazon, which is asked only with settings that load. Doctor reads the database
read-only (it creates, migrates and locks nothing), then makes one Login with Amazon
token call and one getReports call (its own usage plan; never createReport quota), and
no SP-API call during an SP-API cooldown. Nothing is written anywhere.
"""

from __future__ import annotations

import difflib
import os
import sqlite3
import stat
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from rtsales.amazon.marketplaces import MARKETPLACES, lookup
from rtsales.clock import HOUR, Clock, format_duration, iso, parse_instant, show_instant
from rtsales.config import Settings, load_settings_leniently
from rtsales.errors import AccessDeniedError, ConfigError, RtsalesError, SpApiError, SpApiQuotaError
from rtsales.kinds import KINDS
from rtsales.quota import active_cooldown
from rtsales.store.db import connect_read_only, database_problem
from rtsales.store.migrations import MIGRATIONS, identify, schema_version
from rtsales.sync import scheduler, skew
from rtsales.sync.ledger import newest_held_hour

if TYPE_CHECKING:
    import httpx

    from rtsales.amazon.client import SpApiClient

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
CRON_INTERVAL = timedelta(minutes=15)  # crontab.example's
SECRET_LIFETIME = timedelta(days=180)  # Amazon makes apps rotate the LWA client secret this often
SECRET_WARNING = timedelta(days=30)
_ROTATE = ("make a new client secret for the app in Developer Central (Edit App > LWA credentials), put it in "
           "LWA_CLIENT_SECRET and set LWA_CLIENT_SECRET_ROTATED to that day")


_API_NAMES = {"spapi": "SP-API", "keepa": "Keepa", "xai": "xAI"}


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str | None = None


def run_doctor(env_file: Path | None, db_path: Path | None, transport: httpx.BaseTransport | None = None,
               environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every check, in the order a user fixes them; `ok` unless one failed (warnings pass)."""
    settings, problem = load_settings_leniently(env_file, db_path, environ)
    clock = settings.clock()
    now = clock.now()
    settings_check = _settings(settings, problem)
    db_file = Path(os.path.abspath(settings.db_path))  # paths in fixes that work from any folder
    database, db = _database(db_file)
    try:
        cooldown = _cooldown(db, settings, now) if db else Check("cooldown", SKIP, "no database to read it from")
        seen: list[float] = []
        login, reports = _amazon(settings, clock, transport, settings_check.status == OK,
                                 cooling=cooldown.status == FAIL, seen=seen)
        checks = [settings_check, database, _file_mode("database mode", db_file, "your sales"),
                  _file_mode(".env mode", env_file or settings.env_file or Path(".env"), "your credentials"),
                  login, reports, _clock(db, now, seen), _marketplaces(settings.marketplace_ids),
                  _cron(db, settings, now) if db else Check("cron", SKIP, "no database to read it from"),
                  cooldown, _secret_age(settings.lwa_client_secret_rotated, now.date())]
    finally:
        if db is not None:
            db.conn.close()
    return {"ok": all(c.status != FAIL for c in checks), "now_utc": iso(now), "db": str(db_file),
            "checks": [asdict(c) for c in checks]}


def _settings(settings: Settings, problem: ConfigError | None) -> Check:
    if problem is None:
        try:
            settings.require_spapi()
        except ConfigError as exc:
            problem = exc
    if problem is not None:
        return Check("settings", FAIL, problem.message, problem.hint)
    where = f"from {settings.env_file} and the environment" if settings.env_file else "from the environment"
    return Check("settings", OK, f"valid ({where})")


# -- files ------------------------------------------------------------------------------------------

def _database(path: Path) -> tuple[Check, Database | None]:
    """The file opens, passes PRAGMA quick_check and has this rtsales's schema; the read-only
    connection comes back for the checks that read it, when the schema is the one they expect."""
    if not path.is_file():
        fix = "check --db / RTSALES_DB; `rtsales sync` creates the database on its first run"
        return Check("database", FAIL, f"{path} does not exist", fix), None
    try:
        conn = connect_read_only(path)
    except RtsalesError as exc:
        return Check("database", FAIL, exc.message, exc.hint), None
    except sqlite3.DatabaseError as exc:
        return _broken(path, exc), None
    try:
        check, usable = _inspect(conn, path)
    except sqlite3.DatabaseError as exc:
        check, usable = _broken(path, exc), False
    if not usable:
        conn.close()
    return check, Database(conn) if usable else None


def _inspect(conn: sqlite3.Connection, path: Path) -> tuple[Check, bool]:
    owner, latest = identify(conn), len(MIGRATIONS)
    if owner != "rtsales":
        fix = ("`rtsales sync` makes it an rtsales database" if owner == "blank"
               else "point --db / RTSALES_DB at rtsales's file; rtsales will not change this one")
        return Check("database", FAIL, f"{path} is {'empty' if owner == 'blank' else 'not an rtsales database'}",
                     fix), False
    damage = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
    if damage != ["ok"]:
        return _broken(path, sqlite3.DatabaseError("; ".join(damage))), False
    version = schema_version(conn)
    if version > latest:
        return Check("database", FAIL, f"{path} has schema version {version}, newer than this rtsales ({latest})",
                     "upgrade rtsales (pip install -U rtsales) or point --db at another file"), False
    if version < latest:
        return Check("database", WARN, f"{path} has schema version {version} of {latest}",
                     "the next `rtsales sync` migrates it; run one by hand to be sure it can"), False
    return Check("database", OK, f"{path} opens, passes quick_check, schema version {version}"), True


def _broken(path: Path, exc: sqlite3.DatabaseError) -> Check:
    known = database_problem(path, exc)
    if known is not None and "not a valid" not in known.message:
        return Check("database", FAIL, known.message, known.hint)
    found = "; ".join(line for line in str(exc).splitlines() if line and not line.startswith("***"))
    return Check("database", FAIL, f"{path} is damaged: {found[:200]}",
                 "restore it from a backup, or move it aside and let `rtsales sync` fetch the last "
                 "LOOKBACK_DAYS again")


def _file_mode(name: str, path: Path, holds: str) -> Check:
    if not path.is_file():
        return Check(name, SKIP, f"no {path}")
    path = Path(os.path.abspath(path))  # a fix that works from any folder
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        return Check(name, FAIL, f"{path} has mode {mode:04o}: other users can read {holds}", f"chmod 600 {path}")
    return Check(name, OK, f"{path} has mode {mode:04o}")


# -- Amazon -----------------------------------------------------------------------------------------

def _amazon(settings: Settings, clock: Clock, transport: httpx.BaseTransport | None, allowed: bool,
            cooling: bool, seen: list[float]) -> tuple[Check, Check]:
    """One token call, then one getReports call: the credentials, then the app's access to these reports.
    The clock offset that getReports' `Date` header shows is appended to `seen`."""
    if not allowed:
        return (Check("Login with Amazon", SKIP, "not asked: fix the settings first"),
                Check("Reports API", SKIP, "not asked: fix the settings first"))
    from rtsales.amazon.client import SpApiClient  # httpx and tenacity: only when Amazon is asked

    client = SpApiClient(settings, clock, transport)
    try:
        try:
            client.login()
        except RtsalesError as exc:
            return (Check("Login with Amazon", FAIL, exc.message, exc.hint or "check LWA_TOKEN_URL and LWA_*"),
                    Check("Reports API", SKIP, "not asked: no access token"))
        login = Check("Login with Amazon", OK, f"{settings.lwa_token_url} accepts the credentials")
        if cooling:
            return login, Check("Reports API", SKIP, "not asked during the SP-API cooldown")
        reports = _reports(client, tuple(KINDS[kind].report_type for kind in settings.report_types))
        if client.clock_skew_seconds is not None:
            seen.append(client.clock_skew_seconds)
        return login, reports
    finally:
        client.close()


def _clock(db: Database | None, now: datetime, seen: list[float]) -> Check:
    """The host clock against Amazon's: this run's answer if there was one, else the last sync's measure."""
    offset = round(seen[-1]) if seen else (skew.recent(db, now) if db is not None else None)
    if offset is None or abs(offset) <= skew.WARN_OVER.total_seconds():
        return Check("clock", OK if seen else SKIP,
                     "within a couple of minutes of Amazon's" if seen else "not measured (Amazon not asked)")
    return Check("clock", FAIL, f"{skew.describe(offset)} (from the Date of Amazon's answers)",
                 "keep the host clock in sync (e.g. `timedatectl set-ntp true` or chrony): Amazon refuses "
                 "windows that end in its future")


def _reports(client: SpApiClient, report_types: tuple[str, ...]) -> Check:
    from rtsales.amazon.client import ROLE_HINT

    try:
        client.list_reports(report_types, page_size=1)
    except SpApiQuotaError:
        return Check("Reports API", WARN, "getReports answered 429 (throttled)", "run `rtsales doctor` again shortly")
    except AccessDeniedError as exc:
        return Check("Reports API", FAIL, exc.message, exc.hint)
    except SpApiError as exc:
        fix = ROLE_HINT if exc.status == 403 else exc.hint or "check SPAPI_ENDPOINT; `rtsales -v doctor` shows the call"
        return Check("Reports API", FAIL, exc.message, fix)
    return Check("Reports API", OK, f"getReports answers: the app may read {', '.join(report_types)}")


def _marketplaces(ids: Sequence[str]) -> Check:
    if not ids:
        return Check("marketplaces", FAIL, "MARKETPLACE_IDS is not set",
                     "set MARKETPLACE_IDS, e.g. ATVPDKIKX0DER for amazon.com (see .env.example)")
    unknown = [m for m in ids if lookup(m) is None]
    if unknown:
        near = [hit for m in unknown for hit in difflib.get_close_matches(m, MARKETPLACES, n=1)]
        hint = f"did you mean {', '.join(near)}? " if near else ""
        return Check("marketplaces", FAIL, f"unknown marketplace ID(s) {', '.join(unknown)}",
                     f"{hint}fix MARKETPLACE_IDS (Amazon's marketplace ID list: developer-docs.amazon.com/sp-api/docs/"
                     "marketplace-ids)")
    known = [m for m in map(lookup, ids) if m is not None]
    shown = ", ".join(f"{m.marketplace_id} ({m.country}, {m.region})" for m in known)
    if len({m.region for m in known}) > 1:
        return Check("marketplaces", FAIL, f"{shown}: more than one SP-API region",
                     "keep one region per configuration: split MARKETPLACE_IDS over two env files and databases")
    return Check("marketplaces", OK, shown)


# -- what the database tells ------------------------------------------------------------------------

def last_sync_evidence(db: Database, marketplaces: Sequence[str], ttl: timedelta) -> datetime | None:
    """When a run last worked, as far as the database shows: its newest ledger write, a lease it took
    (expiry less LOCK_TTL_MINUTES), or the end of the newest hour held. (The one place to read a
    recorded run history from, once runs are recorded.)"""
    marks = ",".join("?" * len(marketplaces))
    seen: list[datetime] = []
    for sql in (f"SELECT MAX(updated_at) FROM vendor_rt_sales_hour_ledger WHERE marketplace_id IN ({marks})",
                f"SELECT MAX(expires_at) FROM vendor_rt_sales_worker_lock WHERE marketplace_id IN ({marks})"):
        value = db.execute(sql, list(marketplaces)).fetchone()[0]
        if value:
            seen.append(parse_instant(value) - (ttl if "worker_lock" in sql else timedelta(0)))
    seen += [parse_instant(hour) + HOUR for hour in filter(None, (newest_held_hour(db, m, kind=kind)
                                                                   for m in marketplaces for kind in KINDS))]
    return max(seen, default=None)


def _cron(db: Database, settings: Settings, now: datetime) -> Check:
    if not settings.marketplace_ids:
        return Check("cron", SKIP, "no MARKETPLACE_IDS to sync")
    last = last_sync_evidence(db, settings.marketplace_ids, timedelta(minutes=settings.lock_ttl_minutes))
    if last is None:
        return Check("cron", FAIL, "no sync has run yet",
                     "run `rtsales sync` once by hand, then install crontab.example")
    live = scheduler.live_interval(settings.live_refresh_minutes, settings.lanes,
                                   scheduler.create_rate(db), settings.quota_budget_percent)
    allowed = 2 * max(CRON_INTERVAL, live)  # one missed run is no alarm; idle runs between live refreshes write nothing
    age = format_duration(max(now - last, timedelta(0)).total_seconds())
    if now - last > allowed:
        return Check("cron", FAIL, f"no sync seen for {age} (last {show_instant(last, now)}; expected every "
                                   f"{format_duration(live.total_seconds())})",
                     "is cron running `rtsales sync` every 15 minutes? see crontab.example")
    return Check("cron", OK, f"last sync activity {age} ago ({show_instant(last, now)})")


def _cooldown(db: Database, settings: Settings, now: datetime) -> Check:
    """SP-API's cooldown fails the check (no sales are fetched until it ends); Keepa's and xAI's warn."""
    longest = timedelta(minutes=settings.quota_cooldown_max_minutes)
    active = [c for (api,) in db.execute("SELECT api FROM api_cooldowns ORDER BY api")
              if (c := active_cooldown(db, api, now, longest if api == "spapi" else None))]
    if not active:
        return Check("cooldown", OK, "none")
    shown = "; ".join(f"{_API_NAMES.get(c.api, c.api)} until {show_instant(c.until, now)}" for c in active)
    if any(c.api == "spapi" for c in active):
        return Check("cooldown", FAIL, f"cooling down after a 429: {shown}",
                     "nothing to do: cron resumes by itself after it; if it recurs, lower QUOTA_BUDGET_PERCENT "
                     "or look for other tools spending this app's quota")
    return Check("cooldown", WARN, shown, "wait for it to end; those commands refuse until then")


def _secret_age(rotated: date | None, today: date) -> Check:
    name = "client secret age"
    if rotated is None:
        return Check(name, SKIP, "not tracked: set LWA_CLIENT_SECRET_ROTATED=YYYY-MM-DD to be warned "
                                 f"{SECRET_WARNING.days} days before Amazon's {SECRET_LIFETIME.days}-day limit")
    age, due = (today - rotated).days, rotated + SECRET_LIFETIME
    if age < 0:
        return Check(name, FAIL, f"LWA_CLIENT_SECRET_ROTATED={rotated} is in the future",
                     "set it to the day the client secret was made")
    if age >= SECRET_LIFETIME.days:
        return Check(name, FAIL, f"rotated {rotated}, {age} days ago: past Amazon's {SECRET_LIFETIME.days} days "
                                 f"(since {due})", _ROTATE)
    if due - today <= SECRET_WARNING:
        return Check(name, WARN, f"expires in {(due - today).days} days (on {due}); rotated {rotated}", _ROTATE)
    return Check(name, OK, f"rotated {rotated}, {age} days ago; due by {due}")
