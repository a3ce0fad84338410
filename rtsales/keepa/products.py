"""`rtsales keepa products`: titles and sales ranks for ASINs, in batches of 100, under the budget.

ASINs with a fresh cache row cost nothing; the rest are fetched 100 per
/product request (1 token each: `stats` is free, `history=0` keeps answers
small) under the `keepa` lease, and cached batch by batch, so a refusal part
way keeps what was already bought.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlite_utils import Database

from rtsales.amazon.marketplaces import MARKETPLACES
from rtsales.clock import Clock, iso
from rtsales.config import Settings
from rtsales.errors import UsageError
from rtsales.keepa.budget import TokenBudget, WaitProgress, keepa_lease
from rtsales.keepa.cache import CachedProduct, fresh_products, save_products
from rtsales.keepa.client import KeepaClient
from rtsales.keepa.costs import MAX_ASINS_PER_REQUEST, product_cost
from rtsales.keepa.status import projected_balance

SALES_RANK = 3  # index of the sales rank in Keepa's csv and stats.current arrays
_ASIN = re.compile(r"^[A-Z0-9]{10}$")


@dataclass(frozen=True)
class KeepaDomain:
    code: str
    domain_id: int
    country: str  # the country code rtsales.amazon.marketplaces uses


DOMAINS = {d.code: d for d in (
    KeepaDomain("US", 1, "US"), KeepaDomain("UK", 2, "UK"), KeepaDomain("DE", 3, "DE"),
    KeepaDomain("FR", 4, "FR"), KeepaDomain("JP", 5, "JP"), KeepaDomain("CA", 6, "CA"),
    KeepaDomain("IT", 8, "IT"), KeepaDomain("ES", 9, "ES"), KeepaDomain("IN", 10, "IN"),
    KeepaDomain("MX", 11, "MX"), KeepaDomain("BR", 12, "BR"),
)}
_ALIASES = {"GB": "UK", **{str(d.domain_id): d.code for d in DOMAINS.values()}}


def parse_domain(text: str) -> KeepaDomain:
    code = text.strip().upper()
    code = _ALIASES.get(code, code)
    if code not in DOMAINS:
        raise UsageError(f"unknown Keepa domain {text!r}",
                         hint=f"use one of {', '.join(DOMAINS)} (or Keepa's domain number)")
    return DOMAINS[code]


def _asins(raw: Sequence[str]) -> list[str]:
    asins = list(dict.fromkeys(a.strip().upper() for a in raw if a.strip()))
    bad = [a for a in asins if not _ASIN.match(a)]
    if bad:
        raise UsageError(f"not an ASIN: {', '.join(bad[:5])}", hint="an ASIN is 10 letters and digits")
    return asins


def sales_asins(db: Database, domain: KeepaDomain) -> list[str]:
    """Every ASIN seen in vendor_realtime_sales for the domain's marketplace."""
    ids = [m.marketplace_id for m in MARKETPLACES.values() if m.country == domain.country]
    marks = ",".join("?" * len(ids))
    return [r[0] for r in db.conn.execute(
        f"SELECT DISTINCT asin FROM vendor_realtime_sales WHERE marketplace_id IN ({marks}) ORDER BY asin", ids)]


def _sales_rank(product: dict[str, Any]) -> int | None:
    stats = product.get("stats")
    current = stats.get("current") if isinstance(stats, dict) else None
    if isinstance(current, list) and len(current) > SALES_RANK and isinstance(current[SALES_RANK], int):
        return current[SALES_RANK] if current[SALES_RANK] >= 0 else None
    csv = product.get("csv")
    history = csv[SALES_RANK] if isinstance(csv, list) and len(csv) > SALES_RANK else None
    if isinstance(history, list) and len(history) >= 2 and isinstance(history[-1], int) and history[-1] >= 0:
        return history[-1]  # pairs of (keepa minute, rank): the last value is the current rank
    return None


