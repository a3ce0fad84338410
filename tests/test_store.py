"""The store: file checks, permissions, pragmas, numbered migrations."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from rtsales.errors import StoreError
from rtsales.store import open_db, transaction
from rtsales.store.migrations import APPLICATION_ID, MIGRATIONS, migrate, schema_version
from tests.unprivileged import give_away, run_python, shared_directory

TABLES = {"vendor_realtime_sales", "vendor_rt_sales_hour_ledger", "vendor_rt_sales_worker_lock",
          "api_cooldowns", "api_rate_buckets", "rtsales_state"}


def test_new_database_is_private_wal_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    db = open_db(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 3000
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert TABLES <= set(db.table_names())
    assert schema_version(db.conn) == len(MIGRATIONS)


def test_migrations_are_idempotent_and_keep_data(tmp_path: Path) -> None:
    path = tmp_path / "twice.db"
    db = open_db(path)
    db.conn.execute("INSERT INTO rtsales_state VALUES ('k', 'v', 'now')")
    db.conn.close()
    again = open_db(path)
    assert migrate(again.conn) == 0
    assert again.conn.execute("SELECT value FROM rtsales_state").fetchone()[0] == "v"


def test_older_file_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()  # an empty SQLite file: version 0
    db = open_db(path)
    assert schema_version(db.conn) == len(MIGRATIONS)


def test_sales_rows_are_unique_per_marketplace_asin_hour(tmp_path: Path) -> None:
    db = open_db(tmp_path / "u.db")
    row = ("ATVPDKIKX0DER", "B000000001", "2026-01-01T00:00:00Z", 1, 1.5, "USD", "r1", "t")
    db.conn.execute("INSERT INTO vendor_realtime_sales VALUES (?,?,?,?,?,?,?,?)", row)
    with pytest.raises(sqlite3.IntegrityError):
        db.conn.execute("INSERT INTO vendor_realtime_sales VALUES (?,?,?,?,?,?,?,?)", row)


def test_ledger_rejects_unknown_status(tmp_path: Path) -> None:
    db = open_db(tmp_path / "s.db")
    with pytest.raises(sqlite3.IntegrityError):
        db.conn.execute("INSERT INTO vendor_rt_sales_hour_ledger (marketplace_id, hour_utc, status, "
                        "updated_at) VALUES ('M', 'h', 'DONE', 't')")


def test_newer_schema_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # a newer rtsales marks its files too
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer than this rtsales"):
        open_db(path)
    assert path.read_bytes() == before


def test_not_a_sqlite_file_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n")
    with pytest.raises(StoreError, match="not a SQLite database"):
        open_db(path)
    assert path.read_text() == "these are my notes, not a database\n"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        open_db(tmp_path)


def test_missing_directory_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        open_db(tmp_path / "missing" / "x.db")
    assert not (tmp_path / "missing").exists()


def test_read_only_file() -> None:
    # Root writes through chmod: the open runs as an unprivileged user in a subprocess.
    with shared_directory() as shared:
        path = shared / "ro.db"
        sqlite3.connect(path).close()  # version 0: opening it must migrate, i.e. write
        give_away(shared, path)
        path.chmod(0o400)
        done = run_python(["-c", "from rtsales.errors import StoreError\nfrom rtsales.store import open_db\n"
                                 "try:\n    open_db('ro.db')\nexcept StoreError as exc:\n    print(exc.message)"],
                          cwd=shared)
        assert done.stdout.strip() == "database ro.db is read-only", done.stderr
        assert schema_version(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) == 0


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    db = open_db(tmp_path / "t.db")
    with pytest.raises(RuntimeError), transaction(db) as conn:
        conn.execute("INSERT INTO rtsales_state VALUES ('a', 'b', 'c')")
        raise RuntimeError("boom")
    assert db.conn.execute("SELECT COUNT(*) FROM rtsales_state").fetchone()[0] == 0


def test_locked_database_gives_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rtsales.store.db as dbmod
    path = tmp_path / "busy.db"
    open_db(path).conn.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_MS", 50)
    db = open_db(path)
    db.conn.execute("PRAGMA busy_timeout = 50")
    with pytest.raises(StoreError, match="locked by another process"), transaction(db):
        pass
    holder.execute("ROLLBACK")


def test_disk_full_mid_transaction_is_named_not_hidden_by_the_rollback(tmp_path: Path) -> None:
    """SQLite rolls back by itself on SQLITE_FULL; our ROLLBACK must not replace the cause."""
    db = open_db(tmp_path / "full.db")
    db.conn.execute("INSERT INTO rtsales_state VALUES ('kept', 'v', 't')")
    pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
    db.conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full: not one more page
    with pytest.raises(StoreError) as raised, transaction(db) as conn:
        conn.execute("DELETE FROM rtsales_state")
        conn.executemany("INSERT INTO rtsales_state VALUES (?, ?, 't')", ((f"k{n}", "x" * 500) for n in range(500)))
    assert raised.value.message == f"database {tmp_path / 'full.db'}: disk full"
    assert raised.value.hint == f"free space under {tmp_path}"
    assert not db.conn.in_transaction
    assert db.conn.execute("SELECT key FROM rtsales_state").fetchall() == [("kept",)]
