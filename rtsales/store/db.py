"""Opening the database: file checks, whose file it is, mode 0600, WAL, busy timeout, migrations.

Every command opens the store through `open_db`. Writes that must be atomic use
`transaction()` (BEGIN IMMEDIATE) on the raw connection; sqlite-utils serves
reads and simple inserts through the same connection.

A file this user may not write (or in a folder it may not write) is opened read-only so
that SQLite creates no -wal / -shm beside it: they would get the file's read-only mode,
outlive the command and make the owner's next write fail once the file is writable again.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlite_utils import Database

from rtsales.errors import DatabaseBusyError, StoreError
from rtsales.store.migrations import MIGRATIONS, check_version, identify, immediate, migrate

BUSY_TIMEOUT_MS = 5000
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_path(path: Path) -> bool:
    """Refuse paths that cannot hold our database; return True if the file is new."""
    where = f"database {path}"
    if path.is_dir():
        raise StoreError(f"{where} is a directory, not a file",
                         hint="point --db or RTSALES_DB at a file path")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise StoreError(f"{where}: directory {parent} does not exist",
                         hint=f"create it (mkdir -p {parent}) or choose another --db / RTSALES_DB")
    if not path.exists():
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise StoreError(f"{where} cannot be read: {exc.strerror}",
                         hint="check the file's owner and permissions") from None
    if head and head != _SQLITE_MAGIC:
        raise StoreError(f"{where} is not a SQLite database",
                         hint="choose another --db / RTSALES_DB; rtsales will not overwrite it")
    return False


def _create_private(path: Path) -> None:
    # Create the file ourselves so it is 0600 from the first byte, whatever the umask.
    # SQLite gives the -wal and -shm files the mode of the database file.
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(f"cannot create database {path}: {exc.strerror}",
                         hint="check that the directory is writable") from None
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _make_private(path: Path) -> None:
    # A blank file someone else made (`touch rtsales.db`, umask 022) is about to hold our
    # data: 0600 first, before WAL mode creates the -wal and -shm with its mode.
    try:
        os.chmod(path, 0o600)
    except OSError as exc:
        raise StoreError(f"database {path} cannot be made private (0600): {exc.strerror}",
                         hint="make the file yours (chown) or remove it and run again") from None


def _sidecars(path: Path) -> tuple[Path, Path]:
    return Path(f"{path}-wal"), Path(f"{path}-shm")


def _folder(path: Path) -> Path:
    return Path(os.path.abspath(path)).parent


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(_folder(path), os.W_OK)


def _read_only_uri(path: Path) -> str:
    """Through a writer's existing -wal and -shm (mode=ro), or, with no WAL to read, the file
    alone (immutable): either way SQLite creates no file. Immutable takes no locks, so a
    writer that starts meanwhile is not seen: acceptable for a read-only command's snapshot."""
    wal, shm = _sidecars(path)
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    if wal.exists() and shm.exists():
        return uri
    if wal.exists() and wal.stat().st_size > 0:  # committed rows wait there; reading them needs a -shm
        raise permission_error(path, "is read-only")
    return f"{uri}&immutable=1"


def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    target = _read_only_uri(path) if read_only else str(path)
    return sqlite3.connect(target, uri=read_only, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)


def _prepare(conn: sqlite3.Connection, path: Path, read_only: bool) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    owner = identify(conn)  # before any write: another application's file is left as it was
    if owner == "other":
        raise StoreError(f"database {path} is not an rtsales database (another application's SQLite file)",
                         hint="choose another --db / RTSALES_DB; rtsales will not change it")
    current = check_version(conn)  # before WAL: switching journal mode rewrites the header
    if read_only:
        if current < len(MIGRATIONS):  # its schema must be brought up to date: a write
            raise permission_error(path, "is read-only")
        return
    if owner == "blank":
        _make_private(path)
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    migrate(conn)


def open_db(path: Path, *, create: bool = True) -> Database:
    """Open (creating if needed, unless `create` is False) and migrate the database at `path`;
    read-only if it must be."""
    path = Path(path)
    if not create and not path.exists():
        raise StoreError(f"database {path} does not exist",
                         hint="point --db or RTSALES_DB at your database, or run `rtsales sync` first to create it")
    if _check_path(path):
        _create_private(path)
    read_only = not _writable(path)
    conn: sqlite3.Connection | None = None
    try:
        conn = _connect(path, read_only)
        _prepare(conn, path, read_only)
    except BaseException as exc:
        if conn is not None:
            conn.close()  # a refused file keeps no -wal / -shm of ours beside it
        if isinstance(exc, sqlite3.DatabaseError):
            raise _store_error(path, exc) from None
        raise
    return Database(conn)


def connect_read_only(path: Path) -> sqlite3.Connection:
    """The file as it is, for a look (`rtsales doctor`): nothing created, migrated or left beside it."""
    conn = _connect(Path(path), read_only=True)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def database_problem(path: Path, exc: sqlite3.DatabaseError) -> StoreError | None:
    """The user-fixable trouble behind a SQLite error, or None for anything else (a bug)."""
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return permission_error(path, "is read-only")
    if "unable to open" in text:  # the folder exists (checked on open): its -wal or -shm cannot be
        return permission_error(path, "cannot be opened")
    if "locked" in text or "busy" in text:
        # Nothing was written (the transaction never began or was rolled back): like a busy
        # worker lock, a temporary refusal that the next cron run retries (exit 75).
        return DatabaseBusyError(f"database {path} is locked by another process "
                                 f"(waited {BUSY_TIMEOUT_MS / 1000:g} s)",
                                 hint="another rtsales or a sqlite3 shell is writing; cron will try again")
    if "not a database" in text or "malformed" in text:
        return StoreError(f"database {path} is not a valid SQLite database",
                          hint="choose another --db / RTSALES_DB; rtsales will not overwrite it")
    if "disk is full" in text:
        return StoreError(f"database {path}: disk full", hint=f"free space under {_folder(path)}")
    if "disk I/O error" in text:
        return StoreError(f"database {path}: disk I/O error", hint="check the disk and its file system")
    return None


def permission_error(path: Path, problem: str) -> StoreError:
    """Name every file to fix: SQLite's -wal and -shm need the same access as the database."""
    files = [str(path), *(str(p) for p in _sidecars(path) if p.exists())]
    return StoreError(f"database {path} {problem}",
                      hint=f"make {', '.join(files)} and the folder {_folder(path)} writable by this user")


def _store_error(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    return database_problem(path, exc) or StoreError(f"database {path}: {exc}")


@contextmanager
def transaction(db: Database) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception; a full disk, a read-only file or
    a lock held too long is re-raised as the StoreError that names it."""
    try:
        with immediate(db.conn) as conn:
            yield conn
    except sqlite3.DatabaseError as exc:
        problem = database_problem(Path(db_path(db)), exc)
        if problem is None:
            raise
        raise problem from exc


def db_path(db: Database) -> str:
    row = db.conn.execute("PRAGMA database_list").fetchone()
    return row[2] if row else "?"
