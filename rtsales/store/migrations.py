"""Numbered schema migrations, recorded in PRAGMA user_version, applied on open, and
whose file it is: blank, rtsales's (PRAGMA application_id) or another application's.

Each migration runs in its own BEGIN IMMEDIATE transaction and re-checks the
version inside it, so two processes opening a new file at once apply it once.
Append new migrations; never edit a released one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Literal

from rtsales.errors import StoreError

Migration = Callable[[sqlite3.Connection], None]
Owner = Literal["blank", "rtsales", "other"]

# PRAGMA application_id of every rtsales database: the ASCII bytes of "rtsl" read as a
# big-endian 32-bit integer, as SQLite stores it at offset 68 of the file header.
APPLICATION_ID = int.from_bytes(b"rtsl", "big")  # 0x7274736C = 1920234348
# Created by migration 1: how a file made before rtsales set APPLICATION_ID is recognised.
_LEGACY_MARK = "vendor_rt_sales_hour_ledger"


def _m001_core(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE vendor_realtime_sales (
            marketplace_id  TEXT NOT NULL,
            asin            TEXT NOT NULL,
            hour_utc        TEXT NOT NULL,
            ordered_units   INTEGER NOT NULL,
            ordered_revenue REAL NOT NULL,
            currency_code   TEXT NOT NULL,
            report_id       TEXT,
            updated_at      TEXT NOT NULL,
            PRIMARY KEY (marketplace_id, hour_utc, asin)
        ) WITHOUT ROWID""")
    conn.execute("""
        CREATE TABLE vendor_rt_sales_hour_ledger (
            marketplace_id TEXT NOT NULL,
            hour_utc       TEXT NOT NULL,
            status         TEXT NOT NULL CHECK (status IN
                               ('MISSING','REQUESTED','DOWNLOADED','APPLIED','FAILED')),
            report_id      TEXT,
            attempts       INTEGER NOT NULL DEFAULT 0,
            last_error     TEXT,
            next_retry_utc TEXT,
            updated_at     TEXT NOT NULL,
            PRIMARY KEY (marketplace_id, hour_utc)
        ) WITHOUT ROWID""")
    conn.execute("CREATE INDEX ix_ledger_status ON vendor_rt_sales_hour_ledger "
                 "(marketplace_id, status, hour_utc)")
    conn.execute("CREATE INDEX ix_ledger_report ON vendor_rt_sales_hour_ledger (report_id) "
                 "WHERE report_id IS NOT NULL")
    conn.execute("""
        CREATE TABLE vendor_rt_sales_worker_lock (
            marketplace_id TEXT PRIMARY KEY,
            owner          TEXT NOT NULL,
            expires_at     TEXT NOT NULL
        )""")
    conn.execute("""
        CREATE TABLE api_cooldowns (
            api              TEXT PRIMARY KEY,
            reason           TEXT NOT NULL,
            until_utc        TEXT NOT NULL,
            consecutive_hits INTEGER NOT NULL DEFAULT 0,
            updated_at       TEXT NOT NULL
        )""")
    conn.execute("""
        CREATE TABLE api_rate_buckets (
            operation  TEXT PRIMARY KEY,
            tokens     REAL NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    conn.execute("""
        CREATE TABLE rtsales_state (
            key        TEXT PRIMARY KEY,
            value      TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")


def _m002_engine(conn: sqlite3.Connection) -> None:
    # window_cap: the largest window this hour may be requested in (halved after a
    # too-large or FATAL window). audit_run_id: the audit that re-opened the hour.
    conn.execute("ALTER TABLE vendor_rt_sales_hour_ledger ADD COLUMN window_cap INTEGER")
    conn.execute("ALTER TABLE vendor_rt_sales_hour_ledger ADD COLUMN audit_run_id INTEGER")
    # A downloaded document waits here (gzip bytes) until it is applied, so a crash
    # between download and apply costs no second getReportDocument call.
    conn.execute("""
        CREATE TABLE vendor_rt_sales_documents (
            report_id      TEXT PRIMARY KEY,
            marketplace_id TEXT NOT NULL,
            body           BLOB NOT NULL,
            downloaded_at  TEXT NOT NULL
        )""")
    conn.execute("""
        CREATE TABLE vendor_rt_sales_audit_runs (
            id              INTEGER PRIMARY KEY,
            kind            TEXT NOT NULL,
            marketplace_id  TEXT NOT NULL,
            started_at      TEXT NOT NULL,
            finished_at     TEXT,
            hours           INTEGER NOT NULL,
            hours_changed   INTEGER NOT NULL DEFAULT 0,
            units_delta     INTEGER NOT NULL DEFAULT 0,
            revenue_delta   REAL NOT NULL DEFAULT 0
        )""")
    conn.execute("CREATE INDEX ix_audit_runs_kind ON vendor_rt_sales_audit_runs "
                 "(marketplace_id, kind, started_at)")


def _m003_xai(conn: sqlite3.Connection) -> None:
    # One row per UTC day: the daily cap, tokens spent, and cache hit/miss counters.
    conn.execute("""
        CREATE TABLE xai_daily_usage (
            day_utc           TEXT PRIMARY KEY,
            calls             INTEGER NOT NULL DEFAULT 0 CHECK (calls >= 0),
            prompt_tokens     INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            reasoning_tokens  INTEGER NOT NULL DEFAULT 0,
            cache_hits        INTEGER NOT NULL DEFAULT 0,
            cache_misses      INTEGER NOT NULL DEFAULT 0,
            fallbacks         INTEGER NOT NULL DEFAULT 0,
            updated_at        TEXT NOT NULL
        )""")
    conn.execute("""
        CREATE TABLE xai_answer_cache (
            cache_key  TEXT PRIMARY KEY,
            question   TEXT NOT NULL,
            answer     TEXT NOT NULL,
            model      TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""")


def _m004_keepa(conn: sqlite3.Connection) -> None:
    # One row: the last token status Keepa reported, the base of every projection.
    conn.execute("""
        CREATE TABLE keepa_token_status (
            id                   INTEGER PRIMARY KEY CHECK (id = 1),
            tokens_left          INTEGER NOT NULL,
            refill_in_ms         INTEGER NOT NULL,
            refill_rate          INTEGER NOT NULL,
            token_flow_reduction REAL NOT NULL,
            tokens_consumed      INTEGER NOT NULL,
            server_timestamp_ms  INTEGER,
            observed_at          TEXT NOT NULL
        )""")
    conn.execute("""
        CREATE TABLE keepa_products (
            domain_id  INTEGER NOT NULL,
            asin       TEXT NOT NULL,
            title      TEXT,
            sales_rank INTEGER,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (domain_id, asin)
        ) WITHOUT ROWID""")


_LEDGER_V5 = """
    CREATE TABLE vendor_rt_sales_hour_ledger (
        marketplace_id TEXT NOT NULL,
        hour_utc       TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN
                           ('MISSING','REQUESTED','DOWNLOADED','APPLIED','FAILED','UNAVAILABLE')),
        report_id      TEXT,
        attempts       INTEGER NOT NULL DEFAULT 0,
        last_error     TEXT,
        next_retry_utc TEXT,
        updated_at     TEXT NOT NULL,
        window_cap     INTEGER,
        audit_run_id   INTEGER,
        data_state     TEXT NOT NULL DEFAULT 'none' CHECK (data_state IN ('none','provisional','final')),
        inconclusive   INTEGER NOT NULL DEFAULT 0,
        requested_at   TEXT,
        PRIMARY KEY (marketplace_id, hour_utc)
    ) WITHOUT ROWID"""


def _m005_amazon_answers(conn: sqlite3.Connection) -> None:
    # UNAVAILABLE: older than Amazon serves, never retried. data_state: what the hour's rows
    # are worth (provisional until a fetch made after the hour settled). inconclusive: the
    # last re-fetch came back CANCELLED and the stored rows were kept. requested_at: when the
    # current report was created (decides whether its answer is final).
    # SQLite cannot alter a CHECK constraint: rebuild the table, keeping every row.
    conn.execute("ALTER TABLE vendor_rt_sales_hour_ledger RENAME TO ledger_v4")
    conn.execute(_LEDGER_V5)
    conn.execute("""
        INSERT INTO vendor_rt_sales_hour_ledger (marketplace_id, hour_utc, status, report_id, attempts,
            last_error, next_retry_utc, updated_at, window_cap, audit_run_id, data_state)
        SELECT l.marketplace_id, l.hour_utc, l.status, l.report_id, l.attempts, l.last_error,
            l.next_retry_utc, l.updated_at, l.window_cap, l.audit_run_id,
            CASE WHEN l.status = 'APPLIED' OR EXISTS (SELECT 1 FROM vendor_realtime_sales s
                      WHERE s.marketplace_id = l.marketplace_id AND s.hour_utc = l.hour_utc)
                 THEN 'provisional' ELSE 'none' END
        FROM ledger_v4 l""")
    conn.execute("DROP TABLE ledger_v4")
    conn.execute("CREATE INDEX ix_ledger_status ON vendor_rt_sales_hour_ledger "
                 "(marketplace_id, status, hour_utc)")
    conn.execute("CREATE INDEX ix_ledger_report ON vendor_rt_sales_hour_ledger (report_id) "
                 "WHERE report_id IS NOT NULL")
    # Readers ask "the newest hour held" and "how many may still change" on every status: an index
    # answers both without walking a marketplace's year of hours.
    conn.execute("CREATE INDEX ix_ledger_data ON vendor_rt_sales_hour_ledger (marketplace_id, data_state, hour_utc)")
    conn.execute("CREATE INDEX ix_ledger_inconclusive ON vendor_rt_sales_hour_ledger (marketplace_id) "
                 "WHERE inconclusive = 1")
    conn.execute("ALTER TABLE vendor_rt_sales_audit_runs ADD COLUMN hours_inconclusive INTEGER NOT NULL DEFAULT 0")


def mark_as_rtsales(conn: sqlite3.Connection) -> None:
    """Say in the file that it is rtsales's: PRAGMA application_id and a one-row marker table.

    Older rtsales files get it on their next open. created_at is SQLite's clock, not the
    injected Clock (migrations have none); nothing reads it, it is for a person looking."""
    conn.execute("""
        CREATE TABLE IF NOT EXISTS rtsales_meta (
            id          INTEGER PRIMARY KEY CHECK (id = 1),
            application TEXT NOT NULL,
            created_at  TEXT NOT NULL
        )""")
    conn.execute("INSERT OR IGNORE INTO rtsales_meta VALUES (1, 'rtsales', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # transactional: rolled back with the rest


def _m007_run_history(conn: sqlite3.Connection) -> None:
    # One row per sync, audit or fill-day run: inserted when it starts, completed when it ends,
    # so a run that died keeps ended_at NULL. calls: JSON {operation: requests}. Kept 30 days.
    conn.execute("""
        CREATE TABLE rtsales_runs (
            id            INTEGER PRIMARY KEY,
            command       TEXT NOT NULL,
            owner         TEXT NOT NULL,
            started_at    TEXT NOT NULL,
            ended_at      TEXT,
            outcome       TEXT,
            exit_code     INTEGER,
            calls         TEXT NOT NULL DEFAULT '{}',
            http_429      INTEGER NOT NULL DEFAULT 0,
            hours_applied INTEGER NOT NULL DEFAULT 0,
            hours_failed  INTEGER NOT NULL DEFAULT 0,
            error         TEXT
        )""")
    conn.execute("CREATE INDEX ix_runs_started ON rtsales_runs (started_at)")
    conn.execute("CREATE INDEX ix_runs_command ON rtsales_runs (command, started_at)")


def _with_report_kind(ledger: str) -> str:
    """The v5 ledger with report_kind as its first column and the first part of its key."""
    keyed = ledger.replace("marketplace_id TEXT NOT NULL,", "report_kind    TEXT NOT NULL DEFAULT 'sales',\n"
                           "        marketplace_id TEXT NOT NULL,", 1)
    keyed = keyed.replace("PRIMARY KEY (marketplace_id, hour_utc)",
                          "PRIMARY KEY (report_kind, marketplace_id, hour_utc)")
    assert keyed.count("report_kind") == 2, "migration 8 expects migration 5's ledger"
    return keyed


_LEDGER_V8 = _with_report_kind(_LEDGER_V5)
_V5_COLUMNS = ("marketplace_id, hour_utc, status, report_id, attempts, last_error, next_retry_utc, updated_at, "
               "window_cap, audit_run_id, data_state, inconclusive, requested_at")


def _m008_report_kinds(conn: sqlite3.Connection) -> None:
    # The ledger is keyed by (report kind, marketplace, hour); every existing row is a sales row.
    # It keeps its name, so the queries and dashboards users wrote against it keep working.
    # report_kind is the first column: SQLite 3.40's quick_check wrongly reports NULLs in a
    # WITHOUT ROWID table whose primary key starts with its last column.
    # SQLite cannot change a primary key: rebuild the table, keeping every row and column.
    conn.execute("ALTER TABLE vendor_rt_sales_hour_ledger RENAME TO ledger_v7")
    for index in ("ix_ledger_status", "ix_ledger_report", "ix_ledger_data", "ix_ledger_inconclusive"):
        conn.execute(f"DROP INDEX IF EXISTS {index}")
    conn.execute(_LEDGER_V8)
    conn.execute(f"INSERT INTO vendor_rt_sales_hour_ledger ({_V5_COLUMNS}, report_kind) "
                 f"SELECT {_V5_COLUMNS}, 'sales' FROM ledger_v7")
    conn.execute("DROP TABLE ledger_v7")
    conn.execute("CREATE INDEX ix_ledger_status ON vendor_rt_sales_hour_ledger "
                 "(report_kind, marketplace_id, status, hour_utc)")
    conn.execute("CREATE INDEX ix_ledger_report ON vendor_rt_sales_hour_ledger (report_id) "
                 "WHERE report_id IS NOT NULL")
    conn.execute("CREATE INDEX ix_ledger_data ON vendor_rt_sales_hour_ledger "
                 "(report_kind, marketplace_id, data_state, hour_utc)")
    conn.execute("CREATE INDEX ix_ledger_inconclusive ON vendor_rt_sales_hour_ledger (report_kind, marketplace_id) "
                 "WHERE inconclusive = 1")
    conn.execute("CREATE INDEX ix_ledger_audit ON vendor_rt_sales_hour_ledger (audit_run_id) "
                 "WHERE audit_run_id IS NOT NULL")
    # Audit runs: `kind` stays daily/weekly; report_kind says which report they re-fetch.
    conn.execute("ALTER TABLE vendor_rt_sales_audit_runs ADD COLUMN report_kind TEXT NOT NULL DEFAULT 'sales'")
    conn.execute("DROP INDEX ix_audit_runs_kind")
    conn.execute("CREATE INDEX ix_audit_runs_kind ON vendor_rt_sales_audit_runs "
                 "(report_kind, marketplace_id, kind, started_at)")
    # Per-lane state: 'live_refresh:<mp>' and 'max_window_hours:<mp>' become '...:sales:<mp>'.
    for prefix in ("live_refresh:", "max_window_hours:"):
        conn.execute("UPDATE rtsales_state SET key = ? || 'sales:' || substr(key, ?) WHERE key LIKE ? || '%'",
                     [prefix, len(prefix) + 1, prefix])
    for table, column in (("vendor_realtime_traffic", "glance_views"),
                          ("vendor_realtime_inventory", "highly_available_inventory")):
        conn.execute(f"""
            CREATE TABLE {table} (
                marketplace_id TEXT NOT NULL,
                asin           TEXT NOT NULL,
                hour_utc       TEXT NOT NULL,
                {column} INTEGER NOT NULL,
                report_id      TEXT,
                updated_at     TEXT NOT NULL,
                PRIMARY KEY (marketplace_id, hour_utc, asin)
            ) WITHOUT ROWID""")


def _m009_watch_flags(conn: sqlite3.Connection) -> None:
    # What `rtsales watch` has reported: one row per event (marketplace, ASIN, kind, first hour),
    # last_hour moved on while it lasts, so a cron line reports each event once. evidence: the
    # flag as first reported (JSON), for a person asking later what it rested on.
    conn.execute("""
        CREATE TABLE rtsales_watch_flags (
            marketplace_id TEXT NOT NULL,
            asin           TEXT NOT NULL,
            kind           TEXT NOT NULL,
            start_hour     TEXT NOT NULL,
            last_hour      TEXT NOT NULL,
            reported_at    TEXT NOT NULL,
            updated_at     TEXT NOT NULL,
            evidence       TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (marketplace_id, asin, kind, start_hour)
        ) WITHOUT ROWID""")
    conn.execute("CREATE INDEX ix_watch_flags_last ON rtsales_watch_flags (marketplace_id, last_hour)")


MIGRATIONS: list[Migration] = [_m001_core, _m002_engine, _m003_xai, _m004_keepa, _m005_amazon_answers,
                               mark_as_rtsales, _m007_run_history, _m008_report_kinds, _m009_watch_flags]


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def identify(conn: sqlite3.Connection) -> Owner:
    """Whose file this is; reads only, so another application's file is left as it was."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id == APPLICATION_ID:
        return "rtsales"
    names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    if app_id == 0 and _LEGACY_MARK in names:
        return "rtsales"  # made before the marker; mark_as_rtsales stamps it
    if app_id == 0 and not names and schema_version(conn) == 0:
        return "blank"
    return "other"


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT; on any exception ROLLBACK, then the exception itself.

    After SQLITE_FULL or an I/O error SQLite may have rolled back already: a ROLLBACK then
    would fail with "no transaction is active" and hide the real cause."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):  # the first error is the one worth reporting
                conn.execute("ROLLBACK")
        raise


def check_version(conn: sqlite3.Connection) -> int:
    """The file's schema version; a version newer than this code knows is refused."""
    current = schema_version(conn)
    if current > len(MIGRATIONS):
        where = conn.execute("PRAGMA database_list").fetchone()[2]
        raise StoreError(
            f"database {where} has schema version {current}, newer than this rtsales understands "
            f"({len(MIGRATIONS)})",
            hint="upgrade rtsales (pip install -U rtsales) or point --db at another file")
    return current


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; return the number applied."""
    current = check_version(conn)
    applied = 0
    for number, step in enumerate(MIGRATIONS, start=1):
        if number <= current:
            continue
        with immediate(conn):
            if schema_version(conn) < number:  # another process may have won the race
                step(conn)
                conn.execute(f"PRAGMA user_version = {number}")
                applied += 1
    return applied
