"""Reading the outbox for the live event stream (``GET /v1/events``): read only.

Rows are read by id, the outbox's order. The hub reads every client's new rows once per poll
(one range scan on the primary key, whatever the number of listeners); a resuming listener
reads its own client's rows between two ids. Webhooks keep their own position and tables.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .db import translated
from .sql import chunks
from .tables import outbox

_COLUMNS = (outbox.c.id, outbox.c.at, outbox.c.client_id, outbox.c.callback_id, outbox.c.attempt_id,
            outbox.c.kind, outbox.c.status, outbox.c.detail)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    at: float
    client_id: str
    callback_id: str
    attempt_id: str | None
    kind: str
    status: str
    detail: dict[str, Any]


def _rows(found: Any) -> list[OutboxRow]:
    return [OutboxRow(**{**row, "detail": row["detail"] or {}}) for row in found.mappings()]


async def latest_id(engine: AsyncEngine) -> int:
    """The highest id written so far (0 for an empty outbox)."""
    with translated("reading the outbox"):
        async with engine.connect() as conn:
            return (await conn.execute(select(func.max(outbox.c.id)))).scalar_one_or_none() or 0


async def ids_between(engine: AsyncEngine, low: int, high: int) -> list[int]:
    """The ids present with ``low < id <= high``."""
    query = select(outbox.c.id).where(outbox.c.id > low, outbox.c.id <= high)
    with translated("reading the outbox"):
        async with engine.connect() as conn:
            return list((await conn.execute(query)).scalars())


async def rows_after(engine: AsyncEngine, after: int, limit: int) -> list[OutboxRow]:
    """Every client's rows with an id above ``after``, in id order."""
    query = select(*_COLUMNS).where(outbox.c.id > after).order_by(outbox.c.id).limit(limit)
    with translated("reading the outbox"):
        async with engine.connect() as conn:
            return _rows(await conn.execute(query))


async def rows_with_ids(engine: AsyncEngine, ids: Collection[int]) -> list[OutboxRow]:
    """Those of ``ids`` that exist now (a gap in the ids that a slow transaction has filled)."""
    found: list[OutboxRow] = []
    with translated("reading the outbox"):
        async with engine.connect() as conn:
            for chunk in chunks(sorted(ids)):   # type: ignore[arg-type]
                query = select(*_COLUMNS).where(outbox.c.id.in_(chunk)).order_by(outbox.c.id)
                found.extend(_rows(await conn.execute(query)))
    return found


async def client_rows(engine: AsyncEngine, client_id: str, after: int, upto: int, *,
                      callback_id: str | None = None, limit: int = 500) -> list[OutboxRow]:
    """One client's rows with ``after < id <= upto``, in id order, at most ``limit``."""
    query = (select(*_COLUMNS).where(outbox.c.client_id == client_id, outbox.c.id > after, outbox.c.id <= upto)
             .order_by(outbox.c.id).limit(limit))
    if callback_id is not None:
        query = query.where(outbox.c.callback_id == callback_id)
    with translated("reading the outbox"):
        async with engine.connect() as conn:
            return _rows(await conn.execute(query))
