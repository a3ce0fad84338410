"""The sales entry points of the report parser (GET_VENDOR_REAL_TIME_SALES_REPORT).

The parsing itself, for every report kind, is `rtsales.amazon.document`, driven by
`rtsales.kinds.SALES`: strict (a ReportParseError naming the field and a short
sample, never a silent empty list), streamed in batches of columns from the gzip
body. Zero-unit rows are real rows; orderedUnits may be negative.
`parse_sales_document` materialises the rows and refuses duplicate (hour, ASIN) rows
itself; streamed rows leave that to the table's primary key (`rtsales.sync.ingest`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from rtsales.amazon.document import DEFAULT_LIMIT, parse_document, read_document
from rtsales.kinds import SALES, SALES_REPORT, SalesRow
from rtsales.kinds import SalesBatch as Batch

__all__ = ["DEFAULT_LIMIT", "REPORT_TYPE", "Batch", "Row", "SalesDocument", "SalesRow", "SalesStream",
           "describe_error_document", "parse_sales_document", "read_sales_document"]

REPORT_TYPE = SALES_REPORT
Row = tuple[str, str, int, float]  # (hour_utc, asin, ordered_units, ordered_revenue), as in SalesRow


@dataclass(frozen=True)
class SalesDocument:
    currency_code: str
    rows: list[SalesRow]


@dataclass(frozen=True)
class SalesStream:
    """A checked specification and rows that are read, and checked, as they are consumed (once)."""

    currency_code: str
    batches: Iterator[Batch]

    @property
    def rows(self) -> Iterator[Row]:
        return (row for batch in self.batches for row in zip(*batch, strict=True))


def parse_sales_document(raw: bytes, marketplace_id: str, start: datetime, end: datetime) -> SalesDocument:
    """Parse and validate a (not compressed) document for the window [start, end) of one marketplace."""
    document = parse_document(SALES, raw, marketplace_id, start, end)
    return SalesDocument(cast(str, document.currency_code), document.rows)  # SALES requires a currency


def read_sales_document(raw: bytes, marketplace_id: str, start: datetime, end: datetime, *,
                        gzipped: bool = True, limit: int = DEFAULT_LIMIT) -> SalesStream:
    """Check the specification now; the rows (not yet checked for duplicates) come as they are read."""
    stream = read_document(SALES, raw, marketplace_id, start, end, gzipped=gzipped, limit=limit)
    return SalesStream(cast(str, stream.currency_code), cast(Iterator[Batch], stream.batches))


def describe_error_document(raw: bytes) -> str:
    """A FATAL report's error document, summarised for last_error (never raises)."""
    try:
        data = json.loads(raw.decode("utf-8"))
        detail = data.get("errorDetails") if isinstance(data, dict) else None
        text = detail if isinstance(detail, str) else json.dumps(data)
    except (UnicodeDecodeError, ValueError):
        text = raw[:200].decode("utf-8", "replace")
    return text[:200]
