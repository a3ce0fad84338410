"""The SQLite store: opening the file safely and the numbered schema migrations."""

from rtsales.store.db import Database, open_db, transaction

__all__ = ["Database", "open_db", "transaction"]
