"""Amazon marketplace IDs: country, SP-API region and currency.

The region decides the default SP-API host; marketplaces from two regions cannot
share one endpoint.
"""

from __future__ import annotations

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
