"""The xAI answer cache in `xai_answer_cache`: normalised keys, lookups, stores.

A question about a product is keyed by the question's hash plus
title | category | season | price; a free-form question by its hash alone.
Every part is normalised first (Unicode NFKC, case-folded, whitespace
collapsed, price to cents), so asking the same judgment again about the same
product costs nothing. The question stays in the key so that two different
judgments about one product never share an answer. The model is stored, not
keyed: changing XAI_MODEL keeps the answers already paid for.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from rtsales.clock import iso
from rtsales.store import transaction


@dataclass(frozen=True)
class ProductFacts:
    title: str | None = None
    category: str | None = None
    season: str | None = None
    price: float | None = None

    def is_empty(self) -> bool:
        return all(v is None or v == "" for v in (self.title, self.category, self.season, self.price))


@dataclass(frozen=True)
class CachedAnswer:
    answer: str
    model: str
    created_at: str


def normalise(text: str | None) -> str:
    """NFKC, case-folded, single spaces; '|' would blur the composite key, so it goes."""
    folded = unicodedata.normalize("NFKC", text or "").casefold().replace("|", " ")
    return " ".join(folded.split())


def cache_key(question: str, facts: ProductFacts) -> str:
    digest = hashlib.sha256(normalise(question).encode("utf-8")).hexdigest()
    if facts.is_empty():
        return f"prompt:{digest}"
    price = "" if facts.price is None else f"{facts.price:.2f}"
    parts = [normalise(facts.title), normalise(facts.category), normalise(facts.season), price]
    return f"product:{digest}|" + " | ".join(parts)


def lookup(db: Database, key: str) -> CachedAnswer | None:
    row = db.conn.execute("SELECT answer, model, created_at FROM xai_answer_cache WHERE cache_key = ?",
                          [key]).fetchone()
    return CachedAnswer(*row) if row else None


def store(db: Database, key: str, question: str, answer: str, model: str, now: datetime) -> None:
    with transaction(db) as conn:
        conn.execute("INSERT INTO xai_answer_cache VALUES (?, ?, ?, ?, ?) ON CONFLICT(cache_key) DO UPDATE "
                     "SET answer = excluded.answer, model = excluded.model, created_at = excluded.created_at",
                     [key, question, answer, model, iso(now)])


def entry_count(db: Database) -> int:
    return int(db.conn.execute("SELECT COUNT(*) FROM xai_answer_cache").fetchone()[0])
