"""The run history: one row per sync, audit or fill-day run in `rtsales_runs`.

A row is written in two short transactions, when the run starts and when it ends, so
a run that dies in between (SIGKILL, a power cut) keeps `ended_at` NULL: it is
"running" while its owner holds a live lease, "died" after. How a run ended comes from
its result (`Summary`) or, when it ended in an exception, from that exception
(`failure`); a configuration refused before the run began is recorded the same way
(`record_refusal`). Rows older than `KEEP` are deleted when a run starts.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from rtsales.clock import Clock, iso, parse_instant
from rtsales.errors import (AccessDeniedError, ConfigError, CooldownActiveError, ExitCode, LoginError, RtsalesError,
                            TempFailError, Terminated)
from rtsales.lock import is_live, owner_name
from rtsales.redaction import redact
from rtsales.store import transaction

log = logging.getLogger(__name__)
KEEP = timedelta(days=30)
# Between its start and its first lease, and after releasing them, a run holds no lease: a moment.
STARTING = timedelta(minutes=2)
FAILED = ("failures", "config_error", "login_error", "error")  # a run that tried and achieved nothing
SUCCEEDED = ("ok", "partial")  # a run that did its work, or some of it
_IN_FAILED = f"({', '.join('?' * len(FAILED))})"
# The newest run that succeeded: what failed or died before it has been made good.
_AFTER_SUCCESS = (f"id > COALESCE((SELECT MAX(id) FROM rtsales_runs WHERE outcome IN "
                  f"({', '.join('?' * len(SUCCEEDED))})), 0)")
_COLUMNS = ("id", "command", "owner", "started_at", "ended_at", "outcome", "exit_code", "calls", "http_429",
            "hours_applied", "hours_failed", "error")


@dataclass
class Summary:
    """How a run ended: outcome (ok, nothing_to_do, partial, failures, cooldown, lock_busy, lock_lost,
    config_error, login_error, error, interrupted), exit code, and what it did."""

    outcome: str
    exit_code: int
    calls: dict[str, int] = field(default_factory=dict)  # SP-API requests per operation
    http_429: int = 0
    hours_applied: int = 0
    hours_failed: int = 0
    error: str | None = None


def begin(db: Database, command: str, owner: str, now: datetime) -> int:
    """The run's row, unfinished; the history's oldest rows go in the same transaction."""
    with transaction(db) as conn:
        conn.execute("DELETE FROM rtsales_runs WHERE started_at < ?", [iso(now - KEEP)])
        cursor = conn.execute("INSERT INTO rtsales_runs (command, owner, started_at) VALUES (?, ?, ?)",
                              [command, owner, iso(now)])
        return int(cursor.lastrowid or 0)


def end(db: Database, run_id: int, now: datetime, summary: Summary) -> None:
    values = asdict(summary)
    values["calls"] = json.dumps(summary.calls, sort_keys=True)
    values["error"] = redact(summary.error)[:500] if summary.error else None
    with transaction(db) as conn:
        conn.execute("UPDATE rtsales_runs SET ended_at = :ended_at, outcome = :outcome, exit_code = :exit_code, "
                     "calls = :calls, http_429 = :http_429, hours_applied = :hours_applied, "
                     "hours_failed = :hours_failed, error = :error WHERE id = :id",
                     {**values, "ended_at": iso(now), "id": run_id})


@contextmanager
def recorded(db: Database, clock: Clock, command: str, owner: str, summary: Callable[[], Summary]) -> Iterator[None]:
    """Record the run around its body: `summary()` says how it ended, or the exception does.

    Only an Exception or Ctrl-C / SIGTERM is recorded: any other BaseException stands for a
    kill in the tests, and a killed process records nothing, exactly like a real SIGKILL."""
    run_id = begin(db, command, owner, clock.now())
    try:
        yield
    except (Exception, KeyboardInterrupt) as exc:
        _close(db, run_id, clock.now(), replace(summary(), **failure(exc)))
        raise
    _close(db, run_id, clock.now(), summary())


def record_refusal(db: Database, command: str, now: datetime, exc: RtsalesError) -> None:
    """A run refused before it began (its configuration): started and ended at once."""
    _close(db, begin(db, command, owner_name(command), now), now, Summary(**failure(exc)))


def _close(db: Database, run_id: int, now: datetime, summary: Summary) -> None:
    try:
        end(db, run_id, now, summary)
    except (RtsalesError, sqlite3.Error) as exc:  # the run's own outcome is the news, not this
        log.warning("could not record the end of this run in the run history: %s", exc)


def failure(exc: BaseException) -> dict[str, Any]:
    """outcome, exit_code and error line of a run that ended in `exc`."""
    if isinstance(exc, KeyboardInterrupt):
        stopped = isinstance(exc, Terminated)
        return {"outcome": "interrupted", "exit_code": int(ExitCode.TERMINATED if stopped else ExitCode.INTERRUPTED),
                "error": "stopped by SIGTERM" if stopped else "interrupted"}
    if not isinstance(exc, RtsalesError):
        return {"outcome": "error", "exit_code": int(ExitCode.FAILURE),
                "error": f"unexpected error: {exc.__class__.__name__}: {exc}"}
    return {"outcome": _outcome_of(exc), "exit_code": int(exc.exit_code),
            "error": f"{exc.message} ({exc.hint})" if exc.hint else exc.message}


def _outcome_of(exc: RtsalesError) -> str:
    for kind, outcome in ((AccessDeniedError, "config_error"), (LoginError, "login_error"),
                          (ConfigError, "config_error"), (CooldownActiveError, "cooldown"),
                          (TempFailError, "lock_busy")):
        if isinstance(exc, kind):
            return outcome
    return "error"


# -- reading the history ----------------------------------------------------------------------


def recent(db: Database, now: datetime, ttl: timedelta, limit: int = 20,
           where: str = "1", params: tuple[object, ...] = ()) -> list[dict[str, Any]]:
    """The newest runs first, each with its `state`: finished, running or died."""
    live = _live_owners(db, now, ttl)
    rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM rtsales_runs WHERE {where} ORDER BY id DESC LIMIT ?",
                      [*params, limit]).fetchall()
    return [_run(dict(zip(_COLUMNS, row, strict=True)), now, live) for row in rows]


def _run(run: dict[str, Any], now: datetime, live: set[str]) -> dict[str, Any]:
    run["calls"] = json.loads(run["calls"] or "{}")
    if run["ended_at"] is not None:
        run["state"] = "finished"
    elif run["owner"] in live or parse_instant(run["started_at"]) > now - STARTING:
        run["state"] = "running"
    else:
        run["state"] = "died"
    return run


def _live_owners(db: Database, now: datetime, ttl: timedelta) -> set[str]:
    return {owner for owner, expires in db.execute("SELECT owner, expires_at FROM vendor_rt_sales_worker_lock")
            if is_live(expires, now, ttl)}


def last_sync(db: Database, now: datetime, ttl: timedelta) -> dict[str, Any] | None:
    """The newest `rtsales sync` run: cron's heartbeat."""
    found = recent(db, now, ttl, 1, "command = 'sync'")
    return found[0] if found else None


