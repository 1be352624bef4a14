"""A client's own directory through the API: its extensions and its sound library, which it
manages, and its limits and external numbers (DIDs), which it reads.

Limits, numbers and clients themselves are the operator's: they change them with
``ari-callback clients|numbers`` on the store (docs/operations.md), since a tenant that could
raise its own limit or claim a DID to show as caller id would not be limited at all.

Everything written here is stored and reaches every instance (ari_callback/directory.py); what
the configuration defines is a default that a stored item with the same id replaces, and that
is changed in the configuration only (409 ``extension_in_config``, ``sound_in_config``).
Client users only; a read-only key reads.
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..callbacks import ServiceError, store_errors
from ..config import MEDIA_URI, NAME, CallerIdSettings, DestinationSettings
from ..domain.request import CALLER_NAME_RE, NUMBER_RE
from .auth import client_id
from .errors import responses

router = APIRouter(tags=["directory"])
Source = Literal["config", "store"]
MAX_SOUND_ID = 2**53   # seed 002's sound ids are longs; JSON numbers stay exact below this


class ExtensionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(description="the extension's number: caller id of its calls, e.g. 100")
    name: str = Field("", max_length=64, pattern=CALLER_NAME_RE.pattern, description=(
        "caller name of its calls: no quotes, <, > or control characters"))
    type: Literal["phone", "ivr", "queue", "group"] = Field("phone", description=(
        "only a phone extension may start callbacks (seed 002)"))

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        if not NUMBER_RE.fullmatch(value):
            raise ValueError("an extension's number is digits, *, # and an optional leading +")
        return value


class Extension(ExtensionBody):
    id: str
    source: Source = Field(description="config: a default from the configuration file")


class SoundBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    media: list[str] = Field(min_length=1, max_length=20, description=(
        "media URIs played in turn: sound:, recording:, tone:, digits:, number:, characters: or http(s)://"))

    @field_validator("media")
    @classmethod
    def _playable(cls, value: list[str]) -> list[str]:
        for uri in value:
            if len(uri) > 1024 or not MEDIA_URI.fullmatch(uri):
                raise ValueError(f"{uri[:80]!r} is not a media URI Asterisk plays")
        return value


class Sound(SoundBody):
    id: int
    source: Source


class Number(BaseModel):
    number: str
    source: Source


class ClientView(BaseModel):
    id: str
    max_concurrent_calls: int
    max_calls_per_second: float | None
    destinations: DestinationSettings
    asterisk: str | None
    caller_id: CallerIdSettings
    external_numbers: list[Number]
    extensions: list[Extension]
    sounds: list[Sound]


def directory_of(request: Request) -> Any:
    return request.app.state.service.directory


async def current(request: Request) -> Any:
    """The directory as stored now: a change made on another instance a moment ago counts."""
    with store_errors():
        await directory_of(request).refresh()
    return directory_of(request)


def own_client(directory: Any, client: str) -> Any:
    found = directory.settings.clients.get(client)
    if found is None:   # removed from the store while its key lives on
        raise ServiceError(403, "unknown_client", f"client {client!r} is not configured")
    return found


def _extensions(directory: Any, client: str) -> list[Extension]:
    own = own_client(directory, client).extensions
    return [Extension(id=eid, number=e.number, name=e.name, type=e.type,
                      source=directory.source(client, "extensions", eid)) for eid, e in sorted(own.items())]


def _sounds(directory: Any, client: str) -> list[Sound]:
    own = own_client(directory, client).sounds
    return [Sound(id=sid, media=media, source=directory.source(client, "sounds", sid))
            for sid, media in sorted(own.items())]


def _numbers(directory: Any, client: str) -> list[Number]:
    own = own_client(directory, client).external_numbers
    return [Number(number=n, source=directory.source(client, "numbers", n)) for n in own]


def _extension_id(extension_id: str) -> str:
    if not re.fullmatch(NAME, extension_id):
        raise ServiceError(422, "invalid_extension_id", "an extension id is 1-64 letters, digits or _.:@-",
                           "extension_id")
    return extension_id


def checked_sound_id(sound_id: int) -> int:
    if not 0 < sound_id < MAX_SOUND_ID:
        raise ServiceError(422, "invalid_sound_id", f"a sound id is from 1 to {MAX_SOUND_ID - 1}", "sound_id")
    return sound_id


def client_view(directory: Any, client: str) -> ClientView:
    own = own_client(directory, client)
    return ClientView(id=client, max_concurrent_calls=own.max_concurrent_calls,
                      max_calls_per_second=own.max_calls_per_second, destinations=own.destinations,
                      asterisk=own.asterisk, caller_id=own.caller_id, external_numbers=_numbers(directory, client),
                      extensions=_extensions(directory, client), sounds=_sounds(directory, client))


async def store_extension(request: Request, client: str, extension_id: str, body: ExtensionBody) -> Extension:
    with store_errors():
        await request.app.state.service.store.put_extension(client, _extension_id(extension_id), body.number,
                                                            body.name, body.type, time.time())
        await directory_of(request).refresh()
    return Extension(id=extension_id, source="store", **body.model_dump())


# What removing one item of a client's directory takes: the store's method, the field an error
# names, and the noun of the error ids (``<noun>_in_config``, ``<noun>_not_found``).
_REMOVALS = {"extensions": ("delete_extension", "extension_id", "extension"),
             "sounds": ("delete_sound", "sound_id", "sound"),
             "external_numbers": ("delete_number", "number", "number")}


async def remove_item(request: Request, client: str, kind: str, item: Any) -> Response:
    """Remove a stored item of the client's directory: 204; 409 when only the configuration file
    has it (it is changed there), else 404."""
    delete, field, noun = _REMOVALS[kind]
    directory = directory_of(request)
    with store_errors():
        removed = await getattr(request.app.state.service.store, delete)(client, item)
        await directory.refresh()
    if not removed:
        if directory.in_config(client, kind, item):
            raise ServiceError(409, f"{noun}_in_config", f"{noun} {item!r} is in the configuration file: change "
                                                         "it there", field)
        raise ServiceError(404, f"{noun}_not_found", f"no {noun} {item!r}", field)
    return Response(status_code=204)


async def store_sound(request: Request, client: str, sound_id: int, body: SoundBody) -> Sound:
    with store_errors():
        await request.app.state.service.store.put_sound(client, checked_sound_id(sound_id), body.media, time.time())
        await directory_of(request).refresh()
    return Sound(id=sound_id, media=body.media, source="store")


@router.get("/v1/client", response_model=ClientView, responses=responses(401, 403, 503))
async def show_client(request: Request, client: str = Depends(client_id)) -> ClientView:
    """The key's client: its limits, caller id and destination policy, and its directory."""
    return client_view(await current(request), client)


