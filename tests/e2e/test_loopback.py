"""The real `rtsales sync` process against `rtsales simulator` over loopback sockets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from rtsales.amazon.client import SpApiClient
from rtsales.clock import FrozenClock, iso, parse_instant
from rtsales.simulator import (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, BackgroundServer,
                               Faults, Simulator)
from rtsales.store import open_db
from tests.conftest import at
from tests.e2e.conftest import START, US


def _env(base_url: str, db: Path, now: datetime) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {**keep, "LWA_CLIENT_ID": DEFAULT_CLIENT_ID, "LWA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "LWA_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN, "MARKETPLACE_IDS": US, "SPAPI_ENDPOINT": base_url,
            "LWA_TOKEN_URL": f"{base_url}/auth/o2/token", "RTSALES_DB": str(db), "RTSALES_NOW": iso(now)}


def _sync(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rtsales", "sync", "--json"], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


def test_client_calls_over_loopback(tmp_path: Path) -> None:
    from rtsales.config import load_settings
    clock = FrozenClock(START)
    sim = Simulator(seed=5, clock=clock)
    with BackgroundServer(sim) as server:
        settings = load_settings(environ=_env(server.base_url, tmp_path / "x.db", START))
        client = SpApiClient(settings, clock)
        start = at("2026-03-10T06:00:00Z")
        report_id = client.create_report(US, start, start + timedelta(hours=3))
        assert client.get_report(report_id).status == "IN_QUEUE"
        clock.advance(timedelta(minutes=2))
        info = client.get_report(report_id)
        assert info.status == "DONE" and info.document_id
        document = json.loads(client.download(client.get_report_document(info.document_id)))
        assert document["reportSpecification"]["dataStartTime"] == "2026-03-10T06:00:00Z"
        assert client.calls == {"createReport": 1, "getReport": 2, "getReportDocument": 1, "download": 1}


def test_sync_processes_fill_ledger_and_honour_cooldown(tmp_path: Path) -> None:
    clock = FrozenClock(START)
    sim = Simulator(seed=5, clock=clock)
    db = tmp_path / "loop.db"
    with BackgroundServer(sim) as server:
        first = _sync(_env(server.base_url, db, clock.now()), tmp_path)
        assert first.returncode == 0, first.stderr
        assert sum(m["tally"]["reports_created"] for m in json.loads(first.stdout)["marketplaces"]) == 7
        clock.advance(timedelta(minutes=15))
        second = _sync(_env(server.base_url, db, clock.now()), tmp_path)
        assert second.returncode == 0, second.stderr
        ledger = json.loads(second.stdout)["marketplaces"][0]["ledger"]
        assert ledger["APPLIED"] + ledger["REQUESTED"] == 167 and ledger["MISSING"] == 0  # (a live refresh in flight)

        clock.advance(timedelta(minutes=60))
        sim.set_faults(Faults(p429=1.0))
        hit = _sync(_env(server.base_url, db, clock.now()), tmp_path)
        assert hit.returncode == 75 and json.loads(hit.stdout)["quota_hit"]  # a 429 before anything succeeded
        sim.set_faults(Faults())
        requests = len(sim.log.entries)
        clock.advance(timedelta(minutes=15))
        skipped = subprocess.run([sys.executable, "-m", "rtsales", "sync"], cwd=tmp_path, capture_output=True,
                                 text=True, timeout=60, check=False, env=_env(server.base_url, db, clock.now()))
        assert skipped.returncode == 75
        assert "cooldown due to SP-API quota (until" in skipped.stderr
        assert len(sim.log.entries) == requests  # the second process sent nothing
    rows = open_db(db).conn.execute("SELECT COUNT(*) FROM vendor_realtime_sales").fetchone()[0]
    assert rows > 0
    assert parse_instant(json.loads(hit.stdout)["cooldown_until"]) > clock.now()
