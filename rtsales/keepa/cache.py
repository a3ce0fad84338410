"""The Keepa product cache (`keepa_products`): titles and sales ranks, fresh for 24 hours.

A fresh row costs no token. `cached_titles()` is the read-only entry point for
other commands (`rtsales sales`): it shows any cached title, fresh or not, and
imports no HTTP code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from rtsales.clock import iso
from rtsales.store import transaction

PRODUCT_TTL = timedelta(hours=24)
_CHUNK = 500  # stay far below SQLite's bound-parameter limit


@dataclass(frozen=True)
class CachedProduct:
    asin: str
    title: str | None
    sales_rank: int | None
    fetched_at: str


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def fresh_products(db: Database, domain_id: int, asins: Sequence[str], now: datetime) -> dict[str, CachedProduct]:
    """The ASINs whose cached row is younger than the TTL."""
    oldest = iso(now - PRODUCT_TTL)
    found: dict[str, CachedProduct] = {}
    for chunk in _chunks(list(asins)):
        marks = ",".join("?" * len(chunk))
        for row in db.conn.execute(
                f"SELECT asin, title, sales_rank, fetched_at FROM keepa_products WHERE domain_id = ? "
                f"AND fetched_at > ? AND asin IN ({marks})", [domain_id, oldest, *chunk]):
            found[row[0]] = CachedProduct(*row)
    return found


def save_products(db: Database, domain_id: int, products: Iterable[CachedProduct]) -> None:
    with transaction(db) as conn:
        conn.executemany(
            "INSERT INTO keepa_products VALUES (?, ?, ?, ?, ?) ON CONFLICT(domain_id, asin) DO UPDATE SET "
            "title = excluded.title, sales_rank = excluded.sales_rank, fetched_at = excluded.fetched_at",
            [(domain_id, p.asin, p.title, p.sales_rank, p.fetched_at) for p in products])


def cached_titles(db: Database, asins: Iterable[str], domain_id: int | None = None) -> dict[str, str]:
    """Title per ASIN wherever one is cached (any age; the newest across domains unless one is given)."""
    wanted = list(dict.fromkeys(asins))
    titles: dict[str, str] = {}
    where = "" if domain_id is None else "AND domain_id = ? "
    for chunk in _chunks(wanted):
        marks = ",".join("?" * len(chunk))
        params = [*chunk] if domain_id is None else [*chunk, domain_id]
        for asin, title in db.conn.execute(
                f"SELECT asin, title FROM keepa_products WHERE asin IN ({marks}) {where}"
                "AND title IS NOT NULL ORDER BY fetched_at", params):
            titles[asin] = title  # ordered oldest first, so the newest wins
    return titles
