"""API keys in the store: added, found by hash, listed and revoked (ari_callback/keys.py makes
them). A revoked key keeps its row, so a list shows when it was revoked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from ..keys import StoredKey
from .db import translated
from .tables import api_keys

_K = api_keys.c
_COLUMNS = [_K.id, _K.client_id, _K.name, _K.key_hash, _K.prefix, _K.scope, _K.extension, _K.created_at,
            _K.revoked_at, _K.last_used_at]


def _key(row: Any) -> StoredKey:
    return StoredKey(id=row.id, client_id=row.client_id, name=row.name, key_hash=row.key_hash, prefix=row.prefix,
                     scope=row.scope, extension=row.extension, created_at=row.created_at,
                     revoked_at=row.revoked_at, last_used_at=row.last_used_at)


class ApiKeyQueries:
    _writer: Any
    engine: Any

    async def add_api_key(self, key: StoredKey) -> None:
        self.check_file()   # type: ignore[attr-defined]
        with translated("adding an API key"):
            async with self._writer.begin() as conn:
                await conn.execute(api_keys.insert().values(
                    id=key.id, client_id=key.client_id, name=key.name, key_hash=key.key_hash, prefix=key.prefix,
                    scope=key.scope, extension=key.extension, created_at=key.created_at))

    async def find_api_key(self, key_hash: str) -> StoredKey | None:
        """The live (not revoked) key with this hash. Looked up through the unique index: its
        timing tells at most something about a hash, which leads nowhere near a key."""
        with translated("looking up an API key"):
            async with self.engine.connect() as conn:
                row = (await conn.execute(select(*_COLUMNS).where(
                    _K.key_hash == key_hash, _K.revoked_at.is_(None)))).first()
        return _key(row) if row is not None else None

    async def list_api_keys(self, client_id: str | None = None, *, revoked: bool = False) -> list[StoredKey]:
        """A client's keys (every client's with None), oldest first; revoked ones on request."""
        query = select(*_COLUMNS).order_by(_K.created_at, _K.id)
        if client_id is not None:
            query = query.where(_K.client_id == client_id)
        if not revoked:
            query = query.where(_K.revoked_at.is_(None))
        with translated("listing API keys"):
            async with self.engine.connect() as conn:
                return [_key(row) for row in await conn.execute(query)]

    async def revoke_api_key(self, key_id: str, now: float, client_id: str | None = None) -> StoredKey | None:
        """Revoke the key (of ``client_id`` when given); revoking twice keeps the first time.
        None when there is no such key (of that client)."""
        self.check_file()   # type: ignore[attr-defined]
        owned = [_K.id == key_id] + ([_K.client_id == client_id] if client_id is not None else [])
        with translated("revoking an API key"):
            async with self._writer.begin() as conn:
                await conn.execute(update(api_keys).where(*owned, _K.revoked_at.is_(None)).values(revoked_at=now))
                row = (await conn.execute(select(*_COLUMNS).where(*owned))).first()
        return _key(row) if row is not None else None

    async def touch_api_key(self, key_id: str, now: float) -> None:
        """Note the key's use (the API does so at most once a minute per key)."""
        with translated("noting an API key's use"):
            async with self._writer.begin() as conn:
                await conn.execute(update(api_keys).where(_K.id == key_id).values(last_used_at=now))
