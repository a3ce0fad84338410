"""What the root callback hands to every command: settings plus lazily opened store."""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from rtsales.clock import Clock
from rtsales.config import Settings
from rtsales.errors import ConfigError, RtsalesError
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
    def existing_db(self) -> Database:
        """The database of a command that only reads: a missing file is refused, never created."""
        if self._db is None:
            self._db = open_db(self.settings.db_path, create=False)
        return self._db

    def require_spapi(self, command: str) -> None:
        """Refuse missing SP-API settings before the database is opened, so that none is created.
        A database that exists records the refusal in its run history: `status` then says why
        cron's runs fail instead of blaming cron."""
        try:
            self.settings.require_spapi()
        except ConfigError as exc:
            path = Path(self.settings.db_path)
            if path.is_file() and path.stat().st_size > 0:  # an empty file is not made a database here
                from rtsales.sync.runs import record_refusal

                with suppress(RtsalesError, sqlite3.Error):  # the configuration error is the one to report
                    record_refusal(self.db, command, self.clock.now(), exc)
            raise

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            self._clock = self.settings.clock()
        return self._clock

    def close(self) -> None:
        if self._db is not None:
            self._db.conn.close()
            self._db = None