@router.get("/v1/numbers", response_model=list[Number], responses=responses(401, 403, 503))
async def list_numbers(request: Request, client: str = Depends(client_id)) -> list[Number]:
    """The client's external numbers (DIDs): what its callbacks may show as caller id."""
    return _numbers(await current(request), client)


@router.get("/v1/extensions", response_model=list[Extension], responses=responses(401, 403, 503))
async def list_extensions(request: Request, client: str = Depends(client_id)) -> list[Extension]:
    """The client's extensions, stored and configured, by id."""
    return _extensions(await current(request), client)


@router.put("/v1/extensions/{extension_id}", response_model=Extension,
            responses=responses(401, 403, 413, 422, 503))
async def put_extension(extension_id: str, body: ExtensionBody, request: Request,
                        client: str = Depends(client_id)) -> Extension:
    """Add or change an extension; usable at once, on every instance within the poll interval."""
    return await store_extension(request, client, extension_id, body)


@router.delete("/v1/extensions/{extension_id}", status_code=204, responses=responses(401, 403, 404, 409, 503))
async def delete_extension(extension_id: str, request: Request, client: str = Depends(client_id)) -> Response:
    """Remove a stored extension (one from the configuration file stays: 409)."""
    return await remove_item(request, client, "extensions", extension_id)


@router.get("/v1/sounds", response_model=list[Sound], responses=responses(401, 403, 503))
async def list_sounds(request: Request, client: str = Depends(client_id)) -> list[Sound]:
    """The client's sound library: what ``announce_sound_id`` and the other sound ids name."""
    return _sounds(await current(request), client)


@router.put("/v1/sounds/{sound_id}", response_model=Sound, responses=responses(401, 403, 413, 422, 503))
async def put_sound(sound_id: int, body: SoundBody, request: Request, client: str = Depends(client_id)) -> Sound:
    """Add or change a sound: ``{"media": ["sound:hello-world"]}``."""
    return await store_sound(request, client, sound_id, body)


@router.delete("/v1/sounds/{sound_id}", status_code=204, responses=responses(401, 403, 404, 409, 503))
async def delete_sound(sound_id: int, request: Request, client: str = Depends(client_id)) -> Response:
    """Remove a stored sound (one from the configuration file stays: 409)."""
    return await remove_item(request, client, "sounds", checked_sound_id(sound_id))
