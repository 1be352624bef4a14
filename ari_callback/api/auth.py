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


async def client_id(request: Request, api_key: str | None = Depends(_api_key),
                    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> str:
    """The client the request's key belongs to; 401 without a known key. A request offering
    two keys must offer two good ones for the same client: a wrong one is never overlooked."""
    offered = [key for key in (api_key, bearer.credentials if bearer else None) if key]
    clients = {_match(request.app.state.api_keys, key) for key in offered}
    client = clients.pop() if len(clients) == 1 else None
    if client is None:
        raise ServiceError(401, "unauthorized", "a valid API key is required "
                           "(Authorization: Bearer <key> or X-API-Key: <key>)")
    return client
