"""Client variables (seed 002): named values a client sets once, then uses as ``@{NAME}`` for the
extension id in ``/extension/{extension_id}/callback/`` and ``$cv(NAME)`` for a body value.

Two shapes of one resource: seed 002's ``/client/{client_id}/variables`` and the native
``/v1/variables``. Values set here are stored and shared by every instance; the configuration's
``clients.<id>.variables`` are defaults that a stored value overrides and that are changed in the
configuration only. Client users only: an extension user's key gets ``403 forbidden``.
"""

from __future__ import annotations

import re
import time
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..callbacks import ServiceError, store_errors
from .auth import client_id
from .errors import responses

router = APIRouter(tags=["client variables (seed 002)"])
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class VariableValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(max_length=256, description="what @{NAME} / $cv(NAME) stands for")

    @field_validator("value")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("a variable's value has no control characters")
        return value


class Variable(BaseModel):
    name: str
    value: str
    source: Literal["store", "config"] = Field(description="config: a default from the configuration file")


class Variables(BaseModel):
    variables: list[Variable]


async def effective_variables(request: Request, client: str) -> dict[str, str]:
    """What @{NAME} and $cv(NAME) mean for ``client`` now: the configuration's, then the stored."""
    service = request.app.state.service
    configured = service.settings.clients[client].variables if client in service.settings.clients else {}
    with store_errors():
        return {**configured, **await service.store.client_variables(client)}


async def _listed(request: Request, client: str) -> Variables:
    service = request.app.state.service
    configured = service.settings.clients[client].variables if client in service.settings.clients else {}
    with store_errors():
        stored = await service.store.client_variables(client)
    merged = {name: Variable(name=name, value=value, source="config") for name, value in configured.items()}
    merged.update({name: Variable(name=name, value=value, source="store") for name, value in stored.items()})
    return Variables(variables=[merged[name] for name in sorted(merged)])


def _checked(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ServiceError(422, "invalid_name", "a variable's name is a letter or _ then up to 63 letters, "
                                                "digits or _", "name")
    return name


async def _set(request: Request, client: str, name: str, body: VariableValue) -> Variable:
    with store_errors():
        await request.app.state.service.store.set_client_variable(client, _checked(name), body.value, time.time())
    return Variable(name=name, value=body.value, source="store")


async def _delete(request: Request, client: str, name: str) -> Response:
    service = request.app.state.service
    with store_errors():
        removed = await service.store.delete_client_variable(client, _checked(name))
    if not removed:
        configured = service.settings.clients[client].variables if client in service.settings.clients else {}
        if name in configured:
            raise ServiceError(409, "variable_in_config", f"{name!r} is set in the configuration file: change it "
                                                          "there", "name")
        raise ServiceError(404, "variable_not_found", f"no client variable {name!r}", "name")
    return Response(status_code=204)


def _own(client_ref: str, client: str) -> str:
    """Seed 002 names the client in the path: another client's looks missing."""
    if client_ref != client:
        raise ServiceError(404, "client_not_found", f"no client {client_ref!r}", "client_id")
    return client


# ---------------------------------------------------------------------------- seed 002
@router.get("/client/{client_ref}/variables", response_model=Variables, responses=responses(401, 403, 404, 503))
async def seed_list(client_ref: str, request: Request, client: str = Depends(client_id)) -> Variables:
    """The client's variables, stored and configured, by name."""
    return await _listed(request, _own(client_ref, client))


@router.put("/client/{client_ref}/variables/{name}", response_model=Variable,
            responses=responses(401, 403, 404, 413, 422, 503))
async def seed_set(client_ref: str, name: str, body: VariableValue, request: Request,
                   client: str = Depends(client_id)) -> Variable:
    """Set (or change) a variable: ``{"value": "..."}``."""
    return await _set(request, _own(client_ref, client), name, body)


@router.delete("/client/{client_ref}/variables/{name}", status_code=204, responses=responses(401, 403, 404, 409, 503))
async def seed_delete(client_ref: str, name: str, request: Request, client: str = Depends(client_id)) -> Response:
    """Remove a stored variable (a configured default stays: 409 if there is only that)."""
    return await _delete(request, _own(client_ref, client), name)


# ------------------------------------------------------------------------------ native
@router.get("/v1/variables", response_model=Variables, responses=responses(401, 403, 503))
async def native_list(request: Request, client: str = Depends(client_id)) -> Variables:
    """The key's client's variables, stored and configured, by name."""
    return await _listed(request, client)


@router.put("/v1/variables/{name}", response_model=Variable, responses=responses(401, 403, 413, 422, 503))
async def native_set(name: str, body: VariableValue, request: Request, client: str = Depends(client_id)) -> Variable:
    """Set (or change) a variable: ``{"value": "..."}``."""
    return await _set(request, client, name, body)


@router.delete("/v1/variables/{name}", status_code=204, responses=responses(401, 403, 404, 409, 503))
async def native_delete(name: str, request: Request, client: str = Depends(client_id)) -> Response:
    """Remove a stored variable (a configured default stays: 409 if there is only that)."""
    return await _delete(request, client, name)
