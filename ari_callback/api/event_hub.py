"""One reader of the outbox per process, fanning new rows out to the open event streams.

Why one reader: a query per poll whatever the number of listeners, so a thousand open streams
cost the database what one does, and call handling never waits for a pool connection taken
by streams. Listeners that resume from an older id read their backlog themselves, a few at a
time (``BACKLOG_READERS``).

Why gaps are waited for: on PostgreSQL an outbox id is taken when the row is inserted but
becomes visible when its transaction commits, so id 11 can be seen before id 10. A reader that
moved past 10 would never send it. The hub holds rows back behind a missing id for
``gap_hold`` seconds (transactions writing the outbox take milliseconds); a missing id that
turns up later than that, within ``gap_watch``, is still sent, out of order; after that it is
taken for a rolled-back insert. On SQLite, writers take turns and ids never appear out of order.

The hub does not block anything: polls are short reads on the outbox's primary key; a stream
whose client reads too slowly has its queue bounded and is ended (it resumes with
``Last-Event-ID`` from the store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from ..store import outbox_reads as reads
from ..store.outbox_reads import OutboxRow

log = logging.getLogger("ari_callback.api")
POLL_BATCH = 500
START_LOOKBACK = 200   # ids below the start that may still be committing
BACKLOG_READERS = 2
QUEUE_LIMIT = 1000


class Subscription:
    """One open stream's view of the hub: the rows for its client (and callback), queued."""

    def __init__(self, client_id: str, callback_id: str | None, start: int):
        self.client_id, self.callback_id = client_id, callback_id
        self.start = start   # every row up to this id was in the store when the stream began
        self.rows: deque[OutboxRow] = deque()
        self.wake = asyncio.Event()
        self.overflowed = False

    def wants(self, row: OutboxRow) -> bool:
        return row.client_id == self.client_id and self.callback_id in (None, row.callback_id)

    def offer(self, row: OutboxRow) -> None:
        if len(self.rows) >= QUEUE_LIMIT:
            self.overflowed = True   # the stream ends; its client resumes from the store
        else:
            self.rows.append(row)
        self.wake.set()


class EventHub:
    def __init__(self, engine_of: Callable[[], Any], poll: float = 0.25, gap_hold: float = 2.0,
                 gap_watch: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self._engine_of = engine_of   # the store's engine, once the app has started
        self.poll, self.gap_hold, self.gap_watch, self._clock = poll, gap_hold, gap_watch, clock
        self.position = 0      # every row up to here has been handed out (or given up on)
        self._read_to = 0      # the highest id read
        self._gaps: dict[int, float] = {}       # missing id -> when first missed
        self._held: dict[int, OutboxRow] = {}   # rows read, waiting behind a gap
        # Weak: a stream whose response never started (the client left first) never runs the
        # generator's cleanup; its subscription must not keep the hub polling for it.
        self._subscribers: weakref.WeakSet[Subscription] = weakref.WeakSet()
        self._by_client: dict[str, weakref.WeakSet[Subscription]] = {}   # a row is offered to its client's only
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self.backlog_readers = asyncio.Semaphore(BACKLOG_READERS)
        self.stopping = asyncio.Event()

    @property
    def engine(self) -> Any:
        return self._engine_of()

    async def subscribe(self, client_id: str, callback_id: str | None) -> Subscription:
        sub = Subscription(client_id, callback_id, 0)
        self._subscribers.add(sub)   # before starting: the poll loop runs while there are streams
        self._by_client.setdefault(client_id, weakref.WeakSet()).add(sub)
        try:
            await self._start()
        except BaseException:
            self.unsubscribe(sub)
            raise
        sub.start = self.position
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)
        same = self._by_client.get(sub.client_id)
        if same is not None:
            same.discard(sub)
            if not same:
                del self._by_client[sub.client_id]

    async def _start(self) -> None:
        """Begin at the newest row when the first stream opens (again after an idle spell).

        Ids missing just below it may belong to transactions still open: they are watched like
        any gap, so such a row reaches the open streams when it commits."""
        async with self._starting:
            if self._task is not None:
                return
            newest = await reads.latest_id(self.engine)
            low = max(0, newest - START_LOOKBACK)
            present = set(await reads.ids_between(self.engine, low, newest))
            now = self._clock()
            self._gaps = {i: now for i in range(low + 1, newest + 1) if i not in present}
            self._held.clear()
            self.position = self._read_to = newest
            self._task = asyncio.create_task(self._run(), name="event-hub")

    async def stop(self) -> None:
        """Open streams end now (the server is shutting down)."""
        self.stopping.set()
        for sub in list(self._subscribers):
            sub.wake.set()
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        """Poll while streams are open; with none left, stop (the next one starts afresh).
        The only caller of ``poll_once`` in production: polls never overlap."""
        failing = False
        try:
            while self._subscribers and not self.stopping.is_set():
                await asyncio.sleep(self.poll)   # the start has just read the newest id
                try:
                    await self.poll_once()
                    if failing:
                        log.info("event stream: reading the outbox again")
                    failing = False
                except Exception as exc:   # the database away: streams stay open and wait
                    if not failing:
                        log.warning("event stream: reading the outbox failed (%s); retrying", exc)
                    failing = True
        finally:
            self._task = None

    async def poll_once(self) -> None:
        now = self._clock()
        fresh = await reads.rows_after(self.engine, self._read_to, POLL_BATCH)
        for row in fresh:
            for missing in range(self._read_to + 1, row.id):
                self._gaps[missing] = now
            self._held[row.id] = row
            self._read_to = row.id
        late: list[OutboxRow] = []
        if self._gaps:
            for row in await reads.rows_with_ids(self.engine, list(self._gaps)):
                del self._gaps[row.id]
                if row.id < self.position:
                    late.append(row)   # its hold had ended: sent now, out of order
                else:
                    self._held[row.id] = row
        self._forget_old_gaps(now)
        self._fan_out(late + self._releasable())

    def _forget_old_gaps(self, now: float) -> None:
        for missing, since in list(self._gaps.items()):
            if now - since > self.gap_watch:
                del self._gaps[missing]
        if any(now - since > self.gap_hold for since in self._gaps.values()):
            log.debug("event stream: outbox ids %s still missing after %g s; sending what follows",
                      sorted(self._gaps)[:5], self.gap_hold)

    def _releasable(self) -> list[OutboxRow]:
        """Held rows in id order, up to the first gap still held for."""
        now = self._clock()
        holding = [i for i, since in self._gaps.items() if now - since <= self.gap_hold and i > self.position]
        limit = min(holding) if holding else self._read_to + 1
        ready = sorted(i for i in self._held if i < limit)
        if ready:
            self.position = max(self.position, ready[-1])
        if not holding:
            self.position = max(self.position, self._read_to)
        return [self._held.pop(i) for i in ready]

    def _fan_out(self, rows: list[OutboxRow]) -> None:
        for row in rows:
            for sub in list(self._by_client.get(row.client_id, ())):
                if sub.wants(row):
                    sub.offer(row)
