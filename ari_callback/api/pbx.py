"""The PBX callback resource (seed 002) as it is: ``POST /extension/{extension_id}/callback/``
and the call history ``GET /client/{client_id}/call_history/{call_uuid}``.

Client variables (set with ``/client/{client_id}/variables``, or defaults in the configuration)
may stand in for values: ``@{NAME}`` as the extension id in the URL, ``$cv(NAME)`` as an
option's value in the body.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field, ValidationError

from ..callbacks import ServiceError
from ..domain.request import CallbackOptions, CallbackRequest, Number
from ..keys import Principal
from .auth import key_holder
from .errors import responses
from .history import CallHistory, call_history
from .idempotency import idempotency_key
from .native import visible_callback
from .variables import effective_variables

router = APIRouter(tags=["pbx callback resource (seed 002)"])
URL_VARIABLE = re.compile(r"^@\{([A-Za-z_][A-Za-z0-9_]*)\}$")
BODY_VARIABLE = re.compile(r"^\$cv\(([A-Za-z_][A-Za-z0-9_]*)\)$")


class PbxCallback(CallbackOptions):
    """The seed's body: ``src_num`` (array) and ``dst_num``, plus every callback option."""

    src_num: Annotated[list[Number], Field(min_length=1)]
    dst_num: Number


class PbxCallbackCreated(BaseModel):
    call_api_id: str = Field(description="manages the call: /v1/callbacks/{call_api_id} (and /cancel)")
    call_id: str = Field(description="the call's uuid: call_uuid in the call history")


def _variable(variables: dict[str, str], name: str, where: str) -> str:
    if name not in variables:
        raise ServiceError(422, "unknown_variable", f"client variable {name!r} is not set", where)
    return variables[name]


def _substitute(value: Any, variables: dict[str, str], where: str) -> Any:
    if isinstance(value, str) and (match := BODY_VARIABLE.fullmatch(value)):
        return _variable(variables, match[1], where)
    if isinstance(value, list):
        return [_substitute(v, variables, where) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, variables, f"{where}.{k}") for k, v in value.items()}
    return value


def _parse(body: dict[str, Any]) -> PbxCallback:
    try:
        return PbxCallback.model_validate(body)
    except ValidationError as exc:
        from fastapi.exceptions import RequestValidationError
        raise RequestValidationError(exc.errors(include_url=False)) from None


@router.post("/extension/{extension_id}/callback/", response_model=PbxCallbackCreated,
             dependencies=[Depends(idempotency_key)], responses=responses(400, 401, 404, 409, 413, 422, 429, 503))
async def extension_callback(extension_id: str, request: Request,
                             body: Annotated[dict[str, Any], Body(openapi_examples={"seed": {"value": {
                                 "dst_num": "000116644", "src_num": ["341"],
                                 "variables": {"autoanswer": "4", "testvar": "'testval"}}}})],
                             holder: Principal = Depends(key_holder)) -> PbxCallbackCreated:
    """Ring every ``src_num`` at once; the first to pick up is connected to ``dst_num``
    through the dialplan. The extension must be of phone type; it gives the default caller
    name and number. Body fields: see the PbxCallback schema. An extension user's key reaches
    its own extension only, without client variables (the seed keeps those to client users)."""
    client = holder.client_id
    if holder.extension is not None and extension_id != holder.extension:
        raise ServiceError(404, "extension_not_found", f"no extension {extension_id!r}", "extension_id")
    variables = await effective_variables(request, client) if holder.extension is None else {}
    if match := URL_VARIABLE.fullmatch(extension_id):
        extension_id = _variable(variables, match[1], "extension_id")
    parsed = _parse({k: _substitute(v, variables, k) for k, v in body.items()})
    options = parsed.model_dump(exclude={"src_num", "dst_num"}, exclude_unset=True)
    canonical = CallbackRequest(src=parsed.src_num, dst=parsed.dst_num, **options)
    call_id = await request.app.state.service.create(canonical, client_id=client, api="pbx",
                                                     extension_id=extension_id)
    return PbxCallbackCreated(call_api_id=call_id, call_id=call_id)


@router.get("/client/{client_ref}/call_history/{call_uuid}", response_model=CallHistory,
            responses=responses(401, 404))
async def get_call_history(client_ref: str, call_uuid: str, request: Request,
                           holder: Principal = Depends(key_holder)) -> CallHistory:
    """The result of a callback: legs, times, causes, duration, who hung up first, transfers.
    Another client's id is not found, whether that client exists or not."""
    if client_ref != holder.client_id:
        raise ServiceError(404, "client_not_found", f"no client {client_ref!r}", "client_id")
    return call_history(await visible_callback(request, holder, call_uuid))