def failing_streak(db: Database) -> dict[str, Any] | None:
    """The runs that failed since the newest one that succeeded, if any did: how many failed, of
    how many finished (the others had nothing to do or were skipped), since when, and the newest
    failure's outcome and error."""
    finished, failed, since = db.execute(
        f"SELECT COUNT(*), SUM(outcome IN {_IN_FAILED}), MIN(CASE WHEN outcome IN {_IN_FAILED} THEN started_at END) "
        f"FROM rtsales_runs WHERE ended_at IS NOT NULL AND {_AFTER_SUCCESS}", [*FAILED, *FAILED, *SUCCEEDED]).fetchone()
    if not failed:
        return None
    outcome, error = db.execute(f"SELECT outcome, error FROM rtsales_runs WHERE outcome IN {_IN_FAILED} "
                                "ORDER BY id DESC LIMIT 1", FAILED).fetchone()
    return {"failed": failed, "finished": finished, "since": since, "outcome": outcome, "error": error}


def died_since_success(db: Database, now: datetime, ttl: timedelta) -> dict[str, Any] | None:
    """The newest run that died after the newest run that succeeded: its hours wait to be resumed."""
    unfinished = recent(db, now, ttl, 5, f"ended_at IS NULL AND {_AFTER_SUCCESS}", SUCCEEDED)
    return next((run for run in unfinished if run["state"] == "died"), None)


def history(db: Database, now: datetime, ttl: timedelta, limit: int) -> dict[str, Any]:
    """What `rtsales runs` shows."""
    return {"now_utc": iso(now), "runs": recent(db, now, ttl, limit)}
