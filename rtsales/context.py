"""What the root callback hands to every command: settings plus lazily opened store."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlite_utils import Database

from rtsales.clock import Clock
from rtsales.config import Settings
from rtsales.store import open_db


@dataclass
class AppContext:
    settings: Settings
    verbose: bool = False
    _db: Database | None = field(default=None, repr=False)
    _clock: Clock | None = field(default=None, repr=False)

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = open_db(self.settings.db_path)
        return self._db

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            self._clock = self.settings.clock()
        return self._clock

    def close(self) -> None:
        if self._db is not None:
            self._db.conn.close()
            self._db = None
