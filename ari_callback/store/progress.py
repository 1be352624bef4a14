"""An attempt's progress, written after each step of its call machine, under its lease.

One transaction per step: the attempt row (fenced: refused unless this instance still holds
the callback with the same fencing token), its legs, its new timeline entries, an outbox row
when its state changed and, on the last step, the callback's outcome and its place in the
client's limit given back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .batch import StepBatcher
from .db import LeaseLost, StoreError
from .records import Lease, Progress
from .sql import dialect_insert, event, release_usage, rows, write_events
from .tables import LEG_FIELDS, TIMELINE_FIELDS, attempts, callbacks
from .tables import legs as legs_table
from .tables import timeline as timeline_table
from .writer import Writer

_LEG_REQUIRED = frozenset({"id", "role", "number"})
_LEG_DEFAULTS = {"idx": 0, "cause_txt": "", "dialstatus": "", "hangup_reason": "", "outcome": ""}
_ENTRY_REQUIRED = frozenset({"seq", "at", "kind"})


_A = attempts.c
_PROGRESS = ("state", "status_detail", "ended_by", "winner_leg", "connected_at", "ended_at", "updated_at", "snapshot")
# The step's attempt row, fenced: written only while this instance still holds the callback with
# the same fencing token. Built once (making it per step was a tenth of a step's CPU).
_UPDATE_ATTEMPT = update(attempts).where(
    _A.id == bindparam("held_attempt"),
    exists().where(callbacks.c.id == bindparam("held_callback"), callbacks.c.owner == bindparam("held_by"),
                   callbacks.c.fence == bindparam("held_fence")),
).values({name: bindparam(f"new_{name}", type_=_A[name].type) for name in _PROGRESS})


@dataclass(frozen=True)
class _Step:
    lease: Lease
    progress: Progress
    leg_rows: list[dict[str, Any]]
    entry_rows: list[dict[str, Any]]


class ProgressWrites:
    engine: AsyncEngine
    _writer: Writer
    _steps: StepBatcher

    def check_file(self) -> None: ...

    async def save_attempt(self, lease: Lease, progress: Progress) -> None:
        """Write one step: all or nothing (steps of several calls may share one transaction,
        each in its own savepoint: store.batch). Raises ``LeaseLost`` when another instance has
        the callback now: the caller must stop acting on the call."""
        ids = {"callback_id": lease.callback_id, "attempt_id": lease.attempt_id}
        leg_rows = rows(ids, progress.legs, LEG_FIELDS, _LEG_REQUIRED, _LEG_DEFAULTS, "leg")
        entry_rows = rows(ids, progress.timeline, TIMELINE_FIELDS, _ENTRY_REQUIRED, {}, "timeline entry")
        for row in entry_rows:
            row["detail"] = row["detail"] or {}
        self.check_file()
        await self._steps.submit(_Step(lease, progress, leg_rows, entry_rows))


async def write_step(conn: AsyncConnection, step: _Step) -> None:
    """One step's rows, inside the caller's transaction (a savepoint of it)."""
    lease, progress = step.lease, step.progress
    try:
        await _update_attempt(conn, lease, progress)
        if step.leg_rows:
            await conn.execute(_leg_upsert(conn), step.leg_rows)
        if step.entry_rows:
            await conn.execute(timeline_table.insert(), step.entry_rows)
        await _report(conn, lease, progress)
    except sa_exc.IntegrityError as exc:
        raise StoreError(f"attempt {lease.attempt_id!r}: progress refused, nothing saved: "
                         f"{exc.orig}") from exc


async def _update_attempt(conn: AsyncConnection, lease: Lease, p: Progress) -> None:
    values = dict(state=p.state, status_detail=p.status_detail, ended_by=p.ended_by, winner_leg=p.winner_leg,
                  connected_at=p.connected_at, ended_at=p.ended_at, updated_at=p.at, snapshot=p.snapshot)
    params = {f"new_{name}": value for name, value in values.items()}
    params.update(held_attempt=lease.attempt_id, held_callback=lease.callback_id, held_by=lease.instance,
                  held_fence=lease.fence)
    if (await conn.execute(_UPDATE_ATTEMPT, params)).rowcount == 0:
        raise LeaseLost(f"attempt {lease.attempt_id!r}: callback {lease.callback_id!r} is no longer "
                        f"held by {lease.instance!r} with fence {lease.fence}")


async def _report(conn: AsyncConnection, lease: Lease, p: Progress) -> None:
    """The outbox rows of this step and, on the last one, the callback's outcome."""
    found = []
    if p.state != p.previous_state:
        found.append(event(p.at, lease.client_id, lease.callback_id, "attempt", p.state, lease.attempt_id,
                           previous=p.previous_state, status_detail=p.status_detail))
    if p.final and p.retry_at is not None:
        # Back in its waitlist at its old place, not before the retry is due.
        await conn.execute(update(callbacks).where(callbacks.c.id == lease.callback_id).values(
            status="queued", due_at=p.retry_at, status_detail=p.status_detail, ended_by=p.ended_by,
            updated_at=p.at, owner=None, lease_until=None))
        found.append(event(p.at, lease.client_id, lease.callback_id, "callback", "queued", lease.attempt_id,
                           previous="dialling", status_detail=p.status_detail, retry_at=p.retry_at))
    elif p.final:
        option = (await conn.execute(update(callbacks).where(callbacks.c.id == lease.callback_id).values(
            status=p.state, status_detail=p.status_detail, ended_by=p.ended_by, connected_at=p.connected_at,
            ended_at=p.ended_at, updated_at=p.at, owner=None, lease_until=None)
            .returning(callbacks.c.option_sid))).scalar_one_or_none()
        if option is None:   # customer callbacks wait in their option's waitlist, not in the client's limit
            await release_usage(conn, lease.client_id)
        found.append(event(p.at, lease.client_id, lease.callback_id, "callback", p.state, lease.attempt_id,
                           previous="dialling", status_detail=p.status_detail, ended_by=p.ended_by))
    await write_events(conn, found)


# Built once per database: making it (``excluded`` and its columns) cost about 1.2 ms of CPU, a
# fifth of a whole step's, each time; a Core statement can be executed again and again.
_LEG_UPSERTS: dict[str, Any] = {}


def _leg_upsert(conn: AsyncConnection):
    dialect = conn.dialect.name
    if dialect not in _LEG_UPSERTS:
        stmt = dialect_insert(conn, legs_table)
        changing = {name: stmt.excluded[name] for name in LEG_FIELDS if name != "id"}
        # A leg id names its attempt (cb-<attempt>-...), so a clash with another attempt's leg
        # is a bug; the WHERE makes sure such a clash can never overwrite the other call's record.
        _LEG_UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=[legs_table.c.id], set_=changing, where=legs_table.c.attempt_id == stmt.excluded.attempt_id)
    return _LEG_UPSERTS[dialect]


