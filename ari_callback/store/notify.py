"""Cancel requests pushed to the owning instance: PostgreSQL's LISTEN/NOTIFY.

A cancel marks the callback and, in the same transaction, notifies channel ``aricb_cancel``
with the callback id; PostgreSQL delivers it at commit to every listening instance, and the
owner acts at once. The mark stays the truth: an instance that was not listening at that
moment (reconnecting) finds it by polling (``DispatchQueries.cancel_requests``). SQLite has
no such channel and relies on the polling alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger("ari_callback.store")
CANCEL_CHANNEL = "aricb_cancel"
RECONNECT_PAUSE_S = 2.0


async def notify_cancel(conn: AsyncConnection, callback_id: str) -> None:
    """In the cancelling transaction: delivered when (and only if) it commits."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_notify(:channel, :id)"), {"channel": CANCEL_CHANNEL, "id": callback_id})


async def listen_for_cancels(url: URL, on_cancel: Callable[[str], None]) -> None:
    """Call ``on_cancel(callback_id)`` for each cancel notified, for ever; reconnects after a
    failure. Returns at once for a database without notifications (SQLite)."""
    if url.get_backend_name() != "postgresql":
        return
    import asyncpg  # only PostgreSQL installs need it

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            conn = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("cannot listen for cancels (%s); polling meanwhile", exc)
            await asyncio.sleep(RECONNECT_PAUSE_S)
            continue
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
        try:
            await conn.add_listener(CANCEL_CHANNEL, lambda _c, _pid, _ch, payload: on_cancel(payload))
            await lost.wait()
            log.warning("the cancel listener's connection ended; reconnecting")
        finally:
            await conn.close(timeout=2)
