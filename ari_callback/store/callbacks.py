"""The callback store: callbacks, their attempts, legs and timelines, the outbox.

Every write is one transaction, and every status change writes its outbox row in that same
transaction. A callback counts against its client's limit from the transaction that creates it
to the one that finishes it (``client_usage``), so limits hold across instances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .api_keys import ApiKeyQueries
from .batch import StepBatcher
from .db import (
    DuplicateCallback,
    IdempotentRepeat,
    LimitReached,
    PaceReached,
    PendingCallback,
    StoreError,
    StoreUnavailable,
    migrate,
    open_engine,
    translated,
)
from .deliveries import DeliveryQueries
from .directory import DirectoryQueries
from .dispatch import DispatchQueries
from .history import HistoryQuery, history_filters
from .idempotency import IdempotencyQueries, IdempotencyRecord
from .integrity import DatabaseFile
from .notify import listen_for_cancels, notify_cancel
from .profiles import ProfileWrites
from .progress import ProgressWrites, write_step
from .reads import load_attempts
from .records import Admission, AttemptView, CallbackView, NewCallback
from .sql import dialect_insert, event, release_usage, write_events
from .tables import DIALLING, FINISHED, WAITING, callbacks, client_usage
from .variables import VariableQueries
from .waitlist import WaitlistQueries
from .writer import Writer

__all__ = ["CallbackStore", "CallbackView", "DuplicateCallback", "IdempotencyRecord", "LimitReached", "StoreError",
           "StoreUnavailable"]

_CB = callbacks.c
# Named rather than select(table): a column added by a later migration must not break the view.
_VIEW_COLUMNS = [_CB[f.name] for f in fields(CallbackView) if f.name != "attempt_list"]


class CallbackStore(ProgressWrites, DispatchQueries, WaitlistQueries, ProfileWrites, IdempotencyQueries,
                    ApiKeyQueries, VariableQueries, DeliveryQueries, DirectoryQueries):
    def __init__(self, engine: AsyncEngine, file: DatabaseFile | None = None):
        self.engine = engine
        self._writer = Writer(engine)
        self._steps = StepBatcher(self._writer, write_step, "saving an attempt's progress")
        self._file = file

    @property
    def failed_step_writes(self) -> int:
        """Call steps whose save failed with its whole transaction (the database away): /metrics."""
        return self._steps.failed_steps

    def check_file(self) -> None:
        """Before a write: the SQLite file must still be the one opened (see integrity.py)."""
        if self._file is not None:
            self._file.check()

    async def problem(self) -> str | None:
        """What keeps the store from working now, or None: for ``/readyz``."""
        try:
            self.check_file()
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
        except StoreUnavailable as exc:
            return str(exc)
        except Exception as exc:   # whatever the driver says when the database is away
            return f"{type(exc).__name__}: {exc}"
        return None

    @classmethod
    async def open(cls, url: str) -> CallbackStore:
        """Connect and bring the schema up to date (safe at every start)."""
        engine = await open_engine(url)
        try:
            await migrate(engine)
            file = DatabaseFile.of(url)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, file)

    async def close(self) -> None:
        await self.engine.dispose()

    # ------------------------------------------------------------------------- writes
    async def create(self, new: NewCallback, admission: Admission | None = None) -> None:
        """Store an accepted callback, taking its place in the client's limit: all or nothing.
        Raises ``LimitReached`` (nothing stored) or ``DuplicateCallback``."""
        row = dict(id=new.id, client_id=new.client_id, api=new.api, status=new.status,
                   request=new.request, plan=new.plan, created_at=new.created_at,
                   updated_at=new.created_at, due_at=new.due_at, asterisk=new.asterisk,
                   option_sid=new.option_sid, number=new.number, place_at=new.place_at or new.created_at,
                   source=new.source, policy=new.policy, idem_tag=new.idem_tag)
        self.check_file()
        try:
            await self._insert(new, row, admission)
        except sa_exc.IntegrityError:
            # Two requests for one number and option (or one Idempotency-Key) raced past the looks
            # below: the unique index kept the second out, and the first is its answer.
            if new.idem_tag and (first := await self._tagged_for(new)):
                raise IdempotentRepeat(first) from None
            pending = await self._pending_for(new) if new.option_sid else None
            if pending is None:
                raise
            raise PendingCallback(pending) from None

    async def _insert(self, new: NewCallback, row: dict[str, Any], admission: Admission | None) -> None:
        with translated("storing a callback"):
            async with self._writer.begin() as conn:
                if new.idem_tag and (first := await _tagged(conn, new.client_id, new.idem_tag)):
                    raise IdempotentRepeat(first)
                if new.option_sid and (pending := await _pending(conn, new.option_sid, new.number)):
                    raise PendingCallback(pending)
                if admission is not None:
                    await self._admit(conn, new.client_id, admission.allowed)
                    if admission.pace is not None:
                        await _check_pace(conn, new.client_id, admission.pace, new.created_at)
                stmt = dialect_insert(conn, callbacks).values(row).on_conflict_do_nothing(
                    index_elements=[_CB.id])
                # ON CONFLICT DO NOTHING rather than catching IntegrityError: only a clash on
                # the id is a duplicate; any other constraint failure stays an error.
                if (await conn.execute(stmt)).rowcount == 0:
                    raise DuplicateCallback(f"callback {new.id!r} exists already")
                # A customer callback's first event says whom to tell and how (an SMS gateway
                # behind a webhook needs the number and the opt-in); later ones name the callback.
                customer: dict[str, Any] = ({"option": new.option_sid, "number": new.number,
                                             "sms": bool(new.request.get("sms"))} if new.option_sid else {})
                await write_events(conn, [event(new.created_at, new.client_id, new.id, "callback",
                                                new.status, due_at=new.due_at, **customer)])

    async def callback_with_tag(self, client_id: str, idem_tag: str) -> str | None:
        """The callback a use of an Idempotency-Key made (``NewCallback.idem_tag``), if any."""
        with translated("looking for an idempotent callback"):
            async with self.engine.connect() as conn:
                return await _tagged(conn, client_id, idem_tag)

    async def _tagged_for(self, new: NewCallback) -> str | None:
        async with self.engine.connect() as conn:
            return await _tagged(conn, new.client_id, new.idem_tag)

    async def _pending_for(self, new: NewCallback) -> str | None:
        async with self.engine.connect() as conn:
            return await _pending(conn, new.option_sid, new.number)

    @staticmethod
    async def _admit(conn: AsyncConnection, client_id: str, allowed: int) -> None:
        """One statement takes a place if there is one: the row lock is per client, so creates
        of different clients never wait for each other."""
        if allowed <= 0:
            raise LimitReached(client_id, await _active(conn, client_id))
        stmt = dialect_insert(conn, client_usage).values(client_id=client_id, active=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=[client_usage.c.client_id], set_={"active": client_usage.c.active + 1},
            where=client_usage.c.active < allowed).returning(client_usage.c.active)
        if (await conn.execute(stmt)).first() is None:
            raise LimitReached(client_id, await _active(conn, client_id))

    async def request_cancel(self, callback_id: str, client_id: str, now: float) -> CallbackView | None:
        """Mark the callback for cancelling. One still waiting is cancelled here and now; one
        being dialled is cancelled by its owner, which looks for the mark (``cancel_requests``).
        Returns the callback as it was, or None if the client has no such callback."""
        self.check_file()
        with translated("cancelling a callback"):
            async with self._writer.begin() as conn:
                query = (select(*_VIEW_COLUMNS).where(_CB.id == callback_id, _CB.client_id == client_id)
                         .with_for_update())
                found = (await conn.execute(query)).mappings().first()
                if found is None or found["status"] in FINISHED:
                    return CallbackView(**found) if found else None
                values: dict[str, Any] = {"cancel_requested_at": now, "updated_at": now}
                if found["status"] in WAITING:
                    values.update(status="cancelled", status_detail="cancelled", ended_by="cancel",
                                  ended_at=now, owner=None, lease_until=None)
                    if found["option_sid"] is None:   # only click-to-calls count against the limit
                        await release_usage(conn, client_id)
                    await write_events(conn, [event(now, client_id, callback_id, "callback", "cancelled",
                                                    previous=found["status"], status_detail="cancelled")])
                await conn.execute(update(callbacks).where(_CB.id == callback_id).values(values))
                if found["status"] == DIALLING:
                    await notify_cancel(conn, callback_id)
                return CallbackView(**found)

    async def listen_for_cancels(self, on_cancel: Callable[[str], None]) -> None:
        """Cancel requests as they are made on any instance (PostgreSQL; returns on SQLite)."""
        await listen_for_cancels(self.engine.url, on_cancel)

    # -------------------------------------------------------------------------- reads
    async def get(self, callback_id: str, *, client_id: str | None = None) -> CallbackView | None:
        """The callback with its attempts, legs and timelines; with ``client_id``, only if it is
        that client's (another client's callback looks exactly like a missing one)."""
        query = select(*_VIEW_COLUMNS).where(_CB.id == callback_id)
        if client_id is not None:
            query = query.where(_CB.client_id == client_id)
        found = await self._load(query, with_attempts=True)
        return found[0] if found else None

    async def list_unfinished(self) -> list[CallbackView]:
        """Every callback not finished yet, oldest first (without attempts)."""
        query = select(*_VIEW_COLUMNS).where(_CB.status.not_in(FINISHED)).order_by(_CB.created_at, _CB.id)
        return await self._load(query, with_attempts=False)

    async def list_recent(self, *, client_id: str | None = None, limit: int = 50) -> list[CallbackView]:
        """Newest first, without attempts (``get`` has those)."""
        query = select(*_VIEW_COLUMNS).order_by(_CB.created_at.desc(), _CB.id.desc()).limit(limit)
        if client_id is not None:
            query = query.where(_CB.client_id == client_id)
        return await self._load(query, with_attempts=False)

    async def callback_history(self, client_id: str, query: HistoryQuery) -> list[CallbackView]:
        """The client's callbacks matching ``query``, newest first, from after its cursor: one
        page (``query.limit``), without attempts. The range and the order use the index on
        (client_id, created_at); the other filters narrow what that range reads."""
        stmt = select(*_VIEW_COLUMNS).where(_CB.client_id == client_id, *history_filters(query))
        stmt = stmt.order_by(_CB.created_at.desc(), _CB.id.desc()).limit(query.limit)
        return await self._load(stmt, with_attempts=False)

    async def active_count(self, client_id: str) -> int:
        """The client's unfinished callbacks, as admission counts them."""
        with translated("counting callbacks"):
            async with self.engine.connect() as conn:
                return await _active(conn, client_id)

    async def _load(self, query: Select, *, with_attempts: bool) -> list[CallbackView]:
        # One transaction, so on SQLite everything comes from one snapshot.
        with translated("reading callbacks"):
            async with self.engine.connect() as conn, conn.begin():
                found = (await conn.execute(query)).mappings().all()
                by_callback: dict[str, list[AttemptView]] = {}
                if with_attempts and found:
                    by_callback = await load_attempts(conn, [row["id"] for row in found])
        return [CallbackView(**row, attempt_list=tuple(by_callback.get(row["id"], ()))) for row in found]


