"""Webhook deliveries: the outbox fanned out into them, claimed, sent, logged and replayed.

**Fan-out.** One transaction reads the outbox after the consumer's position, makes the
deliveries of the rows it finds and moves the position, so a row is fanned out once, whatever
crashes. On PostgreSQL a transaction can commit after another that took a later outbox id:
the ids not visible yet are kept as *gaps* and looked for again until they turn up or are
older than any transaction lives (a rolled-back one never turns up). The cursor row is locked,
so instances fan out one at a time; the unique (event, webhook) index would keep a second
delivery out anyway.

**Claims** work like the dispatcher's (``store.dispatch``): ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, the writer's turn on SQLite. A claim pushes ``next_try_at`` a lease ahead, so an
instance that dies mid-send is followed by another after the lease, and bumps ``fence``: a
try's result is written only while its claim is the latest. Only the oldest pending delivery
of a callback and webhook can be claimed, so a receiver gets each callback's events in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import aliased

from .db import translated
from .sql import CHUNK, chunks, dialect_insert
from .tables import legs, outbox, outbox_cursors, webhook_deliveries
from .writer import Writer

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
MAX_GAPS = 10_000
KEPT_TRIES = 20
_D = webhook_deliveries.c


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: int
    at: float
    client_id: str
    callback_id: str
    attempt_id: str | None
    kind: str
    status: str
    detail: dict[str, Any]
    legs: tuple[dict[str, Any], ...] = ()   # the attempt's legs as stored now (events.legs_at picks)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    event_id: int
    client_id: str
    callback_id: str
    webhook_id: str
    url: str
    event_type: str
    body: str


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    event_id: int
    client_id: str
    callback_id: str
    webhook_id: str
    url: str
    event_type: str
    body: str
    status: str
    attempts: int
    fence: int
    created_at: float
    next_try_at: float
    last_try_at: float | None
    delivered_at: float | None
    last_status_code: int | None
    last_error: str
    tries: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class TryResult:
    at: float
    status_code: int | None
    error: str
    ms: float
    delivered: bool
    next_try_at: float | None   # not delivered: when to try again; None: give up


_COLUMNS = [_D[f.name] for f in fields(Delivery)]


def advance(position: int, gaps: dict[int, float], seen: Sequence[int], now: float,
            gap_timeout: float) -> tuple[int, dict[int, float]]:
    """The cursor after reading ``seen`` (ids above ``position`` and former gaps): the highest
    id read, and the ids skipped below it, kept until they turn up or time out."""
    found = set(seen)
    kept = {i: since for i, since in gaps.items() if i not in found and now - since < gap_timeout}
    top = max([position, *found])
    missing = (top - position) - sum(1 for i in found if i > position)
    if 0 < missing <= MAX_GAPS:
        kept.update({i: now for i in range(position + 1, top) if i not in found})
    if len(kept) > MAX_GAPS:   # unheard-of; the oldest are the likeliest rolled back
        kept = dict(sorted(kept.items())[-MAX_GAPS:])
    return top, kept


class DeliveryQueries:
    engine: AsyncEngine
    _writer: Writer

    def check_file(self) -> None: ...

    async def fan_out(self, consumer: str, now: float, plan: Callable[[list[OutboxEvent]], list[NewDelivery]],
                      limit: int = 500, gap_timeout: float = 300.0) -> int:
        """Turn the outbox rows after ``consumer``'s position into deliveries (``plan`` says
        which); how many rows were read. The first call starts at the outbox's end."""
        if not await self._outbox_news(consumer):
            return 0
        self.check_file()
        with translated("fanning out webhook events"):
            async with self._writer.begin() as conn:
                cursor = await _cursor(conn, consumer, now)
                if cursor is None:
                    return 0
                position, gaps = cursor
                events = await _events_after(conn, position, sorted(gaps), limit)
                if not events and not gaps:
                    return 0
                new = plan(events)
                if new:
                    insert = dialect_insert(conn, webhook_deliveries).on_conflict_do_nothing(
                        index_elements=[_D.event_id, _D.webhook_id])
                    await conn.execute(insert, [_new_row(d, now) for d in new])
                position, gaps = advance(position, gaps, [e.id for e in events], now, gap_timeout)
                await conn.execute(update(outbox_cursors).where(outbox_cursors.c.consumer == consumer).values(
                    position=position, gaps=sorted(gaps.items()), updated_at=now))
                return len(events)

    async def _outbox_news(self, consumer: str) -> bool:
        """Whether the outbox has rows after the consumer's position or gaps to look for: a
        read, so an idle poll does not queue a write transaction (on SQLite it would wait
        behind every step the running calls are saving)."""
        cursor = select(outbox_cursors.c.position, outbox_cursors.c.gaps).where(outbox_cursors.c.consumer == consumer)
        with translated("looking at the outbox"):
            async with self.engine.connect() as conn:
                row = (await conn.execute(cursor)).first()
                if row is None or row.gaps:
                    return True
                newer = select(outbox.c.id).where(outbox.c.id > row.position).limit(1)
                return (await conn.execute(newer)).first() is not None

    async def claim_deliveries(self, now: float, lease_s: float, limit: int) -> list[Delivery]:
        """Up to ``limit`` due deliveries, each the oldest pending one of its callback and
        webhook, claimed for ``lease_s`` seconds (one more try each)."""
        earlier = aliased(webhook_deliveries)
        blocked = exists().where(earlier.c.client_id == _D.client_id, earlier.c.callback_id == _D.callback_id,
                                 earlier.c.webhook_id == _D.webhook_id, earlier.c.status == PENDING,
                                 earlier.c.event_id < _D.event_id)
        picked = (select(_D.id).where(_D.status == PENDING, _D.next_try_at <= now, ~blocked)
                  .order_by(_D.next_try_at, _D.id).limit(limit).with_for_update(skip_locked=True))
        # Chosen once (see dispatch.picked_ids: PostgreSQL may re-run an IN subquery per row).
        cte = picked.cte("picked").prefix_with("MATERIALIZED", dialect="postgresql")
        stmt = (update(webhook_deliveries).where(_D.id.in_(select(cte.c.id)), _D.status == PENDING)
                .values(next_try_at=now + lease_s, fence=_D.fence + 1, attempts=_D.attempts + 1, last_try_at=now)
                .returning(*_COLUMNS))
        self.check_file()
        with translated("claiming webhook deliveries"):
            async with self._writer.begin() as conn:
                found = (await conn.execute(stmt)).mappings().all()
        return sorted((Delivery(**row) for row in found), key=lambda d: (d.next_try_at, d.id))

    async def finish_try(self, claimed: Delivery, result: TryResult) -> bool:
        """Write a try's outcome; False (nothing written) when the delivery was claimed or
        replayed since."""
        attempt = {"at": result.at, "status_code": result.status_code, "error": result.error, "ms": round(result.ms, 1)}
        values: dict[str, Any] = dict(last_status_code=result.status_code, last_error=result.error[:512],
                                      tries=[*claimed.tries, attempt][-KEPT_TRIES:])
        if result.delivered:
            values.update(status=DELIVERED, delivered_at=result.at)
        elif result.next_try_at is None:
            values.update(status=FAILED)
        else:
            values.update(next_try_at=result.next_try_at)
        stmt = update(webhook_deliveries).where(_D.id == claimed.id, _D.fence == claimed.fence).values(values)
        self.check_file()
        with translated("saving a webhook delivery"):
            async with self._writer.begin() as conn:
                return (await conn.execute(stmt)).rowcount == 1

    async def deliveries_of(self, callback_id: str, client_id: str) -> list[Delivery]:
        """A callback's delivery log, oldest event first."""
        query = (select(*_COLUMNS).where(_D.callback_id == callback_id, _D.client_id == client_id)
                 .order_by(_D.event_id, _D.webhook_id))
        with translated("reading webhook deliveries"):
            async with self.engine.connect() as conn:
                return [Delivery(**row) for row in (await conn.execute(query)).mappings().all()]

    async def delivery(self, delivery_id: int, client_id: str) -> Delivery | None:
        query = select(*_COLUMNS).where(_D.id == delivery_id, _D.client_id == client_id)
        with translated("reading a webhook delivery"):
            async with self.engine.connect() as conn:
                row = (await conn.execute(query)).mappings().first()
        return Delivery(**row) if row else None

    async def replay_delivery(self, delivery_id: int, client_id: str, now: float) -> Delivery | None:
        """Send a delivery again, whatever became of it: due now, with a fresh set of tries.
        A try of it in flight has its result ignored. None: the client has no such delivery."""
        stmt = (update(webhook_deliveries).where(_D.id == delivery_id, _D.client_id == client_id)
                .values(status=PENDING, attempts=0, fence=_D.fence + 1, next_try_at=now).returning(*_COLUMNS))
        self.check_file()
        with translated("replaying a webhook delivery"):
            async with self._writer.begin() as conn:
                row = (await conn.execute(stmt)).mappings().first()
        return Delivery(**row) if row else None

    async def purge_deliveries(self, finished_before: float) -> int:
        """Forget deliveries made before ``finished_before`` that are over (delivered or given
        up); how many. Pending ones are kept, however old: they are still owed."""
        stmt = delete(webhook_deliveries).where(_D.status != PENDING, _D.created_at < finished_before)
        self.check_file()
        with translated("purging webhook deliveries"):
            async with self._writer.begin() as conn:
                return (await conn.execute(stmt)).rowcount

    async def next_delivery_due(self) -> float | None:
        query = select(func.min(_D.next_try_at)).where(_D.status == PENDING)
        with translated("looking for due webhook deliveries"):
            async with self.engine.connect() as conn:
                return (await conn.execute(query)).scalar_one_or_none()


