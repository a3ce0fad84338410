"""Read-only status of the store: ledger counts, locks, cooldowns per marketplace.

Plain data in, plain data out; `render.status` draws it, `--json` prints it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from rtsales.clock import iso
from rtsales.config import Settings
from rtsales.ledger import ledger_counts


def _marketplaces(db: Database, settings: Settings) -> list[str]:
    seen = [r[0] for r in db.execute(
        "SELECT DISTINCT marketplace_id FROM vendor_rt_sales_hour_ledger")]
    return list(dict.fromkeys([*settings.marketplace_ids, *seen]))


def collect_status(db: Database, settings: Settings, now: datetime) -> dict[str, Any]:
    marketplaces = [
        {"marketplace_id": m, "ledger": ledger_counts(db.conn, m)}
        for m in _marketplaces(db, settings)
    ]
    return {"ok": True, "now_utc": iso(now), "db": str(settings.db_path), "marketplaces": marketplaces}
