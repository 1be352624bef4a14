"""The directory in the store: clients (the settings changed from the configuration's), their
extensions, external numbers (DIDs) and sounds, as managed through the API and the CLI.
``ari_callback/directory.py`` merges them over the configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update

from .db import translated
from .sql import dialect_insert
from .tables import api_keys, client_extensions, client_numbers, client_sounds, clients

_C, _E, _N, _S = clients.c, client_extensions.c, client_numbers.c, client_sounds.c


@dataclass
class StoredDirectory:
    """Everything the store holds of the directory, by client."""

    clients: dict[str, dict[str, Any]] = field(default_factory=dict)   # settings changed from the config's
    extensions: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)   # id -> number, name, type
    numbers: dict[str, set[str]] = field(default_factory=dict)
    sounds: dict[str, dict[int, list[str]]] = field(default_factory=dict)


class DirectoryQueries:
    _writer: Any
    engine: Any

    async def read_directory(self) -> StoredDirectory:
        found = StoredDirectory()
        with translated("reading the directory"):
            async with self.engine.connect() as conn:
                for row in (await conn.execute(select(_C.client_id, _C.settings))).all():
                    found.clients[row.client_id] = dict(row.settings)
                for row in (await conn.execute(select(_E.client_id, _E.extension_id, _E.number, _E.name,
                                                      _E.type))).all():
                    found.extensions.setdefault(row.client_id, {})[row.extension_id] = {
                        "number": row.number, "name": row.name, "type": row.type}
                for row in (await conn.execute(select(_N.client_id, _N.number))).all():
                    found.numbers.setdefault(row.client_id, set()).add(row.number)
                for row in (await conn.execute(select(_S.client_id, _S.sound_id, _S.media))).all():
                    found.sounds.setdefault(row.client_id, {})[int(row.sound_id)] = list(row.media)
        return found

    async def put_client(self, client_id: str, settings: dict[str, Any], now: float) -> None:
        """Store the client's settings that differ from the configuration's (all of them for a
        client the configuration does not have)."""
        await self._upsert(clients, [_C.client_id], dict(client_id=client_id, settings=settings, created_at=now,
                                                          updated_at=now), {"settings": settings, "updated_at": now})

    async def delete_client(self, client_id: str, revoke_keys_at: float | None = None) -> bool:
        """Remove what the store holds of the client: its settings, extensions, numbers and
        sounds, and with ``revoke_keys_at`` (a client that is then gone) revoke its keys, so
        that a client made later with its id does not inherit them. False if it held nothing."""
        self.check_file()   # type: ignore[attr-defined]
        gone = 0
        with translated("removing a client"):
            async with self._writer.begin() as conn:
                for table in (clients, client_extensions, client_numbers, client_sounds):
                    gone += (await conn.execute(delete(table).where(table.c.client_id == client_id))).rowcount
                if gone and revoke_keys_at is not None:
                    await conn.execute(update(api_keys).where(api_keys.c.client_id == client_id,
                                                              api_keys.c.revoked_at.is_(None))
                                       .values(revoked_at=revoke_keys_at))
        return gone > 0

    async def put_extension(self, client_id: str, extension_id: str, number: str, name: str, kind: str,
                            now: float) -> None:
        values = dict(number=number, name=name, type=kind, updated_at=now)
        await self._upsert(client_extensions, [_E.client_id, _E.extension_id],
                           dict(client_id=client_id, extension_id=extension_id, **values), values)

    async def delete_extension(self, client_id: str, extension_id: str) -> bool:
        return await self._delete(client_extensions, client_id, _E.extension_id == extension_id)

    async def add_number(self, client_id: str, number: str, now: float) -> None:
        await self._upsert(client_numbers, [_N.client_id, _N.number],
                           dict(client_id=client_id, number=number, updated_at=now), {"updated_at": now})

    async def delete_number(self, client_id: str, number: str) -> bool:
        return await self._delete(client_numbers, client_id, _N.number == number)

    async def put_sound(self, client_id: str, sound_id: int, media: list[str], now: float) -> None:
        await self._upsert(client_sounds, [_S.client_id, _S.sound_id],
                           dict(client_id=client_id, sound_id=sound_id, media=media, updated_at=now),
                           {"media": media, "updated_at": now})

    async def delete_sound(self, client_id: str, sound_id: int) -> bool:
        return await self._delete(client_sounds, client_id, _S.sound_id == sound_id)

    async def _upsert(self, table: Any, keys: list[Any], row: dict[str, Any], changes: dict[str, Any]) -> None:
        self.check_file()   # type: ignore[attr-defined]
        with translated(f"writing {table.name}"):
            async with self._writer.begin() as conn:
                stmt = dialect_insert(conn, table).values(row)
                await conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=changes))

    async def _delete(self, table: Any, client_id: str, which: Any) -> bool:
        """False if there was no such row."""
        self.check_file()   # type: ignore[attr-defined]
        with translated(f"removing from {table.name}"):
            async with self._writer.begin() as conn:
                gone = await conn.execute(delete(table).where(table.c.client_id == client_id, which))
        return bool(gone.rowcount)
