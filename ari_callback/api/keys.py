"""``/v1/keys``: a client makes, lists and revokes its own API keys. A new key is in the answer
to its creation only; lists show its prefix. Keys the configuration seeds are listed too
(``source: config``) and are revoked by editing the configuration."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ..callbacks import ServiceError, store_errors
from ..keys import StoredKey, make_key
from .auth import client_id
from .errors import responses
from .views import iso

router = APIRouter(prefix="/v1", tags=["API keys"])


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=128, description="what the key is for, to tell keys apart")
    scope: Literal["full", "read_only"] = Field("full", description="read_only: 403 forbidden on writes")
    extension: str | None = Field(None, max_length=64, description=(
        "an extension user's key: seed 002's routes of this extension only"))


class KeyView(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="the key's first characters, to recognise it")
    scope: str
    extension: str | None
    source: Literal["store", "config"]
    created_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class KeyCreated(KeyView):
    key: str = Field(description="the key itself: shown now and never again")


def key_view(key: StoredKey) -> KeyView:
    return KeyView(id=key.id, name=key.name, prefix=key.prefix, scope=key.scope, extension=key.extension,
                   source="config" if key.source == "config" else "store",
                   created_at=iso(key.created_at) if key.source == "store" else None,
                   last_used_at=iso(key.last_used_at), revoked_at=iso(key.revoked_at))


@router.post("/keys", status_code=201, response_model=KeyCreated, responses=responses(401, 403, 404, 413, 422, 503))
async def create_key(body: KeyRequest, request: Request, response: Response,
                     client: str = Depends(client_id)) -> KeyCreated:
    """A new key of this client; the answer is the only place the key is ever shown."""
    extensions = request.app.state.service.settings.clients.get(client)
    if body.extension is not None and (extensions is None or body.extension not in extensions.extensions):
        raise ServiceError(404, "extension_not_found", f"no extension {body.extension!r}", "extension")
    made = make_key(client, time.time(), name=body.name, scope=body.scope, extension=body.extension)
    with store_errors():
        await request.app.state.service.store.add_api_key(made.stored)
    response.headers["Location"] = f"/v1/keys/{made.stored.id}"
    return KeyCreated(**key_view(made.stored).model_dump(), key=made.secret)


@router.get("/keys", response_model=list[KeyView], responses=responses(401, 403, 503))
async def list_keys(request: Request, revoked: bool = False, client: str = Depends(client_id)) -> list[KeyView]:
    """This client's keys, without their secrets: the configuration's, then the store's
    (``revoked=true`` adds the revoked ones)."""
    with store_errors():
        stored = await request.app.state.service.store.list_api_keys(client, revoked=revoked)
    return [key_view(k) for k in config_keys_of(request, client) + stored]


@router.delete("/keys/{key_id}", status_code=204, responses=responses(401, 403, 404, 409, 503))
async def revoke_key(key_id: str, request: Request, client: str = Depends(client_id)) -> Response:
    """Revoke one of this client's keys: refused from the next request on, on every instance."""
    if any(k.id == key_id for k in config_keys_of(request, client)):
        raise ServiceError(409, "key_in_config", "this key is seeded by the configuration: remove it there")
    with store_errors():
        revoked = await request.app.state.service.store.revoke_api_key(key_id, time.time(), client_id=client)
    if revoked is None:
        raise ServiceError(404, "key_not_found", f"no API key {key_id!r}")
    return Response(status_code=204)


def config_keys_of(request: Request, client: str) -> list[StoredKey]:
    """The configuration's keys of this client, as the list shows them (by id, never by secret)."""
    return [StoredKey(id=k.principal.key_id or "", client_id=client, name=k.name, key_hash=k.key_hash,
                      prefix="(config)", scope=k.principal.scope, extension=k.principal.extension, created_at=0.0,
                      source="config")
            for k in request.app.state.api_keys if k.principal.client_id == client]
