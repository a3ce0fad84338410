"""Worker leases in `vendor_rt_sales_worker_lock`: one live worker per name.

A name is a marketplace ID for sync work, or an API name (`keepa`, `xai`).
Acquire, refresh and release are single guarded statements inside
BEGIN IMMEDIATE, so two processes cannot both believe they hold a lease. An
expired lease is stolen and the previous owner is logged. So is a lease expiring
more than its TTL from now: no live owner set it (the clock went back since).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from rtsales.clock import iso, later, show_instant
from rtsales.errors import LockLostError
from rtsales.store import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseResult:
    acquired: bool
    holder: str | None = None  # who holds it when not acquired
    expires_at: str | None = None
    stolen_from: str | None = None


def owner_name(command: str) -> str:
    return f"{command}:{os.getpid()}"


def is_live(expires_at: str, now: datetime, ttl: timedelta) -> bool:
    """A lease still in force: not expired, and not ending further ahead than a refresh now would set."""
    return iso(now) < expires_at <= iso(later(now, ttl))


def acquire(db: Database, name: str, owner: str, now: datetime, ttl: timedelta) -> LeaseResult:
    expires = iso(later(now, ttl))
    with transaction(db) as conn:
        row = conn.execute("SELECT owner, expires_at FROM vendor_rt_sales_worker_lock "
                           "WHERE marketplace_id = ?", [name]).fetchone()
        if row is None:
            conn.execute("INSERT INTO vendor_rt_sales_worker_lock VALUES (?, ?, ?)", [name, owner, expires])
            return LeaseResult(True, expires_at=expires)
        holder, holder_expires = row
        if holder != owner and is_live(holder_expires, now, ttl):
            return LeaseResult(False, holder=holder, expires_at=holder_expires)
        conn.execute("UPDATE vendor_rt_sales_worker_lock SET owner = ?, expires_at = ? "
                     "WHERE marketplace_id = ? AND owner = ?", [owner, expires, name, holder])
    if holder != owner:
        if holder_expires > expires:
            log.warning("took over lock %s from %s: it expires %s, more than LOCK_TTL_MINUTES (%d min) from now "
                        "(%s); clock set back?", name, holder, show_instant(holder_expires, now),
                        ttl.total_seconds() // 60, show_instant(now, now))
        else:
            log.warning("stole expired lock %s from %s (expired %s)", name, holder, show_instant(holder_expires, now))
        return LeaseResult(True, expires_at=expires, stolen_from=holder)
    return LeaseResult(True, expires_at=expires)


def refresh(db: Database, name: str, owner: str, now: datetime, ttl: timedelta) -> None:
    """Extend our lease; raise LockLostError if someone else took it."""
    with transaction(db) as conn:
        changed = conn.execute("UPDATE vendor_rt_sales_worker_lock SET expires_at = ? "
                               "WHERE marketplace_id = ? AND owner = ?",
                               [iso(now + ttl), name, owner]).rowcount
    if changed != 1:
        raise LockLostError(f"lost the worker lock for {name}; another process took it",
                            hint="only one rtsales worker per marketplace runs at a time; this one stops")


def release(db: Database, name: str, owner: str) -> None:
    with transaction(db) as conn:
        conn.execute("DELETE FROM vendor_rt_sales_worker_lock WHERE marketplace_id = ? AND owner = ?",
                     [name, owner])


def current(db: Database, name: str) -> tuple[str, str] | None:
    row = db.conn.execute("SELECT owner, expires_at FROM vendor_rt_sales_worker_lock "
                          "WHERE marketplace_id = ?", [name]).fetchone()
    return (row[0], row[1]) if row else None
