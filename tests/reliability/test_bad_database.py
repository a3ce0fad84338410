"""Bad database paths and files: one `error: ... (hint)` line, the documented exit code, and
the file (or its absence) exactly as it was.

Already proven at the store level, not repeated here: tests/test_store.py (a missing
directory is not created, a directory, a non-SQLite file and a newer schema are
refused and left byte for byte, a lock held past the busy timeout is a clear StoreError).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

import rtsales.store.db as store_db
from rtsales.store.migrations import MIGRATIONS
from tests.conftest import CREDS
from tests.reliability.conftest import (ERROR_LINE, NOW, assert_one_error_line, files_under, invoke, populate,
                                       snapshot)
from tests.unprivileged import give_away, run_python, shared_directory

COMMANDS = [["sync"], ["status"], ["fill-day", "2026-03-09"], ["xai", "quota"]]


def _missing_directory(tmp_path: Path) -> Path:
    return tmp_path / "no-such-dir" / "rtsales.db"


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "a-dir" / "keep.txt").write_text("mine\n")
    return tmp_path / "a-dir"


def _not_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "notes.db"
    path.write_text("my notes, not a database\n")
    return path


def _newer_schema(tmp_path: Path) -> Path:
    path = populate(tmp_path / "future.db")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    return path


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: "-".join(a))
@pytest.mark.parametrize(("make", "fragments"), [
    (_missing_directory, ["directory", "does not exist", "mkdir -p"]),
    (_directory, ["is a directory, not a file", "--db"]),
    (_not_sqlite, ["is not a SQLite database", "will not overwrite"]),
    (_newer_schema, [f"schema version {len(MIGRATIONS) + 1}, newer", "upgrade rtsales"]),
], ids=["missing-directory", "directory", "not-sqlite", "newer-schema"])
def test_unusable_database_path(tmp_path: Path, httpx_mock: HTTPXMock, make: Callable[[Path], Path],
                                fragments: list[str], args: list[str]) -> None:
    path = make(tmp_path)
    if make is _missing_directory and args[0] in ("status", "xai"):  # a reader creates neither: it names the fix
        fragments = ["does not exist", "--db", "rtsales sync"]
    before, raw, files = snapshot(path), path.read_bytes() if path.is_file() else None, files_under(tmp_path)
    result = invoke(*args, env={**CREDS, "RTSALES_DB": str(path), "RTSALES_NOW": NOW})
    assert_one_error_line(result, 1, f"database {path}", *fragments)
    assert snapshot(path) == before
    assert (path.read_bytes() if path.is_file() else None) == raw
    assert files_under(tmp_path) == files  # no directory, database, -wal or -shm created
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize("writable_directory", [True, False], ids=["read-only-file", "read-only-directory"])
@pytest.mark.parametrize("args", [["sync"], ["xai", "ask", "Is this a textbook?", "--title", "Calculus"]],
                         ids=["sync", "xai-ask"])
def test_read_only_database(writable_directory: bool, args: list[str]) -> None:
    """As root, permissions bind only another user: the command runs as `nobody` there."""
    with shared_directory() as shared:
        home = shared / "home"
        home.mkdir()
        path = populate(home / "vendor.db")
        before, raw = snapshot(path), path.read_bytes()
        if writable_directory:
            give_away(home, path)  # their own directory and file; the file made read-only
            path.chmod(0o400)
        else:
            path.chmod(0o444)
            home.chmod(0o555)  # as root this is root's directory: nobody may only read it
        env = {**CREDS, "RTSALES_DB": str(path), "RTSALES_NOW": NOW, "XAI_API_KEY": "xai-not-used-123",
               "SPAPI_ENDPOINT": "http://127.0.0.1:9", "LWA_TOKEN_URL": "http://127.0.0.1:9/auth/o2/token",
               "XAI_API_URL": "http://127.0.0.1:9/v1"}  # nothing must be sent; if it were, it goes nowhere
        done = run_python(["-m", "rtsales", *args], cwd=shared, env=env)
        home.chmod(0o755)
        assert done.returncode == 1, (done.returncode, done.stderr)
        assert ERROR_LINE.fullmatch(done.stderr), done.stderr
        assert f"database {path} is read-only" in done.stderr and "writable" in done.stderr
        assert path.read_bytes() == raw and snapshot(path) == before


@pytest.mark.parametrize("args", [["sync"], ["fill-day", "2026-03-09"], ["audit", "daily"]],
                         ids=lambda a: "-".join(a))
def test_database_locked_past_the_busy_timeout(vendor_db: Path, vendor_env: dict[str, str], httpx_mock: HTTPXMock,
                                              monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    """Exit 75, not 1: nothing was written and the next cron run simply tries again, exactly
    like a busy worker lock (README: 75 = skipped because of a cooldown or a busy lock)."""
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 50)
    before = snapshot(vendor_db)
    holder = sqlite3.connect(vendor_db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer that keeps the write lock
    try:
        result = invoke(*args, env=vendor_env)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_one_error_line(result, 75, f"database {vendor_db} is locked by another process", "cron will try again")
    assert snapshot(vendor_db) == before
    assert httpx_mock.get_requests() == []