def parse_product(product: Any, fetched_at: str) -> CachedProduct | None:
    if not isinstance(product, dict) or not isinstance(product.get("asin"), str):
        return None
    title = product.get("title")
    title = title.strip() if isinstance(title, str) and title.strip() else None
    return CachedProduct(product["asin"].upper(), title, _sales_rank(product), fetched_at)


def _fetch_batch(client: KeepaClient, clock: Clock, asins: Sequence[str], domain: KeepaDomain) -> list[CachedProduct]:
    params = {"domain": domain.domain_id, "asin": ",".join(asins), "stats": 1, "history": 0}
    body = client.call("product", params, cost=product_cost(len(asins)))
    fetched_at = iso(clock.now())
    parsed = (parse_product(p, fetched_at) for p in body.get("products") or [])
    return [p for p in parsed if p is not None and p.asin in asins]


def _report(domain: KeepaDomain, wanted: list[str], cached: dict[str, CachedProduct],
            fetched: dict[str, CachedProduct]) -> dict[str, Any]:
    rows = []
    for asin in wanted:
        product, source = (cached[asin], "cache") if asin in cached else (fetched.get(asin), "keepa")
        rows.append({"asin": asin, "title": product.title if product else None,
                     "sales_rank": product.sales_rank if product else None,
                     "source": source if product else "missing"})
    return {"ok": True, "domain": domain.code, "domain_id": domain.domain_id, "asins": len(wanted),
            "cached": len(cached), "fetched": len(fetched), "products": rows}


def _buy(db: Database, settings: Settings, clock: Clock, todo: list[str], where: KeepaDomain,
         budget_options: dict[str, Any], transport: httpx.BaseTransport | None) -> dict[str, Any]:
    """Fetch `todo` in batches under the `keepa` lease, caching each batch as it arrives."""
    fetched: dict[str, CachedProduct] = {}
    with keepa_lease(db, settings, clock, "keepa products") as heartbeat:
        budget = TokenBudget(db, settings, clock, heartbeat=heartbeat, **budget_options)
        client = KeepaClient(settings, clock, budget, transport)
        try:
            for start in range(0, len(todo), MAX_ASINS_PER_REQUEST):
                batch = _fetch_batch(client, clock, todo[start:start + MAX_ASINS_PER_REQUEST], where)
                save_products(db, where.domain_id, batch)
                fetched.update((p.asin, p) for p in batch)
                heartbeat()
        finally:
            client.close()
    status = budget.status()
    return {"fetched": fetched, "tokens_spent": client.tokens_consumed, "requests": sum(client.calls.values()),
            "waited_seconds": budget.waited_seconds, "warnings": budget.warnings,
            "balance": projected_balance(status, clock.now()) if status else None}


def fetch_products(db: Database, settings: Settings, clock: Clock, asins: Sequence[str] = (), *,
                   from_sales: bool = False, domain: str = "US", wait: bool = True, caller_buffer: int = 0,
                   on_wait: WaitProgress | None = None,
                   transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """Fetch what the cache lacks, in batches of 100 under the budget; report products and tokens spent."""
    settings.require_keepa()
    where = parse_domain(domain)
    wanted = _asins([*asins, *(sales_asins(db, where) if from_sales else [])])
    if not wanted and not from_sales:
        raise UsageError("no ASINs given", hint="name ASINs, or add --from-sales")
    cached = fresh_products(db, where.domain_id, wanted, clock.now())
    todo = [a for a in wanted if a not in cached]
    spent: dict[str, Any] = {"fetched": {}, "tokens_spent": 0, "requests": 0, "waited_seconds": 0.0,
                             "warnings": [], "balance": None}
    if todo:
        options = {"wait": wait, "caller_buffer": caller_buffer, "on_wait": on_wait}
        spent = _buy(db, settings, clock, todo, where, options, transport)
    return {**_report(where, wanted, cached, spent.pop("fetched")), **spent}
