"""What every HTTP request goes through before a route sees it (docs/api-safety.md).

In order, in one pure ASGI middleware:

1. The route is looked up. A route that needs a key (it depends on ``auth.client_id``,
   ``auth.reader_id``, ``auth.key_holder`` or ``fonolo_wire.fonolo_client``) gets its key
   checked now, from the headers alone: a request without a good key is a 401, and a key past
   its limits (read-only, or an extension user's) a 403 ``forbidden``, before a byte of its
   body is read.
2. The body is read, at most ``http.max_body_bytes`` of it: a larger ``Content-Length`` is a
   413 ``request_too_large`` at once, and so is a body that streams past the limit.
3. A JSON body is checked once for what the routes' parser would choke on or accept by
   surprise: not UTF-8, not JSON, NaN or Infinity (400 ``malformed_json``), nested deeper
   than ``http.max_json_depth`` (422 ``too_deep``), a key given twice (422 ``duplicate_key``).
4. A POST that starts a call and carries an ``Idempotency-Key`` runs at most once per client
   and key (api/idempotency.py).
5. Anything unexpected is a 500 ``internal_error`` in the shape's error format, logged with
   its traceback; never a plain-text page.

Errors come in the format of the API shape the path belongs to (errors.shaped_error).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..callbacks import ServiceError
from ..keys import Principal
from . import auth, fonolo_wire, idempotency
from .auth import Kind
from .errors import shaped_error

log = logging.getLogger("ari_callback.api")
JSON_TYPES = ("application/json", "+json")
DRAIN_S, DRAIN_BYTES = 1.0, 16 * 1024 * 1024   # after an early 401 or 413 (see drain)


@dataclass(frozen=True)
class RouteInfo:
    auth: Callable[[Request], Awaitable[Principal | None]] | None   # None: the route needs no key
    unauthorized: str
    idempotent: bool
    kind: Kind = "client"      # what the key may be (auth.refusal)


_NO_ROUTE = RouteInfo(None, "", False)
_KINDS: tuple[tuple[Any, auth.Kind], ...] = ((auth.client_id, "client"), (auth.reader_id, "reader"),
                                            (auth.key_holder, "holder"), (auth.operator_key, "operator"))


async def _fonolo_principal(request: Request) -> Principal | None:
    """Fonolo's account credentials are the configuration's; an account may be read-only."""
    found = fonolo_wire.fonolo_account_of(request)
    if found is None:
        return None
    sid, client = found
    return Principal(client, request.app.state.fonolo_scopes.get(sid, "full"))


def _calls(dependant: Any) -> set[Any]:
    found = set()
    for sub in getattr(dependant, "dependencies", ()):
        found.add(sub.call)
        found |= _calls(sub)
    return found


def route_info(route: Any) -> RouteInfo:
    calls = _calls(getattr(route, "dependant", None))
    idempotent = idempotency.idempotency_key in calls
    for dependency, kind in _KINDS:
        if dependency in calls:
            return RouteInfo(auth.principal_of, auth.UNAUTHORIZED, idempotent, kind)
    if fonolo_wire.fonolo_client in calls:
        return RouteInfo(_fonolo_principal, fonolo_wire.UNAUTHORIZED, idempotent)
    return RouteInfo(None, "", idempotent)


def _flattened(routes: Any) -> list[Any]:
    """Every route, in matching order. Newer FastAPI keeps an included router as one entry
    whose routes are its "effective route contexts" (each with ``matches`` and ``dependant``)."""
    found = []
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            found.extend(route.effective_route_contexts())
        else:
            found.append(route)
    return found


class Guard:
    def __init__(self, app: ASGIApp):
        self.app = app
        self._candidates: list[tuple[Any, RouteInfo]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._guarded(scope, receive, tracked)
        except Disconnected:
            return   # the client left while sending: nobody to answer
        except Exception:
            log.exception("%s %s: unexpected error", scope.get("method"), scope.get("path"))
            if started:
                raise
            await shaped_error(scope["path"], 500, "internal_error",
                               "an unexpected error; it was logged")(scope, receive, send)

    def _route(self, scope: Scope) -> RouteInfo:
        if self._candidates is None:   # the routes are all there by the first request
            self._candidates = [(route, route_info(route)) for route in _flattened(scope["app"].router.routes)]
        for route, info in self._candidates:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return info
        return _NO_ROUTE

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, state = scope["path"], scope["app"].state
        limits = state.http_settings
        info = self._route(scope)
        request = Request(scope)
        principal = None
        if info.auth is not None:
            principal, refused = await _authorized(request, info)
            if refused is not None:
                await refused(scope, receive, send)
                await drain(request, receive)
                return
        too_large = shaped_error(path, 413, "request_too_large",
                                 f"the body is larger than {limits.max_body_bytes} bytes (http.max_body_bytes)",
                                 headers={"Connection": "close"})
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_body_bytes:
            await too_large(scope, receive, send)
            await drain(request, receive)
            return
        body = await read_body(receive, limits.max_body_bytes)
        if body is None:
            await too_large(scope, receive, send)
            await drain(request, receive, started=True)
            return
        canonical = body
        if body and info is not _NO_ROUTE and is_json(request.headers.get("content-type")):
            try:
                canonical = canonical_json(check_json(body, limits.max_json_depth))
            except ServiceError as exc:
                await shaped_error(path, exc.status, exc.error_id, exc.message, exc.field)(scope, receive, send)
                return
        replay = replaying(body, receive)
        key = request.headers.get("idempotency-key")
        if info.idempotent and principal is not None and key is not None and scope["method"] == "POST":
            fingerprint = hashlib.sha256(b"\n".join((scope["method"].encode(), path.encode(),
                                                     scope.get("query_string", b""), canonical))).hexdigest()
            await idempotency.run(self.app, scope, replay, send, client=principal.client_id, key=key,
                                  fingerprint=fingerprint)
            return
        await self.app(scope, replay, send)


async def _authorized(request: Request, info: RouteInfo) -> tuple[Principal | None, Response | None]:
    """The request's principal, or the answer refusing it: 401, 403 ``forbidden``, or 503 when
    the store cannot say. The principal is left in the scope for the route's dependency."""
    path = request.url.path
    assert info.auth is not None
    try:
        principal = await info.auth(request)
    except ServiceError as exc:
        return None, shaped_error(path, exc.status, exc.error_id, exc.message)
    if principal is None:
        return None, shaped_error(path, 401, "unauthorized", info.unauthorized)
    reason = auth.refusal(principal, request.method, info.kind)
    if reason is not None:
        return None, shaped_error(path, 403, "forbidden", reason)
    request.scope[auth.SCOPE_KEY] = principal
    return principal, None


