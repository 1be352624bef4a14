"""The two-leg voice callback API (seed 001) as it is: ``POST /voice/call/callback``.

``leg_A`` is called first and ``leg_B`` once A is connected (the dialer mode: a client leg,
then the agent); ``"first": "leg_B"`` reverses that; ``"mode": "simultaneous"`` calls both at
once and joins them when both have answered. Each leg's ``from`` is the caller ID
that leg receives. The first leg is dialled directly (the routes of the configuration);
the second goes through the dialplan (``dst-route``), so queues and IVRs apply to it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ..domain.request import CallbackRequest, CallerName, Number
from .auth import client_id
from .errors import responses
from .idempotency import idempotency_key

router = APIRouter(tags=["two-leg voice callback (seed 001)"])


class VoiceLeg(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Number = Field(description="the number this leg calls")
    from_: Number | None = Field(None, alias="from", description="caller ID number this leg receives")
    from_name: CallerName | None = Field(None, description="caller ID name this leg receives")


class VoiceCallback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leg_A: VoiceLeg
    leg_B: VoiceLeg
    first: Literal["leg_A", "leg_B"] = Field("leg_A", description="which leg is called first (sequential)")
    mode: Literal["sequential", "simultaneous"] = Field(
        "sequential", description="sequential: the second leg is called once the first is connected "
                                  "(dialer mode); simultaneous: both are called at once, joined when both answered")
    wait_for_pickup: Annotated[StrictInt, Field(ge=1)] | None = None
    call_duration: Annotated[StrictInt, Field(ge=1)] | None = None


class VoiceCallbackCreated(BaseModel):
    status: int = 200
    message: str
    call_id: str
    status_url: str


def to_request(body: VoiceCallback) -> CallbackRequest:
    first, second = (body.leg_A, body.leg_B) if body.first == "leg_A" else (body.leg_B, body.leg_A)
    options = {"wait_for_pickup": body.wait_for_pickup, "call_duration": body.call_duration,
               "simultaneous": body.mode == "simultaneous",
               "src_caller_id_number": first.from_, "src_caller_id_name": first.from_name,
               "caller_id_number": second.from_, "caller_id_name": second.from_name}
    return CallbackRequest(src=[first.to], dst=second.to, **{k: v for k, v in options.items() if v is not None})


@router.post("/voice/call/callback", response_model=VoiceCallbackCreated, dependencies=[Depends(idempotency_key)],
             responses=responses(400, 401, 409, 413, 422, 429, 503))
async def voice_callback(body: VoiceCallback, request: Request,
                         client: str = Depends(client_id)) -> VoiceCallbackCreated:
    """Call one leg, then the other once it is connected, and join them."""
    call_id = await request.app.state.service.create(to_request(body), client_id=client, api="voice")
    return VoiceCallbackCreated(message="Call-back started successfully.", call_id=call_id,
                                status_url=f"/v1/callbacks/{call_id}")