async def _check_pace(conn: AsyncConnection, client_id: str, pace: tuple[int, float], now: float) -> None:
    """Count the client's callbacks created in the last window. ``_admit``'s upsert holds the
    client's usage row, so a concurrent create of that client (on any instance) waits and then
    counts this one: the limit is exact without a lock over every create."""
    most, window = pace
    started = (await conn.execute(select(func.count()).select_from(callbacks).where(
        _CB.client_id == client_id, _CB.created_at > now - window))).scalar_one()
    if started >= most:
        raise PaceReached(client_id, started, window)


async def _active(conn: AsyncConnection, client_id: str) -> int:
    query = select(client_usage.c.active).where(client_usage.c.client_id == client_id)
    return (await conn.execute(query)).scalar_one_or_none() or 0


async def _pending(conn: AsyncConnection, option_sid: str | None, number: str | None) -> str | None:
    query = select(_CB.id).where(_CB.option_sid == option_sid, _CB.number == number,
                                 _CB.status.in_((*WAITING, DIALLING)))
    return (await conn.execute(query)).scalar_one_or_none()


async def _tagged(conn: AsyncConnection, client_id: str, idem_tag: str | None) -> str | None:
    """The callback this use of an Idempotency-Key made already, if any."""
    query = select(_CB.id).where(_CB.client_id == client_id, _CB.idem_tag == idem_tag)
    return (await conn.execute(query)).scalar()