class Disconnected(Exception):
    pass


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` bytes (the rest is never read)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def drain(request: Request, receive: Receive, started: bool = False) -> None:
    """After an early answer, read and drop what the client still sends, for a moment.

    Closing a socket with unread data makes the kernel send a reset, which can destroy our
    answer before the client reads it: a client sending a large body without waiting gets a
    "connection reset" instead of its 401 or 413. So the rest is discarded (never kept) for up to
    ``DRAIN_S`` or ``DRAIN_BYTES``, then the connection is closed. A client that asked
    ``Expect: 100-continue`` (curl does for large bodies) has sent nothing: reading would invite
    it to send, so it is not read at all."""
    if not started and request.headers.get("expect", "").lower() == "100-continue":
        return
    if not started and not request.headers.get("content-length", "").strip("0") \
            and "chunked" not in request.headers.get("transfer-encoding", "").lower():
        return   # no body
    drained, deadline = 0, time.monotonic() + DRAIN_S
    try:
        while drained < DRAIN_BYTES:
            message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            drained += len(message.get("body", b""))
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                return
    except TimeoutError:
        return


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body read already, then whatever comes next (a disconnect)."""
    given = False

    async def receive_again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


def is_json(content_type: str | None) -> bool:
    """FastAPI parses a body without a Content-Type as JSON too."""
    kind = (content_type or "").split(";")[0].strip().lower()
    return not kind or kind == JSON_TYPES[0] or kind.endswith(JSON_TYPES[1])


class _DuplicateKey(Exception):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise _DuplicateKey(name)
        found[name] = value
    return found


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_json(raw: bytes, max_depth: int) -> Any:
    """The body parsed, or a ServiceError naming what is wrong with it (RFC 8259: UTF-8 only;
    names unique; no NaN or Infinity)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ServiceError(400, "malformed_json", "the request body is not UTF-8 (JSON is sent as UTF-8)") from None
    try:
        value = json.loads(text.removeprefix("\ufeff"), object_pairs_hook=_pairs, parse_constant=_constant)
    except RecursionError:
        raise ServiceError(422, "too_deep", f"the body is nested deeper than {max_depth} levels") from None
    except _DuplicateKey as exc:
        raise ServiceError(422, "duplicate_key", f"the key {exc.args[0]!r} is given twice in an object",
                           str(exc.args[0])) from None
    except ValueError:
        raise ServiceError(400, "malformed_json", "the request body is not valid JSON") from None
    if depth(value, max_depth) > max_depth:
        raise ServiceError(422, "too_deep", f"the body is nested deeper than {max_depth} levels")
    return value


def depth(value: Any, stop: int) -> int:
    """How deep arrays and objects nest (a scalar is 0, ``{}`` 1), counted up to ``stop + 1``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > stop:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def canonical_json(value: Any) -> bytes:
    """The same JSON whatever its spacing and key order: what an idempotency key is tied to."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
