"""The waitlists of call options: claims that respect an option's capacity, and what the
forecasts and the callback-status API read.

An option's claim runs in one transaction that first locks the option's row: instances claiming
for the same option at once take turns there (each claim is one short statement), so the count
of its callbacks being dialled plus those claimed never passes its capacity. Other options and
click-to-calls are not held up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .db import translated
from .dispatch import claiming, in_due_order, serving, start_attempts
from .records import CallbackView, Claim
from .tables import DIALLING, FINISHED, WAITING, attempts, call_options, callbacks
from .writer import Writer

_CB = callbacks.c
_VIEW = [_CB[f.name] for f in fields(CallbackView) if f.name != "attempt_list"]


class WaitlistQueries:
    engine: AsyncEngine
    _writer: Writer

    def check_file(self) -> None: ...

    async def due_options(self, asterisk: str, now: float) -> dict[str, int]:
        """Options with callbacks that are due and not claimed: option sid -> how many."""
        query = (select(_CB.option_sid, func.count()).where(
            _CB.option_sid.is_not(None), _CB.status.in_(WAITING), _CB.due_at <= now,
            _CB.cancel_requested_at.is_(None), serving(_CB.asterisk, asterisk)).group_by(_CB.option_sid))
        with translated("looking at waitlists"):
            async with self.engine.connect() as conn:
                return {sid: count for sid, count in (await conn.execute(query)).all()}

    async def claim_option(self, instance: str, asterisk: str, option_sid: str, capacity: int,
                           now: float, lease_s: float, limit: int = 1000,
                           clock: Callable[[], float] | None = None) -> list[Claim]:
        """Take the option's first due callbacks, in waitlist order, as far as its capacity (and
        ``limit``, what this instance has room for) allows. With ``clock``, the attempts are
        stamped with its time once the option is counted: a claim that waited for its turn
        behind the transaction that ended the option's last call starts after that call."""
        self.check_file()
        with translated("claiming from a waitlist"):
            async with self._writer.begin() as conn:
                await conn.execute(select(call_options.c.sid).where(call_options.c.sid == option_sid)
                                   .with_for_update())
                busy = (await conn.execute(select(func.count()).where(
                    _CB.option_sid == option_sid, _CB.status == DIALLING))).scalar_one()
                room = min(capacity - busy, limit)
                if room <= 0:
                    return []
                now = max(now, clock()) if clock is not None else now
                picked = (select(_CB.id).where(_CB.option_sid == option_sid, _CB.status.in_(WAITING),
                                               _CB.due_at <= now, _CB.cancel_requested_at.is_(None),
                                               serving(_CB.asterisk, asterisk))
                          .order_by(_CB.place_at, _CB.id).limit(room).with_for_update(skip_locked=True))
                stmt = claiming(picked, instance, asterisk, now, lease_s)
                claimed = in_due_order((await conn.execute(stmt)).mappings().all())
                return await start_attempts(conn, claimed, instance, now)

    async def waitlist(self, option_sid: str) -> tuple[list[Any], list[float]]:
        """The option's waiting callbacks (id, place_at, due_at) and the start times of its
        attempts running now."""
        waiting = select(_CB.id, _CB.place_at, _CB.due_at, _CB.status, _CB.number).where(
            _CB.option_sid == option_sid, _CB.status.in_(WAITING), _CB.cancel_requested_at.is_(None))
        running = (select(func.max(attempts.c.created_at)).join(callbacks, attempts.c.callback_id == _CB.id)
                   .where(_CB.option_sid == option_sid, _CB.status == DIALLING).group_by(_CB.id))
        with translated("reading a waitlist"):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(waiting)).all()
                started = (await conn.execute(running)).scalars().all()
        return list(rows), [float(s) for s in started]

    async def history(self, option_sid: str, since: float) -> list[tuple[float, float | None, float]]:
        """The option's attempts that ended since ``since``: (started, connected, ended)."""
        query = (select(attempts.c.created_at, attempts.c.connected_at, attempts.c.ended_at)
                 .join(callbacks, attempts.c.callback_id == _CB.id)
                 .where(_CB.option_sid == option_sid, attempts.c.ended_at >= since,
                        attempts.c.state.in_(FINISHED)))
        with translated("reading an option's history"):
            async with self.engine.connect() as conn:
                return [(r[0], r[1], r[2]) for r in (await conn.execute(query)).all()]

    async def scheduled_starts(self, option_sid: str, start: float, end: float) -> list[float]:
        """When the option's scheduled callbacks in [start, end) are due (for free slots)."""
        query = select(_CB.due_at).where(_CB.option_sid == option_sid, _CB.status == "scheduled",
                                         _CB.due_at >= start, _CB.due_at < end)
        with translated("reading bookings"):
            async with self.engine.connect() as conn:
                return list((await conn.execute(query)).scalars().all())

    async def by_number(self, client_id: str, number: str, limit: int = 50) -> list[CallbackView]:
        """The client's customer callbacks to this number, newest first."""
        query = (select(*_VIEW).where(_CB.client_id == client_id, _CB.number == number)
                 .order_by(_CB.created_at.desc()).limit(limit))
        with translated("looking up a number"):
            async with self.engine.connect() as conn:
                return [CallbackView(**row) for row in (await conn.execute(query)).mappings().all()]

    async def customer_calls(self, client_id: str, *, created_from: float | None = None,
                             created_to: float | None = None, option_sids: list[str] | None = None,
                             statuses: list[str] | None = None, limit: int = 100,
                             offset: int = 0) -> list[CallbackView]:
        """The client's customer callbacks, newest first, filtered (the Fonolo API's lists)."""
        query = select(*_VIEW).where(_CB.client_id == client_id, _CB.option_sid.is_not(None))
        if created_from is not None:
            query = query.where(_CB.created_at >= created_from)
        if created_to is not None:
            query = query.where(_CB.created_at < created_to)
        if option_sids is not None:
            query = query.where(_CB.option_sid.in_(option_sids))
        if statuses is not None:
            query = query.where(_CB.status.in_(statuses))
        query = query.order_by(_CB.created_at.desc(), _CB.id.desc()).limit(limit).offset(offset)
        with translated("listing customer callbacks"):
            async with self.engine.connect() as conn:
                return [CallbackView(**row) for row in (await conn.execute(query)).mappings().all()]
