"""``Idempotency-Key`` on the POSTs that start a call, in every API shape (docs/api-safety.md).

A route opts in by depending on ``idempotency_key`` (which also documents the header in the
OpenAPI); the guard (guard.py) then hands a keyed request here, with its client and the
fingerprint of its method, path, query and body.

- The first request with a key runs; its answer (status, body, Content-Type and Location) is
  stored before it is sent, and kept ``http.idempotency.ttl_seconds``.
- A repeat with the same request gets that answer, with ``Idempotent-Replayed: true``.
- A repeat with another request is a 409 ``idempotency_key_reused``.
- A repeat while the first runs waits for its answer up to ``http.idempotency.wait_seconds``,
  then is a 409 ``idempotency_in_progress`` with ``Retry-After: 1``.
- An answer that says "try again" (a 5xx, a 429) or no answer at all (an exception) is not
  kept: the key is released, and a retry runs again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fastapi import Header
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..store import StoreUnavailable
from ..store.idempotency import current_tag
from .errors import shaped_error

log = logging.getLogger("ari_callback.api")
KEPT_HEADERS = ("content-type", "location")
MAX_KEY = 255
FIRST_PAUSE_S, MAX_PAUSE_S = 0.02, 0.25


async def idempotency_key(idempotency_key: str | None = Header(
        None, alias="Idempotency-Key", description=(
            "Any 1 to 255 printable ASCII characters, unique per request you mean (a UUID): the same key "
            "with the same body returns the first answer, and starts no second call; with another body it is "
            "a 409 idempotency_key_reused. Kept 24 h (http.idempotency.ttl_seconds)."))) -> str | None:
    """Marks a route as idempotent: the guard does the work before the route runs."""
    return idempotency_key


def _valid(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY and all(" " <= c <= "~" for c in key)


class _Captured:
    """The owner's answer, held back until it is stored."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.complete = False

    async def send(self, message: Message) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            self.complete = not message.get("more_body", False)

    async def forward(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


def _replay(status: int, headers: dict[str, str] | None, body: str | None) -> Response:
    return Response(content=(body or "").encode(), status_code=status,
                    headers={**(headers or {}), "Idempotent-Replayed": "true"})


async def run(app: ASGIApp, scope: Scope, receive: Receive, send: Send, *, client: str, key: str,
              fingerprint: str) -> None:
    path = scope["path"]
    if not _valid(key):
        await shaped_error(path, 400, "invalid_idempotency_key", f"Idempotency-Key is 1 to {MAX_KEY} printable "
                           "ASCII characters", "Idempotency-Key")(scope, receive, send)
        return
    state = scope["app"].state
    settings, store = state.http_settings.idempotency, state.service.store

    async def claim() -> Any:
        return await store.idempotency_claim(client, key, fingerprint, time.time(), ttl=settings.ttl_seconds,
                                             lock=settings.lock_seconds)

    try:
        found = await claim()
        deadline, pause = time.monotonic() + settings.wait_seconds, FIRST_PAUSE_S
        while not (found is not None and found.owner):
            if found is not None and found.fingerprint != fingerprint:
                await shaped_error(path, 409, "idempotency_key_reused", "this Idempotency-Key was used with another "
                                   "request; use a new key for a new request", "Idempotency-Key")(scope, receive, send)
                return
            if found is not None and found.status is not None:
                await _replay(found.status, found.headers, found.body)(scope, receive, send)
                return
            if time.monotonic() >= deadline:
                await shaped_error(path, 409, "idempotency_in_progress", "a request with this Idempotency-Key is "
                                   "still being handled; try again shortly", "Idempotency-Key",
                                   {"Retry-After": "1"})(scope, receive, send)
                return
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, MAX_PAUSE_S)
            found = await store.idempotency_get(client, key)   # a read: waiting takes no write lock
            now = time.time()
            if found is None or found.expires_at <= now or (
                    found.status is None and found.created_at <= now - settings.lock_seconds):
                found = await claim()   # released, expired or abandoned: try to take it
    except StoreUnavailable as exc:
        await shaped_error(path, 503, "store_unavailable", f"the database is unavailable: {exc}")(
            scope, receive, send)
        return
    await _as_owner(app, scope, receive, send, store, client, key, found)


async def _as_owner(app: ASGIApp, scope: Scope, receive: Receive, send: Send, store: Any, client: str, key: str,
                    claim: Any) -> None:
    captured, created_at = _Captured(), claim.created_at
    tagged = current_tag.set(claim.tag(key))
    try:
        await app(scope, receive, captured.send)
    except BaseException:
        await _release(store, client, key, created_at)
        raise
    finally:
        current_tag.reset(tagged)
    if captured.status >= 500 or captured.status == 429 or not captured.complete:
        await _release(store, client, key, created_at)
    else:
        headers = {name: captured.headers[name] for name in KEPT_HEADERS if name in captured.headers}
        try:
            kept = await store.idempotency_finish(client, key, created_at, captured.status, headers,
                                                  captured.body.decode("utf-8", "replace"), time.time())
            if not kept:
                log.warning("idempotency key of client %s was taken over before its answer was stored", client)
        except Exception:
            # The call is started: answer it. The key stays "in progress" until its lock time.
            log.exception("could not store the answer of an idempotent request of client %s", client)
    await captured.forward(send)


async def _release(store: Any, client: str, key: str, created_at: float) -> None:
    try:
        await asyncio.shield(store.idempotency_release(client, key, created_at))
    except Exception:
        log.exception("could not release an idempotency key of client %s", client)
