"""The operator's API: every client, its limits, external numbers (DIDs), extensions and sounds,
with a key of scope ``operator`` (``ari-callback keys create --operator``). It is what
``ari-callback clients|numbers|extensions|sounds`` does on the store, for a control panel that
cannot reach the database. A client's own key gets 403 here, and an operator key 403 on a
client's routes: it acts for no client.

As everywhere in the directory (ari_callback/directory.py), what is stored wins over the
configuration, and what only the configuration has is changed there (409 ``..._in_config``).
"""

from __future__ import annotations

import re
import time

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from ..callbacks import ServiceError, store_errors
from ..config import NAME
from ..directory import ClientChanges
from ..domain.request import NUMBER_RE
from ..keys import Principal
from .auth import operator_key
from .directory import (
    ClientView,
    Extension,
    ExtensionBody,
    Number,
    Sound,
    SoundBody,
    checked_sound_id,
    client_view,
    current,
    directory_of,
    remove_item,
    store_extension,
    store_sound,
)
from .errors import responses

router = APIRouter(prefix="/v1/clients", tags=["operator"])


class Clients(BaseModel):
    clients: list[ClientView]


async def _known(request: Request, client_ref: str) -> str:
    """A client of the configuration or the store, else 404."""
    directory = await current(request)
    if client_ref not in directory.settings.clients:
        raise ServiceError(404, "client_not_found", f"no client {client_ref!r}", "client_id")
    return client_ref


@router.get("", response_model=Clients, responses=responses(401, 403, 503))
async def list_clients(request: Request, _: Principal = Depends(operator_key)) -> Clients:
    """Every client, configured or stored, as every instance sees it."""
    directory = await current(request)
    return Clients(clients=[client_view(directory, cid) for cid in sorted(directory.settings.clients)])


@router.get("/{client_ref}", response_model=ClientView, responses=responses(401, 403, 404, 503))
async def show_client(client_ref: str, request: Request, _: Principal = Depends(operator_key)) -> ClientView:
    """One client: limits, caller id, destination policy, pin, numbers, extensions, sounds."""
    await _known(request, client_ref)
    return client_view(directory_of(request), client_ref)


@router.put("/{client_ref}", response_model=ClientView, responses=responses(401, 403, 413, 422, 503))
async def put_client(client_ref: str, body: ClientChanges, request: Request, response: Response,
                     _: Principal = Depends(operator_key)) -> ClientView:
    """Make a client (201) or set its stored settings (200): the fields given are stored and win
    over the configuration's; a field left out is the configuration's (or the default)."""
    if not re.fullmatch(NAME, client_ref):
        raise ServiceError(422, "invalid_client_id", "a client id is 1-64 letters, digits or _.:@-", "client_id")
    directory = await current(request)
    new = client_ref not in directory.settings.clients
    with store_errors():
        await request.app.state.service.store.put_client(client_ref, body.model_dump(mode="json", exclude_unset=True),
                                                         time.time())
        await directory.refresh()
    response.status_code = 201 if new else 200
    return client_view(directory, client_ref)


@router.delete("/{client_ref}", status_code=204, responses=responses(401, 403, 404, 409, 503))
async def delete_client(client_ref: str, request: Request, _: Principal = Depends(operator_key)) -> Response:
    """Remove what the store holds of the client; a configured client keeps the file's settings
    (409 if the store holds nothing of it). A client that is then gone has its keys revoked."""
    directory = directory_of(request)
    gone_at = None if client_ref in directory.base else time.time()
    with store_errors():
        removed = await request.app.state.service.store.delete_client(client_ref, gone_at)
        await directory.refresh()
    if not removed:
        if client_ref in directory.base:
            raise ServiceError(409, "client_in_config", f"client {client_ref!r} is in the configuration file: "
                                                        "change it there", "client_id")
        raise ServiceError(404, "client_not_found", f"no client {client_ref!r}", "client_id")
    return Response(status_code=204)


@router.put("/{client_ref}/numbers/{number}", response_model=Number, responses=responses(401, 403, 404, 422, 503))
async def put_number(client_ref: str, number: str, request: Request, _: Principal = Depends(operator_key)) -> Number:
    """Give the client a DID: its callbacks may show it as caller id."""
    client = await _known(request, client_ref)
    if not NUMBER_RE.fullmatch(number):
        raise ServiceError(422, "invalid_number", "a number is digits, *, # and an optional leading +", "number")
    with store_errors():
        await request.app.state.service.store.add_number(client, number, time.time())
        await directory_of(request).refresh()
    return Number(number=number, source="store")


@router.delete("/{client_ref}/numbers/{number}", status_code=204, responses=responses(401, 403, 404, 409, 503))
async def delete_number(client_ref: str, number: str, request: Request,
                        _: Principal = Depends(operator_key)) -> Response:
    """Take a stored DID from the client (one from the configuration file stays: 409)."""
    return await remove_item(request, await _known(request, client_ref), "external_numbers", number)


@router.put("/{client_ref}/extensions/{extension_id}", response_model=Extension,
            responses=responses(401, 403, 404, 413, 422, 503))
async def put_extension(client_ref: str, extension_id: str, body: ExtensionBody, request: Request,
                        _: Principal = Depends(operator_key)) -> Extension:
    """Add or change one of the client's extensions."""
    return await store_extension(request, await _known(request, client_ref), extension_id, body)


@router.delete("/{client_ref}/extensions/{extension_id}", status_code=204,
               responses=responses(401, 403, 404, 409, 503))
async def delete_extension(client_ref: str, extension_id: str, request: Request,
                           _: Principal = Depends(operator_key)) -> Response:
    """Remove one of the client's stored extensions."""
    return await remove_item(request, await _known(request, client_ref), "extensions", extension_id)


@router.put("/{client_ref}/sounds/{sound_id}", response_model=Sound, responses=responses(401, 403, 404, 413, 422, 503))
async def put_sound(client_ref: str, sound_id: int, body: SoundBody, request: Request,
                    _: Principal = Depends(operator_key)) -> Sound:
    """Add or change one of the client's sounds."""
    return await store_sound(request, await _known(request, client_ref), sound_id, body)


@router.delete("/{client_ref}/sounds/{sound_id}", status_code=204, responses=responses(401, 403, 404, 409, 503))
async def delete_sound(client_ref: str, sound_id: int, request: Request,
                       _: Principal = Depends(operator_key)) -> Response:
    """Remove one of the client's stored sounds."""
    return await remove_item(request, await _known(request, client_ref), "sounds", checked_sound_id(sound_id))
