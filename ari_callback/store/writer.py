"""Write transactions, one at a time where the database can only take one.

SQLite has a single writer. Several pooled connections of one process that try to write at
once do not queue: each spins in SQLite's busy handler, sleeping up to 100 ms between looks,
and under load some wait past the busy timeout ("database is locked"), although the writes
themselves take milliseconds. So on SQLite this process's write transactions take turns on an
asyncio lock, in arrival order, and only another process can make one wait in SQLite (R21).
PostgreSQL locks rows, not the database: its writes are not queued here, so creates of
different clients never wait for each other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db import WRITE


class Writer:
    def __init__(self, engine: AsyncEngine):
        self._engine = engine.execution_options(**WRITE)
        self._turns = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction, committed on leaving (rolled back on an exception)."""
        if self._turns is None:
            async with self._engine.begin() as conn:
                yield conn
            return
        async with self._turns, self._engine.begin() as conn:
            yield conn
