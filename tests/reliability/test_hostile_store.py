"""A hostile machine under the store: a full disk mid-apply, another application's SQLite file,
a read-only database that is later made writable, and an empty file made by `touch`.

The commands run for real (the CLI in-process, or as `nobody` in a subprocess where file
permissions must bind); each case checks the one error line and what is left on disk.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rtsales import windows
from rtsales.clock import FrozenClock, iso
from rtsales.simulator import (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, BackgroundServer,
                               Simulator)
from rtsales.store import open_db
from rtsales.store.migrations import APPLICATION_ID, MIGRATIONS, mark_as_rtsales, schema_version
from tests.conftest import CREDS, T0
from tests.reliability.conftest import MP, NOW, assert_one_error_line, files_under, invoke, populate, snapshot


@pytest.fixture
def simulator() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator(seed=3, clock=FrozenClock(T0))
    with BackgroundServer(sim) as server:
        yield sim, server.base_url


def _sim_env(base_url: str, db: Path, **extra: str) -> dict[str, str]:
    return {"LWA_CLIENT_ID": DEFAULT_CLIENT_ID, "LWA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "LWA_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN, "MARKETPLACE_IDS": MP, "SPAPI_ENDPOINT": base_url,
            "LWA_TOKEN_URL": f"{base_url}/auth/o2/token", "RTSALES_DB": str(db), "LOOKBACK_DAYS": "1", **extra}


# -- 1. the disk fills up between download and apply ---------------------------------------------


def _disk_full_before_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    """The download is stashed; then the disk is full: the database may not grow by one page."""
    original = windows.apply_window

    def on_a_full_disk(db: Any, *args: Any, **kwargs: Any) -> Any:
        pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
        db.conn.execute(f"PRAGMA max_page_count = {pages}")
        return original(db, *args, **kwargs)

    monkeypatch.setattr(windows, "apply_window", on_a_full_disk)


def test_disk_full_while_applying_names_the_cause_and_keeps_the_download(
        tmp_path: Path, simulator: tuple[Simulator, str], monkeypatch: pytest.MonkeyPatch) -> None:
    sim, base_url = simulator
    db = tmp_path / "vendor.db"
    assert invoke("sync", env=_sim_env(base_url, db, RTSALES_NOW=NOW)).exit_code == 0  # reports created
    later = T0 + timedelta(minutes=15)
    sim.set_now(later)
    with monkeypatch.context() as patch:
        _disk_full_before_apply(patch)
        full = invoke("sync", env=_sim_env(base_url, db, RTSALES_NOW=iso(later)))
    assert_one_error_line(full, 1, f"database {db}: disk full (free space under {tmp_path})")
    conn = sqlite3.connect(db)
    stashed = [row[0] for row in conn.execute("SELECT report_id FROM vendor_rt_sales_documents")]
    assert len(stashed) == 1
    waiting = conn.execute("SELECT DISTINCT status FROM vendor_rt_sales_hour_ledger WHERE report_id = ?",
                           stashed).fetchall()
    assert waiting == [("DOWNLOADED",)]  # the next run applies the stored document
    conn.close()

    again = invoke("sync", env=_sim_env(base_url, db, RTSALES_NOW=iso(later + timedelta(minutes=15))))
    assert again.exit_code == 0, again.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT DISTINCT status FROM vendor_rt_sales_hour_ledger WHERE report_id = ?",
                        stashed).fetchall() == [("APPLIED",)]
    assert conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_documents WHERE report_id = ?",
                        stashed).fetchone()[0] == 0
    conn.close()


# -- 2. another application's SQLite file ------------------------------------------------------


def _other_app(journal: str, user_version: int = 2, application_id: int = 0) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(f"PRAGMA journal_mode = {journal}")
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('buy milk')")
        conn.execute(f"PRAGMA user_version = {user_version}")
        conn.execute(f"PRAGMA application_id = {application_id}")
        conn.close()
        return path
    return make


@pytest.mark.parametrize("args", [["status"], ["sync"], ["sales"], ["xai", "quota"]], ids=lambda a: "-".join(a))
@pytest.mark.parametrize("make", [
    _other_app("delete"),  # no application_id, user_version 2: migrations 3 and 4 would run on it
    _other_app("wal", user_version=0),
    _other_app("delete", user_version=0, application_id=0x47504B47),  # a GeoPackage
], ids=["rollback-journal-version-2", "wal", "own-application-id"])
def test_another_applications_database_is_refused_and_untouched(tmp_path: Path, make: Callable[[Path], Path],
                                                                args: list[str]) -> None:
    path = make(tmp_path / "other-app.db")
    raw, files = path.read_bytes(), files_under(tmp_path)
    result = invoke(*args, env={**CREDS, "RTSALES_DB": str(path), "RTSALES_NOW": NOW})
    assert_one_error_line(result, 1, f"database {path} is not an rtsales database")
    assert path.read_bytes() == raw  # byte for byte: not migrated, not switched to WAL
    assert files_under(tmp_path) == files  # no -wal or -shm left beside it


def test_database_of_an_older_rtsales_is_recognised_and_stamped(tmp_path: Path) -> None:
    """Files made before rtsales marked its databases: known by their tables, marked on open."""
    path = populate(tmp_path / "old.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE rtsales_meta")
    conn.execute("PRAGMA application_id = 0")
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(mark_as_rtsales)}")
    conn.close()
    before = snapshot(path)
    result = invoke("status", env={**CREDS, "RTSALES_DB": str(path), "RTSALES_NOW": NOW})
    assert result.exit_code == 0, result.stderr
    db = open_db(path)
    assert db.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.conn.execute("SELECT application FROM rtsales_meta").fetchall() == [("rtsales",)]
    assert schema_version(db.conn) == len(MIGRATIONS)
    kept = set(snapshot(path) or ())
    assert {line for line in before or () if line.startswith("INSERT")} <= kept  # every row kept


@pytest.mark.parametrize("blank", ["zero-bytes", "sqlite-without-tables"])
def test_empty_database_is_initialised(tmp_path: Path, blank: str) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    if blank == "sqlite-without-tables":
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA page_size = 4096")
        conn.execute("VACUUM")  # a real, valid SQLite file with a header and no schema
        conn.close()
    db = open_db(path)
    assert db.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert schema_version(db.conn) == len(MIGRATIONS)


# -- 4. an empty file made by `touch` -------------------------------------------------------------


def test_touched_empty_file_ends_private(tmp_path: Path) -> None:
    path = tmp_path / "rtsales.db"
    path.touch()
    path.chmod(0o644)  # what `touch` gives under the usual umask 022
    db = open_db(path)
    db.conn.execute("INSERT INTO rtsales_state VALUES ('k', 'v', 't')")  # the -wal and -shm exist now
    modes = {name: stat.S_IMODE(os.stat(tmp_path / name).st_mode) for name in files_under(tmp_path)}
    assert modes == {"rtsales.db": 0o600, "rtsales.db-shm": 0o600, "rtsales.db-wal": 0o600}
