"""A database of crafted hours for the `rtsales watch` tests: every hour held, units from a function."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from rtsales.clock import HOUR, hour_key, iso, parse_instant
from rtsales.store import open_db, transaction

US = "ATVPDKIKX0DER"
NOW = parse_instant("2026-03-20T12:10:00Z")
NEWEST = parse_instant("2026-03-20T11:00:00Z")  # the newest hour held at NOW
START = parse_instant("2026-03-04T00:00:00Z")  # 16 days and 12 hours of history
PRICE = 10.0
Units = Callable[[datetime], int]


def hour(text: str) -> datetime:
    """'03-20T10' -> 2026-03-20T10:00Z."""
    return parse_instant(f"2026-{text}:00:00Z")


def build(path: Path, series: Mapping[str, Units], *, start: datetime = START, newest: datetime = NEWEST,
          provisional_from: datetime | None = None, mp: str = US) -> Path:
    """Ledger rows for every hour of [start, newest] (final, provisional from `provisional_from`) and a
    sales row wherever an ASIN's function gives units other than 0, at PRICE a unit."""
    db = open_db(path)
    hours = [start + i * HOUR for i in range(int((newest - start) / HOUR) + 1)]
    with transaction(db) as conn:
        conn.executemany("INSERT INTO vendor_rt_sales_hour_ledger (marketplace_id, hour_utc, status, updated_at, "
                         "data_state) VALUES (?, ?, 'APPLIED', ?, ?)",
                         [(mp, hour_key(h), iso(NOW), "provisional" if provisional_from and h >= provisional_from
                           else "final") for h in hours])
        conn.executemany("INSERT INTO vendor_realtime_sales VALUES (?, ?, ?, ?, ?, 'USD', 'r1', ?)",
                         [(mp, asin, hour_key(h), units(h), units(h) * PRICE, iso(NOW))
                          for asin, units in series.items() for h in hours if units(h)])
    db.conn.close()
    return path


def add_kind(path: Path, kind: str, series: Mapping[str, Units], *, start: datetime = START,
             newest: datetime = NEWEST, mp: str = US) -> None:
    """Traffic (glance views) or inventory (sellable units) hours, held in that kind's ledger, a row per ASIN."""
    table, column = {"traffic": ("vendor_realtime_traffic", "glance_views"),
                     "inventory": ("vendor_realtime_inventory", "highly_available_inventory")}[kind]
    db = open_db(path)
    hours = [start + i * HOUR for i in range(int((newest - start) / HOUR) + 1)]
    with transaction(db) as conn:
        conn.executemany("INSERT INTO vendor_rt_sales_hour_ledger (report_kind, marketplace_id, hour_utc, status, "
                         "updated_at, data_state) VALUES (?, ?, ?, 'APPLIED', ?, 'final')",
                         [(kind, mp, hour_key(h), iso(NOW)) for h in hours])
        conn.executemany(f"INSERT INTO {table} (marketplace_id, asin, hour_utc, {column}, report_id, updated_at) "
                         "VALUES (?, ?, ?, ?, 'r1', ?)",
                         [(mp, asin, hour_key(h), value(h), iso(NOW)) for asin, value in series.items() for h in hours])
    db.conn.close()


def steady(per_hour: int, *, zero: tuple[datetime, datetime] | None = None, times: int = 1,
           during: tuple[datetime, datetime] | None = None) -> Units:
    """`per_hour` every hour; 0 over [zero) ; `times` x over [during)."""
    def units(h: datetime) -> int:
        if zero and zero[0] <= h < zero[1]:
            return 0
        if during and during[0] <= h < during[1]:
            return per_hour * times
        return per_hour
    return units
