"""Is the store usable, for ``/health`` and ``/readyz``: reachable, the file it opened still
there (store.problem), and writable (a write probe: a row inserted and deleted in one
transaction). The probe runs at most every ``every`` seconds, one at a time, and an answer
waits for it at most ``wait`` seconds: a locked or stalled database makes the check say so
instead of stalling the health check. The read (reachable, the same file) is bounded the same
way: a connection that waits on a lock must not hold ``/health`` up either."""

from __future__ import annotations

import asyncio
import time
from typing import Any

PROBE_EVERY_S, PROBE_WAIT_S = 5.0, 2.0


class StoreCheck:
    def __init__(self, every: float = PROBE_EVERY_S, wait: float = PROBE_WAIT_S):
        self.every, self.wait = every, wait
        self._at = float("-inf")
        self._result: str | None = None
        self._task: asyncio.Future | None = None
        self._reading: asyncio.Future | None = None

    async def problem(self, store: Any) -> str | None:
        problem = await self._read(store)
        if problem is not None or not hasattr(store, "write_problem"):
            return problem
        if self._task is None and time.monotonic() - self._at >= self.every:
            self._task = asyncio.ensure_future(self._probe(store))
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.wait)
            except TimeoutError:
                return f"a write to the database has not finished after {self.wait:g} s (locked or stalled)"
        return self._result

    async def _read(self, store: Any) -> str | None:
        """``store.problem()`` within ``wait``; one read at a time, left to finish if it is slow
        (cancelling a driver call half-way could leave its connection in a bad state)."""
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(store.problem())
        try:
            return await asyncio.wait_for(asyncio.shield(self._reading), self.wait)
        except TimeoutError:
            return f"the database did not answer a read within {self.wait:g} s (locked or stalled)"

    async def _probe(self, store: Any) -> None:
        try:
            self._result = await store.write_problem()
        finally:
            self._at, self._task = time.monotonic(), None
