"""Statements shared by the store's parts, written once for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from .db import StoreError
from .tables import client_usage, outbox

# Bound parameters per statement stay far below SQLite's and PostgreSQL's limits.
CHUNK = 500


def dialect_insert(conn: Connection | AsyncConnection, table: Table):
    """INSERT with ON CONFLICT, in the spelling of the connection's database."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise StoreError(f"unsupported database {dialect!r}")


def chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def rows(ids: dict[str, str], items: Iterable[dict], fields: Sequence[str], required: frozenset[str],
         defaults: dict[str, Any], what: str) -> list[dict]:
    """Check the caller's dicts and add the ids. A missing optional key is written as its
    default: a leg row is always written whole, never merged with what was there."""
    found = []
    for item in items:
        unknown, missing = set(item) - set(fields), required - set(item)
        if unknown or missing:
            raise ValueError(f"{what}: unknown fields {sorted(unknown)}, missing {sorted(missing)}")
        row = {name: item.get(name, defaults.get(name)) for name in fields}
        row.update(ids)
        found.append(row)
    return found


def event(at: float, client_id: str, callback_id: str, kind: str, status: str,
          attempt_id: str | None = None, **detail: Any) -> dict[str, Any]:
    """One outbox row: a status change of a callback or of an attempt."""
    return {"at": at, "client_id": client_id, "callback_id": callback_id, "attempt_id": attempt_id,
            "kind": kind, "status": status, "detail": detail}


async def write_events(conn: AsyncConnection, events: list[dict[str, Any]]) -> None:
    if events:
        await conn.execute(outbox.insert(), events)


async def release_usage(conn: AsyncConnection, client_id: str, count: int = 1) -> None:
    """A callback finished: it no longer counts against its client's limit."""
    await conn.execute(update(client_usage).where(client_usage.c.client_id == client_id)
                       .values(active=client_usage.c.active - count))
