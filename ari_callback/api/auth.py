"""API keys: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; each key names a client."""

from __future__ import annotations

import secrets

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ..callbacks import ServiceError

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")
_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")


def _match(keys: dict[str, str], offered: str) -> str | None:
    found = None
    for key, client in keys.items():   # compare with every key: no timing hint of which matched
        if secrets.compare_digest(key.encode(), offered.encode()):
            found = client
    return found


def client_of(request: Request) -> str | None:
    """The client the request's key belongs to, from its headers alone (the guard asks this
    before the body is read); None without a known key. A request offering two keys must
    offer two good ones for the same client: a wrong one is never overlooked."""
    api_key = request.headers.get("x-api-key")
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = credentials.strip() if scheme.lower() == "bearer" else None
    offered = [key for key in (api_key, bearer) if key]
    clients = {_match(request.app.state.api_keys, key) for key in offered}
    return clients.pop() if len(clients) == 1 else None


async def client_id(request: Request, api_key: str | None = Depends(_api_key),
                    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> str:
    """The client the request's key belongs to; 401 without a known key (the headers are
    declared for the OpenAPI; ``client_of`` reads them)."""
    client = client_of(request)
    if client is None:
        raise ServiceError(401, "unauthorized", UNAUTHORIZED)
    return client


UNAUTHORIZED = "a valid API key is required (Authorization: Bearer <key> or X-API-Key: <key>)"
