"""Small reads for ``/metrics``: each uses an index, so a scrape stays cheap on a big history.

Finished callbacks are not counted here (that would scan the whole history on every scrape):
the instances count the attempts they finish (``aricb_attempts_finished_total``).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .db import translated
from .tables import DIALLING, WAITING, callbacks

_CB = callbacks.c


async def unfinished_by_status(engine: AsyncEngine) -> dict[str, int]:
    """Callbacks queued, scheduled and being dialled, across all instances (zero included)."""
    statuses = (*WAITING, DIALLING)
    query = select(_CB.status, func.count()).where(_CB.status.in_(statuses)).group_by(_CB.status)
    with translated("counting callbacks"):
        async with engine.connect() as conn:
            found = {status: count for status, count in (await conn.execute(query)).all()}
    return {status: found.get(status, 0) for status in statuses}


async def oldest_due(engine: AsyncEngine, now: float) -> float | None:
    """The due time of the longest-overdue click-to-call nobody has claimed yet, or None.
    (Waitlisted callbacks wait for a free agent by design, so they are left out.)"""
    query = select(func.min(_CB.due_at)).where(_CB.status.in_(WAITING), _CB.due_at <= now,
                                                _CB.option_sid.is_(None), _CB.cancel_requested_at.is_(None))
    with translated("reading due callbacks"):
        async with engine.connect() as conn:
            return (await conn.execute(query)).scalar_one_or_none()
