"""Chaos soak: many cron cycles of the real `rtsales sync` process against a faulty simulator,
every report kind on (REPORT_TYPES=sales,traffic,inventory: six lanes drawing on one quota).

Faults on (429, 5xx, responses slower than the client timeout, truncated gzip, FATAL
reports, expired URLs, reports CANCELLED although they have data, generic 400s), a share
of runs SIGKILLed at random moments, two runs started at once in some cycles; then faults
off until the ledger settles. A CANCELLED is ambiguous by nature ("no data" or "asked too
often"): an hour cancelled twice, once after it settled, is taken as empty, which is the
documented rule. So the settle phase also runs `rtsales audit weekly` once, the documented
backstop, as soon as every report asked for during the fault phase is answered (an audit
leaves hours in flight alone), and waits until the audit's re-fetches are in and every empty
answer of the fault phase was asked again, for every kind. Then every kind of every
marketplace must equal the simulator's truth. The seed (RTSALES_SOAK_SEED) makes a failing
run reproducible.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
import random
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from rtsales.clock import HOUR, FrozenClock, iso, parse_hour, parse_instant
from rtsales.kinds import KINDS
from rtsales.quota import SPAPI_PLANS
from rtsales.simulator import (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, BackgroundServer,
                               Faults, Simulator)
from rtsales.simulator.cron import SimulatedCron
from rtsales.simulator.reports import Report
from rtsales.store import open_db
from rtsales.sync.ledger import LEDGER, ceil_hour
from rtsales.sync.scheduler import LIVE_JITTER, live_interval

SEED = int(os.environ.get("RTSALES_SOAK_SEED", "20261122"))
MARKETPLACES = ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2")
START = parse_instant("2026-03-10T00:05:00Z")
CYCLE = timedelta(minutes=15)
# 12 hours of faults: three kinds send nearly twice the requests of sales alone per cycle, so this injects
# more faults than the 14 hours the soak had with sales alone, in about the same time.
FAULT_CYCLES, SETTLE_CYCLES = 48, 60
FAULTS = Faults(p429=0.03, p5xx=0.05, p_slow=0.02, p_truncated=0.05, p_fatal=0.05, p_expired=0.05, p_cancel=0.15,
                p_400=0.08, slow_seconds=1.2)
SPAPI_OPS = {"createReport", "getReport", "getReportDocument", "download"}
REPORT_KINDS = ("sales", "traffic", "inventory")  # every kind rtsales reads, on one engine and one quota
REVISION = timedelta(hours=1)
# How often each lane's (kind x marketplace) live window is refreshed: the lanes share half of the default
# QUOTA_BUDGET_PERCENT (50), so six of them get every ~24 minutes, that is every other cron run.
_LIVE = live_interval(15, len(REPORT_KINDS) * len(MARKETPLACES), SPAPI_PLANS["createReport"].rate, 50)
LIVE_EVERY = CYCLE * math.ceil((_LIVE - LIVE_JITTER) / CYCLE)


@dataclass
class Soak:
    sim: Simulator
    clock: FrozenClock
    base_url: str
    db: Path
    rng: random.Random
    cycles: int = 0
    kills: int = 0
    doubles: int = 0
    outputs: list[list[dict]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
        return {**keep, "LWA_CLIENT_ID": DEFAULT_CLIENT_ID, "LWA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
                "LWA_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN, "MARKETPLACE_IDS": ",".join(MARKETPLACES),
                "SPAPI_ENDPOINT": self.base_url, "LWA_TOKEN_URL": f"{self.base_url}/auth/o2/token",
                "RTSALES_DB": str(self.db), "RTSALES_NOW": iso(self.clock.now()), "LOOKBACK_DAYS": "2",
                "HTTP_TIMEOUT_SECONDS": "0.5", "REPORT_TYPES": ",".join(REPORT_KINDS)}

    def start(self, *command: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "rtsales", *(command or ("sync",)), "--json"], env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=self.db.parent)

    def audit(self) -> bool:
        """`rtsales audit weekly` now, faults off; False while a cooldown or a dead run's lease refuses it."""
        self.sim.set_now(self.clock.now())
        out, err = self.start("audit", "weekly").communicate(timeout=120)
        return not err or "skipped" not in err and "cooldown" not in err and "lock" not in err

    def cycle(self, chaos: bool) -> None:
        self.sim.set_now(self.clock.now())
        procs = [self.start()]
        if chaos and self.rng.random() < 0.15:
            procs.append(self.start())
            self.doubles += 1
        outputs = []
        for proc in procs:
            killed = chaos and self.rng.random() < 0.2
            try:
                out, err = proc.communicate(timeout=self.rng.uniform(0.05, 0.8) if killed else 120)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)  # a random moment: whatever the run was doing
                proc.communicate()
                self.kills += 1
                continue
            assert proc.returncode in (0, 1, 75), err
            if proc.returncode == 1 and not out:  # Login with Amazon timed out (slow replies): exit 1, one line
                assert "Login with Amazon failed" in err and err.count("\n") == 1, err
            elif proc.returncode == 1:  # every window this run tried failed (faults), nothing else went wrong
                tallies = [m["tally"] for m in json.loads(out)["marketplaces"]]
                assert sum(t["hours_failed"] for t in tallies) > 0, err
                assert sum(t["hours_applied"] + t["reports_created"] for t in tallies) == 0, err
            if proc.returncode == 0:
                outputs.append(json.loads(out))
        self.outputs.append(outputs)
        self.cycles += 1
        self.clock.advance(CYCLE)


