"""API keys: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. A key belongs to one client
and may be limited to reads (``read_only``) or to one extension (an extension user of seed 002).

A key is found by its SHA-256: among the configuration's keys (each compared, in constant time)
and then in the store (one lookup by the unique hash; ari_callback/keys.py says why that is
safe). Nothing is cached: a key revoked on one instance is refused by all at the next request.

A route says what it takes by the dependency it uses, and ``refusal`` decides from that alone,
asked by the guard before the body is read and again by the dependency:

- ``client_id``: a client user's key; an extension user's gets 403 ``forbidden``;
- ``reader_id``: the same, for a POST that only reads (seed 003): a read-only key may use it;
- ``key_holder``: any key, extension users included; the route shows them their extension's only;
- ``operator_key``: the operator's key only (``/v1/clients``); it is refused everywhere else.

A read-only key gets 403 ``forbidden`` on every other method than GET, HEAD and OPTIONS.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ..callbacks import ServiceError, store_errors
from ..keys import OPERATOR, OPERATOR_CLIENT, Principal, key_hash
from ..store import StoreError

log = logging.getLogger("ari_callback.api")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")
_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOUCH_EVERY_S = 60.0                       # last_used_at is this precise, to spare a write per request
SCOPE_KEY = "ari_callback.principal"       # where the guard leaves the principal it found
Kind = Literal["client", "reader", "holder", "operator"]
UNAUTHORIZED = "a valid API key is required (Authorization: Bearer <key> or X-API-Key: <key>)"


@dataclass(frozen=True)
class ConfigKey:
    key_hash: str
    principal: Principal
    name: str = ""


def config_keys(settings: Any) -> list[ConfigKey]:
    """The configuration's keys, hashed like the store's: the secrets are not kept in the app.
    Each is known by ``config-`` and the start of its hash (what /v1/keys lists)."""
    found = []
    for k in settings.config_keys():
        digest = key_hash(k.key.get_secret_value())
        client = OPERATOR_CLIENT if k.scope == OPERATOR else k.client
        found.append(ConfigKey(digest, Principal(client, k.scope, k.extension, "config-" + digest[:12]), k.name))
    return found


def _offered(request: Request) -> list[str]:
    api_key = request.headers.get("x-api-key")
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = credentials.strip() if scheme.lower() == "bearer" else None
    return [key for key in (api_key, bearer) if key]


async def _principal_of_key(app: Any, offered: str) -> Principal | None:
    digest, found = key_hash(offered), None
    for known in app.state.api_keys:   # compared with every one: no timing hint of which matched
        if secrets.compare_digest(known.key_hash, digest):
            found = known.principal
    if found is not None:
        return found
    store = getattr(getattr(app.state, "service", None), "store", None)
    if store is None:
        return None
    with store_errors():
        stored = await store.find_api_key(digest)
    if stored is None:
        return None
    await _note_use(store, stored.id, stored.last_used_at)
    return Principal(stored.client_id, stored.scope, stored.extension, stored.id)


async def _note_use(store: Any, key_id: str, last_used_at: float | None) -> None:
    now = time.time()
    if last_used_at is not None and now - last_used_at < TOUCH_EVERY_S:
        return
    try:
        await store.touch_api_key(key_id, now)
    except StoreError as exc:   # a key is no less valid because its use could not be noted
        log.warning("could not note the use of API key %s: %s", key_id, exc)


async def principal_of(request: Request) -> Principal | None:
    """Who the request's key acts for, from its headers alone (the guard asks before the body
    is read); None without a known key. Two keys in one request must both be known and name the
    same client and limits: a wrong one is never overlooked. 503 when the store cannot answer."""
    if SCOPE_KEY in request.scope:
        return request.scope[SCOPE_KEY]
    offered = _offered(request)
    found = {await _principal_of_key(request.app, key) for key in offered}
    return found.pop() if len(found) == 1 and None not in found else None


def refusal(principal: Principal, method: str, kind: Kind) -> str | None:
    """Why this key may not use a route of this kind with this method (403), or None."""
    if kind == "operator":
        return None if principal.operator else ("this route is the operator's: a key made with "
                                                "`ari-callback keys create --operator`")
    if principal.operator:
        return "an operator key manages clients (/v1/clients); a route of a client takes that client's key"
    if principal.extension is not None and kind != "holder":
        return f"this key is limited to extension {principal.extension!r} (seed 002's routes of it)"
    if principal.read_only and method.upper() not in SAFE_METHODS and kind != "reader":
        return "this key is read-only"
    return None


def owns_extension(principal: Principal, extension_id: str | None) -> bool:
    """May this key see what was made through ``extension_id``? A client user sees all."""
    return principal.extension is None or principal.extension == extension_id


async def _checked(request: Request, kind: Kind) -> Principal:
    principal = await principal_of(request)
    if principal is None:
        raise ServiceError(401, "unauthorized", UNAUTHORIZED)
    reason = refusal(principal, request.method, kind)
    if reason is not None:
        raise ServiceError(403, "forbidden", reason)
    clients = getattr(getattr(request.app.state, "service", None), "settings", None)
    if not principal.operator and clients is not None and principal.client_id not in clients.clients:
        # A stored key of a client the operator has removed since (the directory's view).
        raise ServiceError(403, "unknown_client", f"client {principal.client_id!r} is not configured")
    return principal


# The headers are declared for the OpenAPI; principal_of reads them.
async def client_id(request: Request, api_key: str | None = Depends(_api_key),
                    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> str:
    """The client of a client user's key; 401 without a known key, 403 ``forbidden`` past its limits."""
    return (await _checked(request, "client")).client_id


async def reader_id(request: Request, api_key: str | None = Depends(_api_key),
                    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> str:
    """``client_id`` for a POST that only reads: a read-only key may use it."""
    return (await _checked(request, "reader")).client_id


async def key_holder(request: Request, api_key: str | None = Depends(_api_key),
                     bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
    """Any known key, extension users' included: the route limits those to their extension."""
    return await _checked(request, "holder")


async def operator_key(request: Request, api_key: str | None = Depends(_api_key),
                       bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
    """The operator's key (scope ``operator``): every client's directory, and nothing of a client's own."""
    return await _checked(request, "operator")
