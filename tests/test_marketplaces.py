"""The marketplace table matches Amazon's published list (tests/data/amazon_marketplace_ids.tsv)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rtsales.amazon.marketplaces import MARKETPLACES, REGION_ENDPOINTS
from rtsales.config import load_settings

AMAZON_LIST = Path(__file__).parent / "data" / "amazon_marketplace_ids.tsv"


def _amazon_rows() -> set[tuple[str, str, str]]:
    lines = [line for line in AMAZON_LIST.read_text().splitlines() if not line.startswith("#")]
    return {(r["country"], r["marketplace_id"], r["region"]) for r in csv.DictReader(lines, delimiter="\t")}


def test_table_equals_amazons_list() -> None:
    ours = {(m.country, m.marketplace_id, m.region) for m in MARKETPLACES.values()}
    amazon = _amazon_rows()
    assert len(amazon) == len(MARKETPLACES) == 23
    assert ours - amazon == set(), "rows Amazon does not publish (wrong ID or region, or extra)"
    assert amazon - ours == set(), "rows Amazon publishes that the table lacks or gets wrong"


def test_every_marketplace_has_a_currency_code() -> None:
    assert all(len(m.currency) == 3 and m.currency.isupper() for m in MARKETPLACES.values())


@pytest.mark.parametrize("marketplace_id", ["AMEN7PMS3EDWL", "A28R8C7NBKEWEA"])
def test_belgium_and_ireland_load_with_the_eu_endpoint(marketplace_id: str) -> None:
    settings = load_settings(environ={"MARKETPLACE_IDS": marketplace_id})
    assert settings.marketplace_ids == (marketplace_id,)
    assert settings.spapi_endpoint == REGION_ENDPOINTS["EU"]
