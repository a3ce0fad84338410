"""A hostile machine under the store: a full disk mid-apply, another application's SQLite file,
a read-only database that is later made writable, and an empty file made by `touch`.

The commands run for real (the CLI in-process, or as `nobody` in a subprocess where file
permissions must bind); each case checks the one error line and what is left on disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rtsales import windows
from rtsales.clock import FrozenClock, iso
from rtsales.simulator import (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, BackgroundServer,
                               Simulator)
from tests.conftest import T0
from tests.reliability.conftest import MP, NOW, assert_one_error_line, invoke


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