def _lookback_start(soak: Soak) -> str:
    """Hours older than this have left LOOKBACK_DAYS: rtsales no longer claims them."""
    return iso(soak.clock.now().replace(minute=0, second=0) - timedelta(days=2))


def _settled(soak: Soak, since: str) -> bool:
    """For every kind: no hour in the lookback without data, none an audit re-opened still waiting for its
    re-fetch, and every hour answered empty by a report requested during the fault phase asked again."""
    conn = open_db(soak.db).conn
    oldest = _lookback_start(soak)
    try:
        return all(_kind_settled(conn, kind, since, oldest) for kind in REPORT_KINDS)
    finally:
        conn.close()


def _kind_settled(conn: sqlite3.Connection, kind: str, since: str, oldest: str) -> bool:
    pending = conn.execute(f"SELECT COUNT(*) FROM {LEDGER} WHERE report_kind = ? AND data_state = 'none' "
                           "AND status != 'UNAVAILABLE' AND hour_utc >= ?", [kind, oldest]).fetchone()[0]
    unconfirmed = conn.execute(
        f"SELECT COUNT(*) FROM {LEDGER} l WHERE report_kind = ? AND data_state = 'provisional' AND requested_at < ? "
        f"AND hour_utc >= ? AND NOT EXISTS (SELECT 1 FROM {KINDS[kind].table} s WHERE "
        "s.marketplace_id = l.marketplace_id AND s.hour_utc = l.hour_utc)", [kind, since, oldest]).fetchone()[0]
    # The audit's re-fetches too: with three kinds on one budget they may still wait for a later run.
    reopened = conn.execute(f"SELECT COUNT(*) FROM {LEDGER} WHERE report_kind = ? AND audit_run_id IS NOT NULL "
                            "AND hour_utc >= ?", [kind, oldest]).fetchone()[0]
    return pending == 0 and unconfirmed == 0 and reopened == 0


def _asked_before(soak: Soak, since: str) -> bool:
    """A report (of any kind) requested during the fault phase is still unanswered. An audit skips hours
    in flight, so one that started now would not re-fetch them, and a CANCELLED answering them later
    (rows kept, inconclusive) waits for the next audit, a day away."""
    conn = open_db(soak.db).conn
    waiting = conn.execute(f"SELECT COUNT(*) FROM {LEDGER} WHERE status IN ('REQUESTED', 'DOWNLOADED') "
                           "AND requested_at < ?", [since]).fetchone()[0]
    conn.close()
    return waiting > 0


