"""``Idempotency-Key``: which request of many with one key runs, and the answer the others get.

Insert first: a request with a key inserts ``(client_id, key)`` before it runs. The primary key
lets exactly one insert in, whichever instance it came through (PostgreSQL makes a concurrent
insert of the same key wait for the first one's commit, then do nothing; SQLite has one
writer). The winner runs the request and stores its answer; the others read the row until the
answer is there (the API waits a little, then says 409 ``idempotency_in_progress``).

A row is gone for good after ``expires_at``; an expired row, or one left in progress past the
lock time (its server died mid-request), is taken over by a compare-and-set on its
``created_at``, so two takers cannot both win.

A server may die after storing the callback and before storing its answer. The callback is
tagged with the key's use (``tag``: the key and its ``epoch``, unique per client), so the request
run again by the taker finds that callback and answers with it (``IdempotentRepeat``). A takeover
of an abandoned claim keeps the epoch; a use of the key after it expired gets a new one.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .db import translated
from .sql import dialect_insert
from .tables import idempotency_keys

_IK = idempotency_keys.c
PURGE_EVERY_S = 600.0
PROBE_CLIENT = "~health-probe"   # not a client: the write probe's row, inserted and deleted at once
# The tag of the key's use whose request is running, set by api/idempotency.py around the route:
# the services put it on the callback they store (``NewCallback.idem_tag``).
current_tag: ContextVar[str | None] = ContextVar("idempotency_tag", default=None)


@dataclass(frozen=True)
class IdempotencyRecord:
    """What a request with a key found: ``owner`` when it is the one to run."""

    owner: bool
    fingerprint: str
    status: int | None = None             # None: the first request is still running
    headers: dict[str, str] | None = None
    body: str | None = None
    created_at: float = 0.0
    expires_at: float = float("inf")
    epoch: float = 0.0                    # when this use of the key began (see the module's doc)

    def tag(self, key: str) -> str:
        """What the callback this use makes is tagged with (``callbacks.idem_tag``)."""
        return hashlib.sha256(f"{self.epoch!r}|{key}".encode()).hexdigest()


class IdempotencyQueries:
    _writer: Any
    engine: Any

    async def idempotency_claim(self, client_id: str, key: str, fingerprint: str, now: float, *,
                                ttl: float, lock: float) -> IdempotencyRecord | None:
        """Insert the key (this request runs: ``owner``), or the row found. None when the row
        changed under us (released, taken over): look again."""
        self.check_file()   # type: ignore[attr-defined]
        await self._maybe_purge(now)
        row = dict(client_id=client_id, idem_key=key, fingerprint=fingerprint, status=None, headers=None,
                   body=None, created_at=now, completed_at=None, expires_at=now + ttl, epoch=now)
        with translated("claiming an idempotency key"):
            async with self._writer.begin() as conn:
                stmt = dialect_insert(conn, idempotency_keys).values(row).on_conflict_do_nothing(
                    index_elements=[_IK.client_id, _IK.idem_key])
                if (await conn.execute(stmt)).rowcount == 1:
                    return IdempotencyRecord(True, fingerprint, created_at=now, epoch=now)
                found = await _get(conn, client_id, key)
                if found is None:
                    return None
                expired = found.expires_at <= now
                stale = found.status is None and found.created_at <= now - lock and found.fingerprint == fingerprint
                if not (expired or stale):
                    return found
                epoch = now if expired else found.epoch   # an abandoned claim's callback is this use's
                taken = await conn.execute(
                    update(idempotency_keys).where(_IK.client_id == client_id, _IK.idem_key == key,
                                                   _IK.created_at == found.created_at).values({**row, "epoch": epoch}))
                return IdempotencyRecord(True, fingerprint, created_at=now, epoch=epoch) if taken.rowcount else None

    async def idempotency_get(self, client_id: str, key: str) -> IdempotencyRecord | None:
        with translated("reading an idempotency key"):
            async with self.engine.connect() as conn:
                return await _get(conn, client_id, key)

    async def idempotency_finish(self, client_id: str, key: str, created_at: float, status: int,
                                 headers: dict[str, str], body: str, now: float) -> bool:
        """Store the first answer; False if the row is no longer ours (taken over)."""
        self.check_file()   # type: ignore[attr-defined]
        with translated("storing an idempotent answer"):
            async with self._writer.begin() as conn:
                done = await conn.execute(
                    update(idempotency_keys).where(_IK.client_id == client_id, _IK.idem_key == key,
                                                   _IK.created_at == created_at, _IK.status.is_(None))
                    .values(status=status, headers=headers, body=body, completed_at=now))
                return done.rowcount == 1

    async def idempotency_release(self, client_id: str, key: str, created_at: float) -> None:
        """Free a key whose request gave no answer worth keeping (a 5xx, a 429, an exception):
        a retry of the same request takes it over at once and runs again. The row stays, as an
        abandoned claim (``created_at`` 0), so the retry keeps the key's epoch: had the request
        stored its callback before failing, the retry finds it rather than making another."""
        with translated("releasing an idempotency key"):
            async with self._writer.begin() as conn:
                await conn.execute(update(idempotency_keys).where(
                    _IK.client_id == client_id, _IK.idem_key == key, _IK.created_at == created_at,
                    _IK.status.is_(None)).values(created_at=0.0))

    async def purge_idempotency(self, now: float) -> int:
        """Delete the expired keys; returns how many."""
        with translated("purging idempotency keys"):
            async with self._writer.begin() as conn:
                return (await conn.execute(delete(idempotency_keys).where(_IK.expires_at <= now))).rowcount

    async def _maybe_purge(self, now: float) -> None:
        last = getattr(self, "_idempotency_purged", float("-inf"))
        if time.monotonic() - last >= PURGE_EVERY_S:
            self._idempotency_purged = time.monotonic()
            await self.purge_idempotency(now)

    async def write_problem(self) -> str | None:
        """Can the store write now? One write transaction that inserts a row and deletes it:
        catches a read-only or locked database, a read-only PostgreSQL, a full or read-only disk
        at commit. None when it can."""
        now = time.time()
        try:
            self.check_file()   # type: ignore[attr-defined]
            with translated("probing a write"):
                async with self._writer.begin() as conn:
                    key = uuid.uuid4().hex
                    await conn.execute(idempotency_keys.insert().values(
                        client_id=PROBE_CLIENT, idem_key=key, fingerprint="", created_at=now, expires_at=now))
                    await conn.execute(delete(idempotency_keys).where(
                        _IK.client_id == PROBE_CLIENT, _IK.idem_key == key))
        except Exception as exc:   # whatever the driver says when it cannot write
            return f"the database cannot be written: {exc}"
        return None


async def _get(conn: AsyncConnection, client_id: str, key: str) -> IdempotencyRecord | None:
    query = select(_IK.fingerprint, _IK.status, _IK.headers, _IK.body, _IK.created_at, _IK.expires_at,
                   _IK.epoch).where(_IK.client_id == client_id, _IK.idem_key == key)
    found = (await conn.execute(query)).first()
    if found is None:
        return None
    # A row from before migration 0009 has no epoch: its created_at is the best there is.
    return IdempotencyRecord(False, found.fingerprint, found.status, found.headers, found.body, found.created_at,
                             found.expires_at, found.epoch if found.epoch is not None else found.created_at)
