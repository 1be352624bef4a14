"""Is the database still the one we opened, and can we write to it?

SQLite keeps writing happily into a file that was deleted or replaced under it (the open
handle points at the old inode), and every such write is lost at the next start. So a SQLite
store remembers which file it opened and checks it before each write transaction: a missing or
replaced file makes the write fail with ``StoreUnavailable`` (HTTP 503) instead of pretending.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

from .db import StoreUnavailable


class DatabaseFile:
    """The SQLite file a store opened, by inode."""

    def __init__(self, path: Path):
        self.path = path
        self._identity = self._stat()

    @classmethod
    def of(cls, url: str) -> DatabaseFile | None:
        parsed = make_url(url)
        database = parsed.database
        if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
                or database.startswith("file:"):
            return None
        return cls(Path(database).expanduser().resolve())

    def _stat(self) -> tuple[int, int]:
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            raise StoreUnavailable(f"the database file {self.path} is gone (deleted or moved) "
                                   "since it was opened; restart to open it again") from None
        except OSError as exc:
            raise StoreUnavailable(f"the database file {self.path} cannot be checked: {exc}") from None
        return found.st_dev, found.st_ino

    def check(self) -> None:
        """Raise ``StoreUnavailable`` unless the file is still the one opened, and writable."""
        if self._stat() != self._identity:
            raise StoreUnavailable(f"the database file {self.path} was replaced since it was opened; "
                                   "restart to open the new one")
        if not os.access(self.path, os.W_OK) or not os.access(self.path.parent, os.W_OK):
            raise StoreUnavailable(f"the database file {self.path} or its directory is not writable")
