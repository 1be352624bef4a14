"""The dispatcher's statements: claim due work, adopt a dead owner's work, renew leases, find
cancel requests.

A claim is one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``: on
PostgreSQL, instances claiming at once skip each other's rows instead of waiting; on SQLite the
writer lock (BEGIN IMMEDIATE) serialises claims and the same statement works, minus the lock
clause. Each claim increments the callback's fencing token: a write of the previous owner,
which still carries the old token, is refused (``progress.holds``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db import translated
from .reads import load_attempts
from .records import AttemptView, Claim
from .sql import chunks, event, write_events
from .tables import DIALLING, FINISHED, WAITING, attempts, callbacks
from .writer import Writer

_CB = callbacks.c
_RETURNED = (_CB.id, _CB.client_id, _CB.plan, _CB.fence, _CB.attempts, _CB.cancel_requested_at,
             _CB.due_at, _CB.created_at, _CB.policy, _CB.place_at)


def picked_ids(picked: Select) -> ColumnElement[bool]:
    """``callbacks.id`` among the rows ``picked`` chose (a ``SELECT id ... LIMIT n FOR UPDATE SKIP
    LOCKED``), chosen once.

    Not ``id IN (subquery)``: PostgreSQL may run such a subquery again for each row it scans,
    and as the rows it already updated no longer match, each run picks others: one claim with
    LIMIT 1 took all 30 callbacks of a test. A MATERIALIZED CTE is evaluated exactly once; on
    SQLite the same CTE is a plain one (it runs an uncorrelated subquery once anyway)."""
    cte = picked.cte("picked").prefix_with("MATERIALIZED", dialect="postgresql")
    return _CB.id.in_(select(cte.c.id))


def claiming(picked: Select, instance: str, asterisk: str, now: float, lease_s: float):
    """The claim of the waiting callbacks ``picked`` chose: dialled by ``instance`` under a new
    lease and fence, one more attempt each; returns what a ``Claim`` is made of."""
    return (update(callbacks).where(picked_ids(picked), _CB.status.in_(WAITING))
            .values(status=DIALLING, owner=instance, running_on=asterisk, lease_until=now + lease_s,
                    fence=_CB.fence + 1, attempts=_CB.attempts + 1, updated_at=now)
            .returning(*_RETURNED))


def serving(column, asterisk: str) -> ColumnElement[bool]:
    return or_(column.is_(None), column == asterisk)


class DispatchQueries:
    engine: AsyncEngine
    _writer: Writer

    def check_file(self) -> None: ...

    async def claim_due(self, instance: str, asterisk: str, now: float, lease_s: float,
                        limit: int) -> list[Claim]:
        """Take up to ``limit`` waiting callbacks that are due, oldest due first, each with a
        new attempt to run."""
        picked = (select(_CB.id).where(_CB.status.in_(WAITING), _CB.due_at <= now, _CB.option_sid.is_(None),
                                       _CB.cancel_requested_at.is_(None), serving(_CB.asterisk, asterisk))
                  .order_by(_CB.due_at, _CB.created_at).limit(limit).with_for_update(skip_locked=True))
        stmt = claiming(picked, instance, asterisk, now, lease_s)
        self.check_file()
        with translated("claiming due callbacks"):
            async with self._writer.begin() as conn:
                claimed = in_due_order((await conn.execute(stmt)).mappings().all())
                return await start_attempts(conn, claimed, instance, now)

    async def click_to_calls_due(self, asterisk: str, now: float) -> bool:
        """Whether any waiting click-to-call (no call option) is due: a read, so a dispatch pass
        with only waitlists due does not queue a write transaction for nothing (on SQLite a
        write waits its turn behind every step the running calls are saving)."""
        query = (select(_CB.id).where(_CB.status.in_(WAITING), _CB.due_at <= now, _CB.option_sid.is_(None),
                                      _CB.cancel_requested_at.is_(None), serving(_CB.asterisk, asterisk))
                 .limit(1))
        with translated("looking for due callbacks"):
            async with self.engine.connect() as conn:
                return (await conn.execute(query)).first() is not None

    async def claim_orphans(self, instance: str, asterisk: str, now: float, lease_s: float,
                            limit: int, own: bool = False, only: Collection[str] = ()) -> list[Claim]:
        """Take over callbacks being dialled on our Asterisk whose owner's lease expired (it
        died) and, with ``own``, those this instance holds but runs no attempt for (after a
        restart, or ``only`` these). Their current attempt comes back with its legs and
        timeline, to be recovered."""
        # Never another's live lease; and never our own lapsed one unless asked (``own``): an
        # instance too busy to renew in time must not adopt, and so fence out, its own calls.
        lapsed = (_CB.lease_until < now) & or_(_CB.owner.is_(None), _CB.owner != instance)
        wanted = or_(lapsed, _CB.owner == instance) if own else lapsed
        if only:
            wanted = (_CB.owner == instance) & _CB.id.in_(list(only))
        picked = (select(_CB.id).where(_CB.status == DIALLING, serving(_CB.running_on, asterisk), wanted)
                  .order_by(_CB.due_at).limit(limit).with_for_update(skip_locked=True))
        stmt = (update(callbacks).where(picked_ids(picked), _CB.status == DIALLING)
                .values(owner=instance, running_on=asterisk, lease_until=now + lease_s,
                        fence=_CB.fence + 1, updated_at=now)
                .returning(*_RETURNED))
        with translated("adopting callbacks"):
            async with self._writer.begin() as conn:
                claimed = in_due_order((await conn.execute(stmt)).mappings().all())
                if not claimed:
                    return []
                found = await load_attempts(conn, [row["id"] for row in claimed])
        return [_claim(row, found[row["id"]][-1], adopted=True) for row in claimed if found.get(row["id"])]

    async def renew_leases(self, instance: str, now: float, lease_s: float) -> set[str]:
        """Extend every lease this instance holds, in one statement; the ids it still holds."""
        stmt = (update(callbacks).where(_CB.owner == instance, _CB.status == DIALLING)
                .values(lease_until=now + lease_s).returning(_CB.id))
        with translated("renewing leases"):
            async with self._writer.begin() as conn:
                return set((await conn.execute(stmt)).scalars().all())

    async def cancel_requests(self, instance: str) -> set[str]:
        """The callbacks this instance dials that someone asked to cancel."""
        query = select(_CB.id).where(_CB.owner == instance, _CB.status == DIALLING,
                                     _CB.cancel_requested_at.is_not(None))
        with translated("looking for cancel requests"):
            async with self.engine.connect() as conn:
                return set((await conn.execute(query)).scalars().all())

    async def finished_attempts(self, attempt_ids: Collection[str], ended_before: float) -> set[str]:
        """Which of these attempts ended before ``ended_before`` (for sweeping what they left on
        Asterisk). One that has just ended is not: its owner is still hanging up after it."""
        found: set[str] = set()
        with translated("looking up attempts"):
            async with self.engine.connect() as conn:
                for chunk in chunks(sorted(attempt_ids)):
                    query = select(attempts.c.id).where(attempts.c.id.in_(chunk), attempts.c.state.in_(FINISHED),
                                                        attempts.c.updated_at < ended_before)
                    found.update((await conn.execute(query)).scalars().all())
        return found

    async def next_due(self, asterisk: str) -> float | None:
        """When the next waiting callback this instance may dial is due."""
        query = select(func.min(_CB.due_at)).where(_CB.status.in_(WAITING), _CB.cancel_requested_at.is_(None),
                                                    serving(_CB.asterisk, asterisk))
        with translated("looking for due callbacks"):
            async with self.engine.connect() as conn:
                return (await conn.execute(query)).scalar_one_or_none()


def in_due_order(rows: Any) -> list[Any]:
    # RETURNING gives rows in no promised order, whatever the subquery's ORDER BY said.
    return sorted(rows, key=lambda row: (row["due_at"], row["created_at"], row["id"]))


async def start_attempts(conn: AsyncConnection, claimed: Any, instance: str, now: float) -> list[Claim]:
    """A new attempt for each claimed callback, and its outbox row, in the claim's transaction."""
    if not claimed:
        return []
    new = [{"id": str(uuid.uuid4()), "callback_id": row["id"], "seq": row["attempts"], "instance": instance,
            "state": "new", "created_at": now, "updated_at": now} for row in claimed]
    await conn.execute(attempts.insert(), new)
    await write_events(conn, [event(now, row["client_id"], row["id"], "callback", DIALLING, attempt["id"],
                                    attempt=row["attempts"], instance=instance)
                              for row, attempt in zip(claimed, new, strict=True)])
    return [_claim(row, _fresh_attempt(attempt), adopted=False) for row, attempt in zip(claimed, new, strict=True)]


def _fresh_attempt(row: dict[str, Any]) -> AttemptView:
    return AttemptView(id=row["id"], callback_id=row["callback_id"], seq=row["seq"], instance=row["instance"],
                       state="new", status_detail="", ended_by="", winner_leg=None, created_at=row["created_at"],
                       updated_at=row["updated_at"], connected_at=None, ended_at=None)


def _claim(row: Any, attempt: AttemptView, adopted: bool) -> Claim:
    return Claim(callback_id=row["id"], client_id=row["client_id"], plan=row["plan"], fence=row["fence"],
                 attempt=attempt, adopted=adopted, cancel_requested=row["cancel_requested_at"] is not None,
                 policy=row["policy"], requested_at=row["place_at"] or row["created_at"], due_at=row["due_at"])
