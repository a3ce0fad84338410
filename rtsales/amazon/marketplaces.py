"""Amazon marketplace IDs: country, SP-API region and currency, and finding one by ID or country code.

The region decides the default SP-API host; marketplaces from two regions cannot
share one endpoint.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import NamedTuple


class Marketplace(NamedTuple):
    marketplace_id: str
    country: str
    region: str
    currency: str


REGION_ENDPOINTS = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}

# Amazon's "Marketplace IDs" page (developer-docs.amazon.com/sp-api/docs/marketplace-ids), in its order;
# tests/data/amazon_marketplace_ids.tsv keeps the copy the tests compare against. The page gives no
# currencies: each is the country's own (the one Amazon sells in there).
_TABLE = [
    ("A2EUQ1WTGCTBG2", "CA", "NA", "CAD"),
    ("ATVPDKIKX0DER", "US", "NA", "USD"),
    ("A1AM78C64UM0Y8", "MX", "NA", "MXN"),
    ("A2Q3Y263D00KWC", "BR", "NA", "BRL"),
    ("A28R8C7NBKEWEA", "IE", "EU", "EUR"),
    ("A1RKKUPIHCS9HS", "ES", "EU", "EUR"),
    ("A1F83G8C2ARO7P", "UK", "EU", "GBP"),
    ("A13V1IB3VIYZZH", "FR", "EU", "EUR"),
    ("AMEN7PMS3EDWL", "BE", "EU", "EUR"),
    ("A1805IZSGTT6HS", "NL", "EU", "EUR"),
    ("A1PA6795UKMFR9", "DE", "EU", "EUR"),
    ("APJ6JRA9NG5V4", "IT", "EU", "EUR"),
    ("A2NODRKZP88ZB9", "SE", "EU", "SEK"),
    ("AE08WJ6YKNBMC", "ZA", "EU", "ZAR"),
    ("A1C3SOZRARQ6R3", "PL", "EU", "PLN"),
    ("ARBP9OOSHTCHU", "EG", "EU", "EGP"),
    ("A33AVAJ2PDY3EV", "TR", "EU", "TRY"),
    ("A17E79C6D8DWNP", "SA", "EU", "SAR"),
    ("A2VIGQ35RCS4UG", "AE", "EU", "AED"),
    ("A21TJRUUN4KGV", "IN", "EU", "INR"),
    ("A19VAU5U5O7RUS", "SG", "FE", "SGD"),
    ("A39IBJ37TRP1C6", "AU", "FE", "AUD"),
    ("A1VC38T7YXB528", "JP", "FE", "JPY"),
]

MARKETPLACES: dict[str, Marketplace] = {row[0]: Marketplace(*row) for row in _TABLE}


def lookup(marketplace_id: str) -> Marketplace | None:
    return MARKETPLACES.get(marketplace_id)

# The ISO 3166 code of the United Kingdom; Amazon's page (and so the table) says UK.
_COUNTRY_ALIASES = {"GB": "UK"}
BY_COUNTRY: dict[str, Marketplace] = {m.country: m for m in MARKETPLACES.values()}


def find(text: str) -> Marketplace | None:
    """A marketplace by its ID or its country code, in any case ('us', 'GB', 'atvpdkikx0der')."""
    key = text.strip().upper()
    return MARKETPLACES.get(key) or BY_COUNTRY.get(_COUNTRY_ALIASES.get(key, key))


def label(marketplace_id: str) -> str:
    """'ATVPDKIKX0DER (US)': an ID with the country people know it by."""
    known = lookup(marketplace_id)
    return f"{marketplace_id} ({known.country})" if known else marketplace_id


def nearest(text: str, marketplace_ids: list[str]) -> str | None:
    """The ID or country code of these marketplaces closest to a mistyped one, if any is close."""
    candidates = [*marketplace_ids, *(m.country for m in map(lookup, marketplace_ids) if m)]
    # Country codes are two letters: one letter off is a ratio of 0.5, under difflib's usual 0.6.
    cutoff = 0.5 if len(text.strip()) <= 3 else 0.6
    close = get_close_matches(text.strip().upper(), candidates, n=1, cutoff=cutoff)
    return close[0] if close else None
