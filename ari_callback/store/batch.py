"""Group commit for the steps of running calls: the steps that arrive while a transaction is
being written share the next one.

Every running call saves each step before it acts on it (store.progress), so under load the
store commits many small transactions, each with its own BEGIN, lock hand-over and, on SQLite,
its own fsync of the log. Here the first step to arrive starts a transaction at once (no added
latency when idle); steps arriving meanwhile wait for it to end and then go together in one.
Each step runs inside its own SAVEPOINT, so a step refused on its own (``LeaseLost``, a row the
database rejects) is rolled back alone and reported to its caller alone; a transaction that
fails as a whole (the database away) fails every step in it, each caller retrying as before.
A step alone in its transaction (the common case when calls are few) needs no SAVEPOINT: its
transaction is all or nothing already, and the two round trips to the database are spared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from .db import StoreError, StoreUnavailable, translated
from .writer import Writer

MAX_STEPS_PER_TRANSACTION = 200   # bounds how long one transaction holds SQLite's writer

Apply = Callable[[AsyncConnection, Any], Awaitable[None]]


class StepBatcher:
    def __init__(self, writer: Writer, apply: Apply, doing: str):
        self._writer, self._apply, self._doing = writer, apply, doing
        self._pending: list[tuple[Any, asyncio.Future[None]]] = []
        self._draining: asyncio.Task[None] | None = None
        self.transactions = 0   # for tests and benchmarks: how many it took
        self.failed_steps = 0   # for /metrics: steps lost with a transaction that failed as a whole

    async def submit(self, step: Any) -> None:
        """Write ``step`` (raises what writing it alone would have raised)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((step, done))
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain(), name="store-step-batches")
        await asyncio.shield(done)   # a cancelled caller does not cancel the others' transaction

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:MAX_STEPS_PER_TRANSACTION]
                del self._pending[:MAX_STEPS_PER_TRANSACTION]
                await self._write(batch)
        finally:
            self._draining = None

    async def _write(self, batch: list[tuple[Any, asyncio.Future[None]]]) -> None:
        outcomes = [await self._alone(batch[0][0])] if len(batch) == 1 else await self._together(batch)
        for (_, done), outcome in zip(batch, outcomes, strict=True):
            if done.done():
                continue
            if outcome is None:
                done.set_result(None)
            else:
                done.set_exception(outcome)

    async def _alone(self, step: Any) -> BaseException | None:
        try:
            with translated(self._doing):
                async with self._writer.begin() as conn:
                    await self._apply(conn, step)
            self.transactions += 1
        except StoreUnavailable as exc:
            self.failed_steps += 1
            return exc
        except StoreError as exc:   # LeaseLost and refused rows: this step's own, rolled back with it
            self.transactions += 1
            return exc
        except Exception as exc:
            self.failed_steps += 1
            return exc
        return None

    async def _together(self, batch: list[tuple[Any, asyncio.Future[None]]]) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = []
        try:
            with translated(self._doing):
                async with self._writer.begin() as conn:
                    for step, _ in batch:
                        outcomes.append(await self._one(conn, step))
                self.transactions += 1
        except Exception as exc:   # the transaction as a whole: every step in it failed
            outcomes = [exc] * len(batch)
            self.failed_steps += len(batch)
        return outcomes

    async def _one(self, conn: AsyncConnection, step: Any) -> BaseException | None:
        try:
            async with conn.begin_nested():
                await self._apply(conn, step)
        except StoreError as exc:   # LeaseLost and refused rows: this step only, rolled back
            return exc
        return None
