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
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rtsales.clock import FrozenClock, iso
from rtsales.simulator import (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, BackgroundServer,
                               Simulator)
from rtsales.store import open_db
from rtsales.store.migrations import APPLICATION_ID, MIGRATIONS, mark_as_rtsales, schema_version
from rtsales.sync import windows
from tests.conftest import CREDS, T0
from tests.reliability.conftest import (ERROR_LINE, MP, NOW, assert_one_error_line, files_under, invoke, populate,
                                       snapshot)
from tests.unprivileged import give_away, run_python, shared_directory


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
    conn.execute("DROP TABLE rtsales_runs")  # made by later migrations than the file's version
    for table in ("vendor_realtime_traffic", "vendor_realtime_inventory", "rtsales_watch_flags"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP INDEX ix_audit_runs_kind")
    conn.execute("ALTER TABLE vendor_rt_sales_audit_runs DROP COLUMN report_kind")
    conn.execute("CREATE INDEX ix_audit_runs_kind ON vendor_rt_sales_audit_runs (marketplace_id, kind, started_at)")
    conn.execute("UPDATE rtsales_state SET key = replace(key, ':sales:', ':')")  # the keys before report kinds
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
    renamed = {line.replace("'max_window_hours:", "'max_window_hours:sales:") for line in before or ()}  # migration 8
    assert {line for line in renamed if line.startswith("INSERT")} <= kept  # every row kept


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


# -- 3. a read-only database, then made writable ------------------------------------------------


def _nobody_env(path: Path, base_url: str = "http://127.0.0.1:9") -> dict[str, str]:
    return {**_sim_env(base_url, path), "RTSALES_NOW": NOW}


@contextmanager
def _nobodys_database() -> Iterator[tuple[Path, Path]]:
    """(folder, database): a populated database in its own folder, both belonging to the user
    that `run_python` runs as."""
    with shared_directory() as shared:
        home = shared / "home"
        home.mkdir()
        path = populate(home / "vendor.db")
        give_away(home, path)
        yield home, path


@pytest.mark.parametrize("args", [["status"], ["sales"], ["xai", "quota"]], ids=lambda a: "-".join(a))
def test_reading_a_read_only_database_leaves_nothing_behind(simulator: tuple[Simulator, str],
                                                            args: list[str]) -> None:
    """The owner's file is 0400; reading it must not leave -wal/-shm that break the next sync
    once the owner makes it writable again (chmod 600)."""
    _, base_url = simulator
    with _nobodys_database() as (home, path):
        path.chmod(0o400)
        raw = path.read_bytes()
        done = run_python(["-m", "rtsales", *args], cwd=home, env=_nobody_env(path))
        assert done.returncode == 0, done.stderr
        assert files_under(home) == ["vendor.db"] and path.read_bytes() == raw
        path.chmod(0o600)
        synced = run_python(["-m", "rtsales", "sync"], cwd=home, env=_nobody_env(path, base_url))
        assert synced.returncode == 0, synced.stderr


def test_read_only_database_with_a_writers_wal_is_read_through_it() -> None:
    """A writer's -wal/-shm beside a read-only file: its committed rows are seen, nothing is created."""
    with shared_directory() as shared:
        path = populate(shared / "vendor.db")
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("INSERT INTO rtsales_state VALUES ('in-the-wal', 'yes', 't')")
        try:
            give_away(shared, *(p for p in shared.iterdir()))
            path.chmod(0o400)
            files = files_under(shared)
            assert {"vendor.db-wal", "vendor.db-shm"} <= set(files)
            done = run_python(["-c", "from rtsales.store import open_db\n"
                                     "db = open_db('vendor.db')\n"
                                     "print(db.conn.execute(\"SELECT value FROM rtsales_state "
                                     "WHERE key = 'in-the-wal'\").fetchone()[0])"], cwd=shared)
            assert done.stdout.strip() == "yes", done.stderr
            assert files_under(shared) == files
        finally:
            writer.close()


def test_read_only_database_with_an_orphaned_wal_is_refused_not_misread(tmp_path: Path) -> None:
    """Committed rows in a -wal with no -shm: reading them would need a -shm we could not
    remove, and reading the file alone would miss them. Refused, naming both files."""
    source = populate(tmp_path / "source.db")
    writer = sqlite3.connect(source, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO rtsales_state VALUES ('in-the-wal', 'yes', 't')")
    with _nobodys_database() as (home, path):
        path.write_bytes(source.read_bytes())
        Path(f"{path}-wal").write_bytes(Path(f"{source}-wal").read_bytes())
        writer.close()
        give_away(home, path, Path(f"{path}-wal"))
        path.chmod(0o400)
        files = files_under(home)
        done = run_python(["-m", "rtsales", "status"], cwd=home, env=_nobody_env(path))
        assert done.returncode == 1 and ERROR_LINE.fullmatch(done.stderr), done.stderr
        assert f"database {path} is read-only" in done.stderr and f"{path}-wal" in done.stderr
        assert files_under(home) == files


def _leave_read_only_sidecars(home: Path, path: Path) -> None:
    """What an older rtsales `status` left: -wal and -shm with the read-only file's mode 0400."""
    path.chmod(0o400)
    done = run_python(["-c", "import sqlite3\nconn = sqlite3.connect('vendor.db')\n"
                             "conn.execute('SELECT * FROM sqlite_master').fetchall()\nconn.close()"], cwd=home)
    assert done.returncode == 0, done.stderr
    path.chmod(0o600)


def _leave_sidecars_of_another_user(home: Path, path: Path) -> None:
    """-wal and -shm that belong to someone else (as root: root's; as a user: unreadable)."""
    for sidecar in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        sidecar.write_bytes(b"")
        sidecar.chmod(0o600 if os.geteuid() == 0 else 0)


@pytest.mark.parametrize("leave", [_leave_read_only_sidecars, _leave_sidecars_of_another_user],
                         ids=["read-only", "another-owner"])
def test_permission_error_names_every_file_to_fix(simulator: tuple[Simulator, str],
                                                  leave: Callable[[Path, Path], None]) -> None:
    """-wal/-shm the owner cannot use beside a database made writable again (chmod 600): the
    error names the database and each of them, not only the database."""
    _, base_url = simulator
    with _nobodys_database() as (home, path):
        leave(home, path)
        assert files_under(home) == ["vendor.db", "vendor.db-shm", "vendor.db-wal"]
        done = run_python(["-m", "rtsales", "sync"], cwd=home, env=_nobody_env(path, base_url))
        assert done.returncode == 1, done.stderr
        assert ERROR_LINE.fullmatch(done.stderr), done.stderr
        assert f"database {path} " in done.stderr and "writable" in done.stderr
        for name in (path, f"{path}-wal", f"{path}-shm"):
            assert str(name) in done.stderr, (name, done.stderr)


# -- 4. an empty file made by `touch` -------------------------------------------------------------


def test_touched_empty_file_ends_private(tmp_path: Path) -> None:
    path = tmp_path / "rtsales.db"
    path.touch()
    path.chmod(0o644)  # what `touch` gives under the usual umask 022
    db = open_db(path)
    db.conn.execute("INSERT INTO rtsales_state VALUES ('k', 'v', 't')")  # the -wal and -shm exist now
    modes = {name: stat.S_IMODE(os.stat(tmp_path / name).st_mode) for name in files_under(tmp_path)}
    assert modes == {"rtsales.db": 0o600, "rtsales.db-shm": 0o600, "rtsales.db-wal": 0o600}
