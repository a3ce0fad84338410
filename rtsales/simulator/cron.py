"""Cron against the in-process simulator: the real sync path, time advanced per cycle.

Used by `rtsales demo` and by the end-to-end tests. Each cycle runs `SyncRun`
at a frozen instant, exactly as `RTSALES_NOW=... rtsales sync` would, and then
moves simulated time on by the cron interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database

from rtsales.clock import FrozenClock, hour_key, iso, parse_hour
from rtsales.config import Settings, load_settings
from rtsales.kinds import KINDS
from rtsales.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, Faults, Simulator
from rtsales.store import open_db
from rtsales.sync.engine import SyncResult, SyncRun

if TYPE_CHECKING:
    import httpx

SIM_BASE = "http://127.0.0.1:8765"  # never dialled in-process: the transport answers
CRON_INTERVAL = timedelta(minutes=15)


def simulator_settings(db_path: Path, marketplaces: tuple[str, ...], now: datetime,
                       extra: Mapping[str, str] | None = None) -> Settings:
    env = {
        "LWA_CLIENT_ID": DEFAULT_CLIENT_ID, "LWA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "LWA_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN, "MARKETPLACE_IDS": ",".join(marketplaces),
        "SPAPI_ENDPOINT": SIM_BASE, "LWA_TOKEN_URL": f"{SIM_BASE}/auth/o2/token",
        "RTSALES_DB": str(db_path), "RTSALES_NOW": iso(now), **(extra or {}),
    }
    return load_settings(environ=env)


class SimulatedCron:
    def __init__(self, db_path: Path, marketplaces: tuple[str, ...], start: datetime, *, seed: int = 0,
                 faults: Faults | None = None, settings: Mapping[str, str] | None = None,
                 simulator: Simulator | None = None):
        self.clock = FrozenClock(start)
        self.sim = simulator or Simulator(seed=seed, clock=self.clock, faults=faults)
        self.sim.clock = self.clock
        self.settings = simulator_settings(db_path, marketplaces, start, settings)
        self.db: Database = open_db(db_path)
        self.results: list[SyncResult] = []
        self.transport: httpx.BaseTransport | None = None  # tests: something between rtsales and the simulator

    def cycle(self, advance: bool = True) -> SyncResult:
        """One cron run at the current instant, then (by default) the cron interval passes."""
        result = self.run_command("sync")
        if advance:
            self.clock.advance(CRON_INTERVAL)
        return result

    def run_command(self, command: str, **kwargs: object) -> SyncResult:
        run = SyncRun(self.db, self.settings, FrozenClock(self.clock.now()), self.transport or self.sim.transport(),
                      command=command, **kwargs)  # type: ignore[arg-type]
        result = run.run()
        self.results.append(result)
        return result

    def settle(self, max_cycles: int = 400) -> int:
        """Cycles until nothing is left to do in the ledger; returns how many ran."""
        for done in range(1, max_cycles + 1):
            self.cycle()
            if self.pending() == 0:
                return done
        return max_cycles

    def pending(self) -> int:
        """Hours whose numbers the database does not hold yet (re-fetches in flight are not pending)."""
        return self.db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_hour_ledger "
                                    "WHERE data_state = 'none' AND status != 'UNAVAILABLE'").fetchone()[0]

    def mismatches(self, marketplace_id: str, settled_before: datetime, kind: str = "sales") -> list[str]:
        """Hours of `kind` (holding data, final by `settled_before`) whose rows differ from the simulator's
        final truth."""
        bad = []
        for (key,) in self.db.conn.execute(
                "SELECT hour_utc FROM vendor_rt_sales_hour_ledger WHERE report_kind = ? AND marketplace_id = ? "
                "AND data_state != 'none' AND hour_utc < ?", [kind, marketplace_id, hour_key(settled_before)]):
            if self.stored(marketplace_id, key, kind) != self.truth(marketplace_id, key, kind):
                bad.append(key)
        return bad

    def stored(self, marketplace_id: str, key: str, kind: str = "sales") -> dict[str, tuple[int, ...]]:
        """asin -> the kind's numbers (sales revenue in cents) the database holds for one hour."""
        table, columns = KINDS[kind].table, ", ".join(KINDS[kind].columns)
        rows = self.db.conn.execute(f"SELECT asin, {columns} FROM {table} WHERE marketplace_id = ? AND hour_utc = ?",
                                    [marketplace_id, key])
        if kind == "sales":
            return {asin: (units, round(revenue * 100)) for asin, units, revenue in rows}
        return {asin: (value,) for asin, value in rows}

    def truth(self, marketplace_id: str, key: str, kind: str = "sales") -> dict[str, tuple[int, ...]]:
        """asin -> the kind's numbers in the simulator's final truth for one hour."""
        hour = parse_hour(key)
        if kind == "sales":
            final = self.sim.truth.final_truth(marketplace_id, hour)
            return {asin: (s.units, s.revenue_cents) for asin, s in final.items()}
        other = self.sim.reports.traffic if kind == "traffic" else self.sim.reports.inventory
        return {asin: (value,) for asin, value in other.final_truth(marketplace_id, hour).items()}


DEMO_MARKER = "demo_database"
DEMO_REPORT_TYPES = "sales,traffic,inventory"  # the demo shows every kind rtsales keeps


def prepare_demo_db(path: Path) -> None:
    """Start the demo from scratch, but never clobber a database the demo did not create."""
    if not path.exists():
        return
    db = open_db(path)
    marker = db.conn.execute("SELECT value FROM rtsales_state WHERE key = ?", [DEMO_MARKER]).fetchone()
    db.conn.close()
    if marker is None:
        from rtsales.errors import UsageError
        raise UsageError(f"{path} is not a demo database; the demo will not overwrite it",
                         hint="pass --db with another path, e.g. --db demo.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_demo(db_path: Path, end: datetime, days: int, seed: int,
             on_cycle: Callable[[int, SyncResult], None]) -> SimulatedCron:
    """Cron every 15 minutes for `days` of simulated time, with a few injected 429s."""
    prepare_demo_db(db_path)
    start = end - timedelta(days=days)
    cron = SimulatedCron(db_path, ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"), start, seed=seed,
                         settings={"REPORT_TYPES": DEMO_REPORT_TYPES})
    cron.db.conn.execute("INSERT INTO rtsales_state VALUES (?, '1', ?)", [DEMO_MARKER, iso(start)])
    cycles = int((end - start) / CRON_INTERVAL)
    # Outside traffic eats the quota on cycles that have SP-API work (a new hour is due
    # at :30): once, then again on the first call after the cooldown, which doubles it.
    first = next(n for n in range(cycles // 3, cycles) if (start + n * CRON_INTERVAL).minute == 30)
    storms = {first, first + 2}
    for number in range(cycles):
        cron.sim.set_faults(Faults(p429=1.0) if number in storms else Faults())
        on_cycle(number, cron.cycle())
    cron.sim.set_faults(Faults())
    return cron
