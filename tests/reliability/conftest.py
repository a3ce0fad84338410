"""Helpers of the bad-input and secrets suite: run the real CLI, check the one error line,
and snapshot a database to show that a refused command left it exactly as it was."""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from rtsales.cli import app
from rtsales.clock import floor_hour, iso
from rtsales.store import open_db, transaction
from rtsales.sync.ledger import seed
from tests.conftest import CREDS, STAMP, T0

runner = CliRunner()
MP = "ATVPDKIKX0DER"
NOW = iso(T0)  # 2026-03-10T12:07:00Z
# `error: <what is wrong> (<how to fix it>)` and nothing else on stderr (stamped with its time off a terminal).
ERROR_LINE = re.compile(rf"(?:{STAMP})?error: (?P<message>\S.*) \((?P<hint>.+)\)\n")
_SQLITE_MAGIC = b"SQLite format 3\x00"

Snapshot = tuple[str, ...] | bytes | None


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """The real CLI in-process; `env` is added to the (cleaned) environment for this call."""
    return runner.invoke(app, list(args), env=env)


def assert_one_error_line(result: Result, exit_code: int, *fragments: str) -> str:
    """Exit code as documented, exactly one `error: message (hint)` line naming the problem."""
    assert result.exit_code == exit_code, (result.exit_code, result.stderr, result.stdout)
    match = ERROR_LINE.fullmatch(result.stderr)
    assert match, f"stderr is not one 'error: message (hint)' line: {result.stderr!r}"
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    return result.stderr


def snapshot(path: Path) -> Snapshot:
    """What a database holds, row by row (iterdump); raw bytes for a file that is not SQLite;
    the names inside a directory; None when nothing is there."""
    if not path.exists():
        return None
    if path.is_dir():
        return tuple(sorted(p.name for p in path.iterdir()))
    raw = path.read_bytes()
    if not raw.startswith(_SQLITE_MAGIC):
        return raw
    # Read a copy (with its -wal, if any): even a read-only connection would leave -wal and
    # -shm files of ours next to the original, which another user then cannot open.
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "copy.db"
        shutil.copyfile(path, copy)
        if Path(f"{path}-wal").exists():
            shutil.copyfile(f"{path}-wal", f"{copy}-wal")
        conn = sqlite3.connect(copy)
        try:
            return tuple(conn.iterdump())
        finally:
            conn.close()


def files_under(root: Path) -> list[str]:
    """Every path below `root`, to show that a refused command created nothing."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def populate(path: Path) -> Path:
    """A database a vendor could have: two days of ledger, sales rows, a FAILED hour, state."""
    db = open_db(path)
    with transaction(db) as conn:
        seed(conn, MP, T0, floor_hour(T0 - timedelta(days=2)), timedelta(minutes=90), kind="sales")
        conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'APPLIED', report_id = 'r1', data_state = 'final'")
        conn.execute("UPDATE vendor_rt_sales_hour_ledger SET status = 'FAILED', last_error = 'report r2 FATAL', "
                     "next_retry_utc = ? WHERE hour_utc = '2026-03-10T09:00:00Z'", [iso(T0 + timedelta(hours=1))])
        conn.executemany("INSERT INTO vendor_realtime_sales VALUES (?, ?, ?, ?, ?, 'USD', 'r1', ?)",
                         [(MP, f"B00000000{n}", f"2026-03-10T0{n}:00:00Z", n, n * 9.99, NOW) for n in range(1, 8)])
        conn.execute("INSERT INTO rtsales_state VALUES ('max_window_hours:sales:ATVPDKIKX0DER', '12', ?)", [NOW])
    db.conn.close()
    return path


@pytest.fixture
def vendor_db(tmp_path: Path) -> Path:
    return populate(tmp_path / "vendor.db")


@pytest.fixture
def vendor_env(vendor_db: Path) -> dict[str, str]:
    """Complete, valid settings pointing at `vendor_db`; each case breaks one thing."""
    return {**CREDS, "RTSALES_DB": str(vendor_db), "RTSALES_NOW": NOW}
