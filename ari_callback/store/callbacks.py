"""Callbacks, their legs and their timeline: what the engine saves and the API shows.

Every write is one transaction. ``save_progress`` is called after every step of a call's state
machine, so a crash loses at most the step being saved, never half of one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, Select, Table, case, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db import WRITE, DuplicateCallback, StoreError, StoreUnavailable, migrate, open_engine, translated
# Aliased: save_progress takes arguments called legs and timeline.
from .tables import FINISHED, LEG_FIELDS, TIMELINE_FIELDS
from .tables import callbacks as callbacks_table
from .tables import legs as legs_table
from .tables import timeline as timeline_table

__all__ = ["CallbackStore", "CallbackView", "DuplicateCallback", "StoreError", "StoreUnavailable"]

_CB = callbacks_table.c
_ROLE_ORDER = case({"src": 0, "dst": 1, "xfer": 2}, value=legs_table.c.role, else_=3)
_LEG_ORDER = (_ROLE_ORDER, legs_table.c.idx, legs_table.c.id)
_ENTRY_ORDER = (timeline_table.c.seq,)
# Bound parameters per statement stay far below SQLite's and PostgreSQL's limits.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class CallbackView:
    """A callback as stored. Legs and timeline entries are dicts keyed by column name."""

    id: str
    client_id: str
    api: str
    status: str
    status_detail: str
    ended_by: str
    request: dict[str, Any]
    response: dict[str, Any] | None
    winner_leg: str | None
    created_at: float
    updated_at: float
    connected_at: float | None
    ended_at: float | None
    legs: tuple[dict[str, Any], ...] = ()
    timeline: tuple[dict[str, Any], ...] = ()

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


# Named rather than select(table): a column added by a later migration must not break the view.
_VIEW_COLUMNS = [_CB[f.name] for f in fields(CallbackView) if f.name not in ("legs", "timeline")]


def _dialect_insert(conn: Connection | AsyncConnection, table):
    """INSERT with ON CONFLICT, in the spelling of the connection's database."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise StoreError(f"unsupported database {dialect!r}")


# What a caller must give for a leg or a timeline entry; the rest defaults to these, or None.
_LEG_REQUIRED = frozenset({"id", "role", "number"})
_LEG_DEFAULTS = {"idx": 0, "cause_txt": "", "dialstatus": "", "hangup_reason": ""}
_ENTRY_REQUIRED = frozenset({"seq", "at", "kind"})


def _rows(call_id: str, items: Iterable[dict], fields: Sequence[str], required: frozenset[str],
          defaults: dict[str, Any], what: str) -> list[dict]:
    """Check the caller's dicts and add the callback id. A missing optional key is written as
    its default: a leg row is always written whole, never merged with what was there."""
    rows = []
    for item in items:
        unknown, missing = set(item) - set(fields), required - set(item)
        if unknown or missing:
            raise ValueError(f"{what}: unknown fields {sorted(unknown)}, missing {sorted(missing)}")
        row = {name: item.get(name, defaults.get(name)) for name in fields}
        row["callback_id"] = call_id
        rows.append(row)
    return rows


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


