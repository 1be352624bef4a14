"""Client variables in the store (seed 002): set, read, removed, one client's at a time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from .db import translated
from .sql import dialect_insert
from .tables import client_variables

_V = client_variables.c


class VariableQueries:
    _writer: Any
    engine: Any

    async def client_variables(self, client_id: str) -> dict[str, str]:
        with translated("reading client variables"):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(select(_V.name, _V.value).where(_V.client_id == client_id)
                                           .order_by(_V.name))).all()
        return {row.name: row.value for row in rows}

    async def set_client_variable(self, client_id: str, name: str, value: str, now: float) -> None:
        self.check_file()   # type: ignore[attr-defined]
        with translated("setting a client variable"):
            async with self._writer.begin() as conn:
                stmt = dialect_insert(conn, client_variables).values(
                    client_id=client_id, name=name, value=value, updated_at=now)
                await conn.execute(stmt.on_conflict_do_update(
                    index_elements=[_V.client_id, _V.name], set_={"value": value, "updated_at": now}))

    async def delete_client_variable(self, client_id: str, name: str) -> bool:
        """False if the client had no such variable."""
        self.check_file()   # type: ignore[attr-defined]
        with translated("removing a client variable"):
            async with self._writer.begin() as conn:
                gone = await conn.execute(delete(client_variables).where(_V.client_id == client_id, _V.name == name))
        return bool(gone.rowcount)
