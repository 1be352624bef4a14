"""Reading attempts back with their legs and timelines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

from sqlalchemy import Table, case, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .records import AttemptView
from .sql import chunks
from .tables import LEG_FIELDS, TIMELINE_FIELDS, attempts
from .tables import legs as legs_table
from .tables import timeline as timeline_table

_ROLE_ORDER = case({"src": 0, "dst": 1, "xfer": 2}, value=legs_table.c.role, else_=3)
_LEG_ORDER = (_ROLE_ORDER, legs_table.c.idx, legs_table.c.id)
_ENTRY_ORDER = (timeline_table.c.seq,)
_ATTEMPT_COLUMNS = [attempts.c[f.name] for f in fields(AttemptView) if f.name not in ("legs", "timeline")]


async def load_attempts(conn: AsyncConnection, callback_ids: list[str]) -> dict[str, list[AttemptView]]:
    """The attempts of the given callbacks, oldest first, each with its legs and timeline."""
    found: dict[str, list[AttemptView]] = {}
    for chunk in chunks(callback_ids):
        query = select(*_ATTEMPT_COLUMNS).where(attempts.c.callback_id.in_(chunk)).order_by(attempts.c.seq)
        rows = (await conn.execute(query)).mappings().all()
        ids = [row["id"] for row in rows]
        leg_map = await _children(conn, ids, legs_table, LEG_FIELDS, _LEG_ORDER)
        entries = await _children(conn, ids, timeline_table, TIMELINE_FIELDS, _ENTRY_ORDER)
        for row in rows:
            found.setdefault(row["callback_id"], []).append(AttemptView(
                **row, legs=tuple(leg_map.get(row["id"], ())), timeline=tuple(entries.get(row["id"], ()))))
    return found


async def _children(conn: AsyncConnection, attempt_ids: list[str], table: Table, names: Sequence[str],
                    order: tuple) -> dict[str, list[dict]]:
    """Rows of ``table`` for the given attempts, grouped by attempt id, in ``order``."""
    found: dict[str, list[dict]] = {}
    columns = [table.c[name] for name in names]
    for chunk in chunks(attempt_ids):
        query = (select(table.c.attempt_id, *columns).where(table.c.attempt_id.in_(chunk))
                 .order_by(table.c.attempt_id, *order))
        for row in (await conn.execute(query)).mappings():
            item = dict(row)
            found.setdefault(item.pop("attempt_id"), []).append(item)
    return found