class CallbackStore:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self._writer = engine.execution_options(**WRITE)

    @classmethod
    async def open(cls, url: str) -> CallbackStore:
        """Connect and bring the schema up to date (safe at every start)."""
        engine = await open_engine(url)
        try:
            await migrate(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine)

    async def close(self) -> None:
        await self.engine.dispose()

    # ------------------------------------------------------------------------- writes
    async def insert(self, *, id: str, client_id: str, api: str, status: str, request: dict,
                     created_at: float, response: dict | None = None) -> None:
        row = dict(id=id, client_id=client_id, api=api, status=status, request=request,
                   response=response, created_at=created_at, updated_at=created_at)
        with translated("storing a callback"):
            async with self._writer.begin() as conn:
                stmt = _dialect_insert(conn, callbacks_table).values(row).on_conflict_do_nothing(
                    index_elements=[_CB.id])
                result = await conn.execute(stmt)
                # ON CONFLICT DO NOTHING rather than catching IntegrityError: only a clash on
                # the id is a duplicate; any other constraint failure stays an error.
                if result.rowcount == 0:
                    raise DuplicateCallback(f"callback {id!r} exists already")

    async def save_progress(self, call_id: str, *, status: str, status_detail: str, ended_by: str,
                            winner_leg: str | None, connected_at: float | None, ended_at: float | None,
                            updated_at: float, legs: list[dict], timeline: list[dict]) -> None:
        """Update the callback, upsert the given legs, append the new timeline entries: all or
        nothing. A timeline ``seq`` that exists already fails the whole save."""
        leg_rows = _rows(call_id, legs, LEG_FIELDS, _LEG_REQUIRED, _LEG_DEFAULTS, "leg")
        entry_rows = _rows(call_id, timeline, TIMELINE_FIELDS, _ENTRY_REQUIRED, {}, "timeline entry")
        for row in entry_rows:
            row["detail"] = row["detail"] or {}
        values = dict(status=status, status_detail=status_detail, ended_by=ended_by,
                      winner_leg=winner_leg, connected_at=connected_at, ended_at=ended_at,
                      updated_at=updated_at)
        with translated("saving a callback's progress"):
            try:
                async with self._writer.begin() as conn:
                    await self._update(conn, call_id, values)
                    if leg_rows:
                        await conn.execute(self._leg_upsert(conn), leg_rows)
                    if entry_rows:
                        await conn.execute(timeline_table.insert(), entry_rows)
            except sa_exc.IntegrityError as exc:
                raise StoreError(f"callback {call_id!r}: progress refused, nothing saved: {exc.orig}") \
                    from exc

    @staticmethod
    def _leg_upsert(conn: AsyncConnection):
        stmt = _dialect_insert(conn, legs_table)
        changing = {name: stmt.excluded[name] for name in LEG_FIELDS if name != "id"}
        # A leg id names its call (cb-<call>-...), so a clash with another callback's leg is a
        # bug; the WHERE makes sure such a clash can never overwrite the other call's record.
        return stmt.on_conflict_do_update(index_elements=[legs_table.c.id], set_=changing,
                                          where=legs_table.c.callback_id == stmt.excluded.callback_id)

    @staticmethod
    async def _update(conn: AsyncConnection, call_id: str, values: dict) -> None:
        result = await conn.execute(update(callbacks_table).where(_CB.id == call_id).values(values))
        if result.rowcount == 0:
            raise StoreError(f"no callback {call_id!r}")

    async def set_response(self, call_id: str, response: dict) -> None:
        with translated("storing a response"):
            async with self._writer.begin() as conn:
                await self._update(conn, call_id, {"response": response})

    # -------------------------------------------------------------------------- reads
    async def get(self, call_id: str, *, client_id: str | None = None) -> CallbackView | None:
        """The callback with its legs and timeline; with ``client_id``, only if it is that
        client's (another client's callback looks exactly like a missing one)."""
        query = select(*_VIEW_COLUMNS).where(_CB.id == call_id)
        if client_id is not None:
            query = query.where(_CB.client_id == client_id)
        found = await self._load(query, with_timeline=True)
        return found[0] if found else None

    async def list_unfinished(self) -> list[CallbackView]:
        """Every callback still under way, oldest first: what to recover after a restart."""
        query = (select(*_VIEW_COLUMNS).where(_CB.status.not_in(FINISHED))
                 .order_by(_CB.created_at, _CB.id))
        return await self._load(query, with_timeline=True)

    async def count_active(self, client_id: str) -> int:
        query = (select(func.count()).select_from(callbacks_table)
                 .where(_CB.client_id == client_id, _CB.status.not_in(FINISHED)))
        with translated("counting callbacks"):
            async with self.engine.connect() as conn:
                return (await conn.execute(query)).scalar_one()

    async def list_recent(self, *, client_id: str | None = None, limit: int = 50) -> list[CallbackView]:
        """Newest first, with legs but without timelines (``get`` has those)."""
        query = select(*_VIEW_COLUMNS).order_by(_CB.created_at.desc(), _CB.id.desc()).limit(limit)
        if client_id is not None:
            query = query.where(_CB.client_id == client_id)
        return await self._load(query, with_timeline=False)

    async def _load(self, query: Select, *, with_timeline: bool) -> list[CallbackView]:
        # One transaction, so on SQLite the callbacks, legs and timeline come from one snapshot.
        with translated("reading callbacks"):
            async with self.engine.connect() as conn, conn.begin():
                rows = (await conn.execute(query)).mappings().all()
                ids = [row["id"] for row in rows]
                leg_map = await self._children(conn, ids, legs_table, LEG_FIELDS, _LEG_ORDER)
                entries = {}
                if with_timeline:
                    entries = await self._children(conn, ids, timeline_table, TIMELINE_FIELDS, _ENTRY_ORDER)
        return [CallbackView(**row, legs=tuple(leg_map.get(row["id"], ())),
                             timeline=tuple(entries.get(row["id"], ()))) for row in rows]

    @staticmethod
    async def _children(conn: AsyncConnection, ids: list[str], table: Table, names: Sequence[str],
                        order: tuple) -> dict[str, list[dict]]:
        """Rows of ``table`` for the given callbacks, grouped by callback id, in ``order``."""
        found: dict[str, list[dict]] = {}
        columns = [table.c[name] for name in names]
        for chunk in _chunks(ids):
            query = (select(table.c.callback_id, *columns).where(table.c.callback_id.in_(chunk))
                     .order_by(table.c.callback_id, *order))
            for row in (await conn.execute(query)).mappings():
                item = dict(row)
                found.setdefault(item.pop("callback_id"), []).append(item)
        return found