@pytest.mark.slow
def test_chaos_soak(tmp_path: Path) -> None:
    clock = FrozenClock(START)
    # Revisions settle within an hour, well inside the live window: every hour older than that plus a
    # refresh must equal the final truth exactly, for every kind (later revisions have their own tests).
    sim = Simulator(seed=SEED, clock=clock, faults=FAULTS, revision_hours=int(REVISION / HOUR))
    with BackgroundServer(sim) as server:
        soak = Soak(sim, clock, server.base_url, tmp_path / "soak.db", random.Random(SEED))
        for _ in range(FAULT_CYCLES):
            soak.cycle(chaos=True)
        sim.set_faults(Faults())
        calm, audited = iso(clock.now()), False
        for _ in range(SETTLE_CYCLES):
            audited = audited or not _asked_before(soak, calm) and soak.audit()
            soak.cycle(chaos=False)
            if audited and _settled(soak, calm):
                break
        status = subprocess.run([sys.executable, "-m", "rtsales", "status", "--json"], env=soak.env(),
                                capture_output=True, text=True, check=True, cwd=tmp_path)
    _report(soak)
    _assert_all_applied_and_true(soak)
    _assert_no_request_during_cooldowns(soak)
    _assert_no_marketplace_worked_twice(soak)
    _assert_status_agrees(soak, json.loads(status.stdout))


def _report(soak: Soak) -> None:
    conn = open_db(soak.db).conn
    held = {kind: (conn.execute(f"SELECT COUNT(*) FROM {LEDGER} WHERE report_kind = ?", [kind]).fetchone()[0],
                   conn.execute(f"SELECT COUNT(*) FROM {KINDS[kind].table}").fetchone()[0]) for kind in REPORT_KINDS}
    conn.close()
    throttled = soak.sim.log.count(status=429)
    faults = Counter(label for e in soak.sim.log.entries if e.fault for label in e.fault.split(","))
    outcomes = {kind: Counter(r.fault or r.outcome or "unpolled" for r in soak.sim.reports.reports.values()
                              if r.report_type == KINDS[kind].report_type) for kind in REPORT_KINDS}
    print(f"\nsoak seed={SEED}: cycles={soak.cycles} kills={soak.kills} double-starts={soak.doubles} "
          f"429s={throttled} injected-faults={dict(faults)} requests={len(soak.sim.log.entries)}")
    for kind in REPORT_KINDS:
        print(f"  {kind}: hours={held[kind][0]} rows={held[kind][1]} reports={dict(outcomes[kind])}")
    assert faults["p_cancel"] and faults["p_400"], f"seed {SEED}: the soak injected no CANCELLED or generic 400"


def _assert_all_applied_and_true(soak: Soak) -> None:
    """Every hour of every kind in the lookback holds data, equal to the simulator's final truth once
    Amazon's revisions of it are over (the newest hours are still provisional, refreshed by the live
    window). An hour that left the lookback while its empty answer waited for confirmation may stay
    empty, but never as final. Rows only in hours their kind's ledger says hold data."""
    # SimulatedCron reads any kind's stored rows and truth; here it only compares (the runs are over).
    checker = SimulatedCron(soak.db, MARKETPLACES, soak.clock.now(), simulator=soak.sim)
    # An hour is final once its revisions are over and a live refresh asked after that was collected
    # by the next run (the clock is already one cycle past the last run).
    revised = ceil_hour(soak.clock.now() - HOUR - REVISION - LIVE_EVERY - CYCLE)
    for kind in REPORT_KINDS:
        _assert_kind_true(soak, checker, kind, revised)
    checker.db.conn.close()


def _assert_kind_true(soak: Soak, checker: SimulatedCron, kind: str, revised: datetime) -> None:
    conn, oldest = checker.db.conn, _lookback_start(soak)
    states = dict(conn.execute(f"SELECT data_state, COUNT(*) FROM {LEDGER} WHERE report_kind = ? "
                               "AND hour_utc >= ? GROUP BY data_state", [kind, oldest]))
    assert states and "none" not in states, f"seed {SEED}: {kind} not settled: {states}"
    for mp in MARKETPLACES:
        for key in checker.mismatches(mp, revised, kind):
            final = conn.execute(f"SELECT data_state = 'final' FROM {LEDGER} WHERE report_kind = ? "
                                 "AND marketplace_id = ? AND hour_utc = ?", [kind, mp, key]).fetchone()[0]
            # Outside the lookback no audit reaches: empty and not final, or final only because Amazon
            # cancelled it twice (the documented ambiguity of CANCELLED), never empty for another reason.
            cancelled = sum(1 for r in _covering(soak, kind, mp, key) if r.fault == "p_cancel")
            edge = key < oldest and not checker.stored(mp, key, kind) and (not final or cancelled >= 2)
            assert edge, _explain(soak, checker, kind, mp, key)
    stray = conn.execute(f"SELECT COUNT(*) FROM {KINDS[kind].table} s WHERE NOT EXISTS (SELECT 1 FROM {LEDGER} l "
                         "WHERE l.report_kind = ? AND l.marketplace_id = s.marketplace_id "
                         "AND l.hour_utc = s.hour_utc AND l.data_state != 'none')", [kind]).fetchone()[0]
    assert stray == 0, f"seed {SEED}: {stray} {kind} rows in hours its ledger does not hold"