async def _cursor(conn: AsyncConnection, consumer: str, now: float) -> tuple[int, dict[int, float]] | None:
    """The consumer's position and gaps, locked; None when it is new (it starts at the end:
    events from before a consumer existed are history, not news)."""
    query = select(outbox_cursors.c.position, outbox_cursors.c.gaps).where(
        outbox_cursors.c.consumer == consumer).with_for_update()
    row = (await conn.execute(query)).first()
    if row is not None:
        return row.position, {int(i): float(since) for i, since in row.gaps}
    end = (await conn.execute(select(func.max(outbox.c.id)))).scalar_one_or_none() or 0
    await conn.execute(dialect_insert(conn, outbox_cursors).values(
        consumer=consumer, position=end, gaps=[], updated_at=now).on_conflict_do_nothing())
    return None


async def _events_after(conn: AsyncConnection, position: int, gaps: Sequence[int], limit: int) -> list[OutboxEvent]:
    found = (await conn.execute(select(outbox).where(outbox.c.id > position).order_by(outbox.c.id)
                                .limit(limit))).mappings().all()
    rows = list(found)
    for start in range(0, len(gaps), CHUNK):
        late = select(outbox).where(outbox.c.id.in_(list(gaps[start:start + CHUNK])))
        rows += (await conn.execute(late)).mappings().all()
    attempt_ids = sorted({row["attempt_id"] for row in rows if row["attempt_id"]})
    by_attempt: dict[str, list[dict[str, Any]]] = {}
    for chunk in chunks(attempt_ids):
        for leg in (await conn.execute(select(legs).where(legs.c.attempt_id.in_(chunk)))).mappings().all():
            by_attempt.setdefault(leg["attempt_id"], []).append(dict(leg))
    return [OutboxEvent(**row, legs=tuple(by_attempt.get(row["attempt_id"], ()))) for row in
            sorted(rows, key=lambda row: row["id"])]


def _new_row(delivery: NewDelivery, now: float) -> dict[str, Any]:
    return {f.name: getattr(delivery, f.name) for f in fields(NewDelivery)} | dict(
        status=PENDING, attempts=0, fence=0, created_at=now, next_try_at=now, last_error="", tries=[])
