"""Token cost estimates per Keepa endpoint and options, before a request is sent.

The figures follow Keepa's documentation and are upper bounds where Keepa
charges "up to" (offer pages, refreshes): the budget must never under-estimate.
The response's `tokensConsumed` is the truth and is what gets recorded.
"""

from __future__ import annotations

import math

MAX_ASINS_PER_REQUEST = 100

# Flat costs per request (or per page / per item where the argument says so).
_FLAT = {"token": 0, "category": 1, "seller": 1, "deal": 5, "search": 10, "bestsellers": 50}
OFFER_PAGE_SIZE = 10
OFFER_PAGE_COST = 6
BUYBOX_COST = 2
STOCK_COST = 2
RATING_COST = 1
UPDATE_COST = 1


def product_cost(asins: int, *, offers: int | None = None, buybox: bool = False, stock: bool = False,
                 rating: bool = False, update: int | None = None) -> int:
    """/product: 1 per ASIN plus each option's documented extra per ASIN."""
    if not 1 <= asins <= MAX_ASINS_PER_REQUEST:
        raise ValueError(f"a product request takes 1 to {MAX_ASINS_PER_REQUEST} ASINs, not {asins}")
    per_asin = 1
    if offers:
        per_asin += OFFER_PAGE_COST * math.ceil(offers / OFFER_PAGE_SIZE)
    elif buybox:  # offers already include the buy box; Keepa ignores buybox then
        per_asin += BUYBOX_COST
    if stock and offers:
        per_asin += STOCK_COST
    if rating:
        per_asin += RATING_COST
    if update is not None:  # a refresh may happen whenever update is given
        per_asin += UPDATE_COST
    return asins * per_asin


def query_cost(results: int) -> int:
    """/query (product finder): 10 plus 1 per 100 results asked for."""
    return 10 + math.ceil(max(0, results) / 100)


def estimate_cost(endpoint: str, *, count: int = 1, **options: int | bool | None) -> int:
    """Cost of one request: `count` is ASINs for product, pages for search, results for query."""
    name = endpoint.strip("/").lower()
    if name == "product":
        return product_cost(count, **options)  # type: ignore[arg-type]
    if name == "query":
        return query_cost(count)
    if name not in _FLAT:
        raise ValueError(f"unknown Keepa endpoint {endpoint!r}")
    return _FLAT[name] * (count if name in {"search", "seller"} else 1)
