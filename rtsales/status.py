"""Read-only status of the store: ledger counts, locks, cooldowns per marketplace.

Plain data in, plain data out; `render.status` draws it, `--json` prints it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from rtsales.clock import iso
from rtsales.config import Settings
from rtsales.ledger import HourStatus


def _marketplaces(db: Database, settings: Settings) -> list[str]:
    seen = [r[0] for r in db.execute(
        "SELECT DISTINCT marketplace_id FROM vendor_rt_sales_hour_ledger")]
    return list(dict.fromkeys([*settings.marketplace_ids, *seen]))


def _ledger_counts(db: Database, marketplace_id: str) -> dict[str, int]:
    counts = {state.value: 0 for state in HourStatus}
    for state, n in db.execute(
        "SELECT status, COUNT(*) FROM vendor_rt_sales_hour_ledger WHERE marketplace_id = ? "
        "GROUP BY status", [marketplace_id]):
        counts[state] = n
    return counts


def collect_status(db: Database, settings: Settings, now: datetime) -> dict[str, Any]:
    marketplaces = [
        {"marketplace_id": m, "ledger": _ledger_counts(db, m)}
        for m in _marketplaces(db, settings)
    ]
    return {"ok": True, "now_utc": iso(now), "db": str(settings.db_path), "marketplaces": marketplaces}