def _explain(soak: Soak, checker: SimulatedCron, kind: str, mp: str, key: str) -> str:
    """What a failing hour looks like: its ledger row, rows held and true, and every report asked for it."""
    row = checker.db.conn.execute(f"SELECT * FROM {LEDGER} WHERE report_kind = ? AND marketplace_id = ? "
                                  "AND hour_utc = ?", [kind, mp, key]).fetchone()
    reports = [f"report {r.report_id} {iso(r.start)}..{iso(r.end)} created {iso(r.created)}: {r.outcome} {r.fault}"
               for r in _covering(soak, kind, mp, key)]
    return "\n".join([f"seed {SEED}: {kind} {mp} {key} differs from the final truth", f"ledger {row}",
                      f"stored {checker.stored(mp, key, kind)}", f"truth  {checker.truth(mp, key, kind)}", *reports])


def _covering(soak: Soak, kind: str, mp: str, key: str) -> list[Report]:
    """The simulator's reports of this kind whose window holds this hour, oldest first."""
    hour, report_type = parse_hour(key), KINDS[kind].report_type
    return [r for r in soak.sim.reports.reports.values()
            if r.report_type == report_type and r.marketplace_id == mp and r.start <= hour < r.end]


def _assert_no_request_during_cooldowns(soak: Soak) -> None:
    entries = [e for e in soak.sim.log.entries if e.operation in SPAPI_OPS]
    # A 429 held back past the client's timeout (p_slow) never reached rtsales: to it, a timeout.
    hits = [parse_instant(e.at) for e in entries if e.status == 429 and "p_slow" not in (e.fault or "")]
    assert hits, f"seed {SEED}: the soak produced no 429 to test"
    for hit in hits:
        during = [e for e in entries if hit < parse_instant(e.at) < hit + timedelta(minutes=30)]
        assert not during, f"seed {SEED}: SP-API called during the cooldown after the 429 at {iso(hit)}"


def _assert_no_marketplace_worked_twice(soak: Soak) -> None:
    """Per marketplace, the requests of two processes (access tokens) never interleave."""
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    for index, entry in enumerate(soak.sim.log.entries):
        if entry.marketplace_id and entry.client and entry.operation in SPAPI_OPS:
            first, _ = spans.get((entry.marketplace_id, entry.client), (index, index))
            spans[(entry.marketplace_id, entry.client)] = (first, index)
    for (mp, client), (first, last) in spans.items():
        for (other_mp, other), (o_first, o_last) in spans.items():
            if other_mp == mp and other != client:
                assert last < o_first or o_last < first, f"seed {SEED}: {mp} worked by two processes at once"
    # Fewer than one run in two has SP-API work when each lane is refreshed every other run.
    assert soak.doubles > 0 and len(spans) > soak.cycles // 4


def _assert_status_agrees(soak: Soak, status: dict) -> None:
    """Each kind's ledger and newest hour held, as the tables say; the top level is the first kind's."""
    conn = open_db(soak.db).conn
    for m in status["marketplaces"]:
        mp = m["marketplace_id"]
        assert set(m["kinds"]) == set(REPORT_KINDS) and m["lock"] is None
        for kind, shown in m["kinds"].items():
            counts = dict(conn.execute(f"SELECT status, COUNT(*) FROM {LEDGER} WHERE report_kind = ? "
                                       "AND marketplace_id = ? GROUP BY status", [kind, mp]))
            assert {k: v for k, v in shown["ledger"].items() if v} == counts, f"{kind} {mp}"
            newest = conn.execute(f"SELECT MAX(hour_utc) FROM {LEDGER} WHERE report_kind = ? AND marketplace_id = ? "
                                  "AND data_state != 'none'", [kind, mp]).fetchone()[0]
            assert shown["last_applied_hour"] == newest, f"{kind} {mp}"
        first = m["kinds"][REPORT_KINDS[0]]
        assert (m["ledger"], m["last_applied_hour"]) == (first["ledger"], first["last_applied_hour"])
    conn.close()

