"""The native API for customer callbacks: profiles and their options, waitlists, schedules, and
callbacks to customers (``/v1``). Seed 000's shape is ``/3.0/`` (fonolo.py); seed 003's is
``callback_status.py``. A customer callback is also a callback: ``/v1/callbacks/{id}`` shows it
with every attempt, and cancels it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, StrictStr

from ..callbacks import ServiceError
from ..customer_schema import SID, ProfileSettings
from ..domain.request import NUMBER_RE
from .auth import client_id
from .errors import responses
from .idempotency import idempotency_key
from .views import iso

router = APIRouter(prefix="/v1", tags=["customer callbacks"])
Sid = Annotated[str, Field(pattern=SID)]


class ProfileView(ProfileSettings):
    sid: str


class OptionStatus(BaseModel):
    status: Literal["active", "paused", "closed"]


class CustomerCallbackRequest(BaseModel):
    model_config = {"extra": "forbid"}
    option: StrictStr = Field(pattern=SID, description="the call option (queue)")
    number: StrictStr = Field(pattern=NUMBER_RE.pattern, description="the customer's number")
    profile: StrictStr | None = Field(None, pattern=SID, description="the option's profile (optional)")
    answers: dict[StrictStr, StrictStr] = Field(default_factory=dict, description="question sid -> answer")
    sms: bool = Field(False, description="the customer opts into SMS updates")
    start_at: datetime | None = Field(None, description="a scheduled callback's start, ISO 8601 with an offset")
    timezone: StrictStr | None = Field(None, max_length=64, description="the customer's IANA zone")


class WaitlistEntry(BaseModel):
    id: str
    number: str | None
    status: str
    position: int | None = Field(description="1-based place in the waitlist, as forecast now")
    estimated_wait: int | None = Field(description="seconds until it is estimated to be dialled")
    estimated_for: str | None
    due_at: str | None
    place_at: str | None


class CustomerCallback(WaitlistEntry):
    option: str | None
    created: bool = Field(description="false when a callback was pending for the number: this one")
    status_url: str


class Slot(BaseModel):
    start: str
    end: str
    available: int


@router.get("/profiles", response_model=list[ProfileView], responses=responses(401))
async def list_profiles(request: Request, client: str = Depends(client_id)) -> list[ProfileView]:
    customers = request.app.state.service.customers
    stored = await customers.store_profiles(client)
    return [ProfileView(sid=sid, **settings.model_dump()) for sid, settings in sorted(stored.items())]


@router.get("/profiles/{sid}", response_model=ProfileView, responses=responses(401, 404))
async def get_profile(sid: str, request: Request, client: str = Depends(client_id)) -> ProfileView:
    stored = await request.app.state.service.customers.store_profiles(client)
    if sid not in stored:
        raise ServiceError(404, "profile_not_found", f"no call-back profile {sid!r}")
    return ProfileView(sid=sid, **stored[sid].model_dump())


@router.put("/profiles/{sid}", response_model=ProfileView, responses=responses(401, 409, 422))
async def put_profile(sid: Sid, body: ProfileSettings, request: Request,
                      client: str = Depends(client_id)) -> ProfileView:
    """Create or replace a profile with its options and questions (the client is the key's)."""
    await request.app.state.service.customers.save_profile(client, sid, body)
    return ProfileView(sid=sid, **body.model_copy(update={"client": client}).model_dump())


@router.delete("/profiles/{sid}", status_code=204, responses=responses(401, 404))
async def delete_profile(sid: str, request: Request, client: str = Depends(client_id)) -> Response:
    await request.app.state.service.customers.delete_profile(client, sid)
    return Response(status_code=204)


@router.put("/options/{option_sid}/status", response_model=OptionStatus, responses=responses(401, 404, 422))
async def set_option_status(option_sid: str, body: OptionStatus, request: Request,
                            client: str = Depends(client_id)) -> OptionStatus:
    """Pause or close an option (its waitlist keeps its places and is not dialled), or reopen it."""
    await request.app.state.service.customers.set_option_status(client, option_sid, body.status)
    return body


@router.get("/profiles/{sid}/options/{option_sid}/waitlist", response_model=list[WaitlistEntry],
            responses=responses(401, 404))
async def waitlist(sid: str, option_sid: str, request: Request,
                   client: str = Depends(client_id)) -> list[WaitlistEntry]:
    """The callbacks waiting for the option, in order, with their forecast position and wait."""
    customers = request.app.state.service.customers
    _, option = await customers.option(client, sid, option_sid)
    entries = await customers.waitlist(option)
    return [_entry(view, forecast) for view, forecast in entries]


@router.get("/profiles/{sid}/options/{option_sid}/schedule", response_model=list[Slot],
            responses=responses(401, 404))
async def schedule(sid: str, option_sid: str, request: Request, client: str = Depends(client_id)) -> list[Slot]:
    """The bookable slots for a scheduled callback (full ones with ``available`` 0)."""
    slots = await request.app.state.service.customers.schedule(client, sid, option_sid)
    return [Slot(start=iso(s.start) or "", end=iso(s.end) or "", available=s.available) for s in slots]


@router.post("/customer-callbacks", status_code=201, response_model=CustomerCallback,
             dependencies=[Depends(idempotency_key)], responses=responses(400, 401, 404, 409, 413, 422, 503))
async def request_callback(body: CustomerCallbackRequest, request: Request, response: Response,
                           client: str = Depends(client_id)) -> CustomerCallback:
    """A customer asks to be called back: now (the waitlist) or at ``start_at`` (a slot). A
    number with a callback pending on the option gets that one back (200, ``created`` false)."""
    if body.start_at is not None and body.start_at.tzinfo is None:
        raise ServiceError(422, "invalid_start_at", "start_at needs an offset (e.g. Z or -05:00)", "start_at")
    customers = request.app.state.service.customers
    accepted = await customers.request(
        client, option_sid=body.option, number=body.number, api="native", answers=body.answers, sms=body.sms,
        start_at=body.start_at.timestamp() if body.start_at else None, timezone=body.timezone,
        source="api", profile_sid=body.profile)
    forecast = await customers.forecast_of(accepted.view)
    if not accepted.created:
        response.status_code = 200
    url = f"/v1/callbacks/{accepted.callback_id}"
    response.headers["Location"] = url
    return CustomerCallback(**_entry(accepted.view, forecast).model_dump(), option=accepted.view.option_sid,
                            created=accepted.created, status_url=url)


@router.get("/customer-callbacks", response_model=list[WaitlistEntry], responses=responses(401, 422))
async def by_number(request: Request, number: str = Query(pattern=NUMBER_RE.pattern),
                    client: str = Depends(client_id)) -> list[WaitlistEntry]:
    """A customer's callbacks, newest first, with the forecast of those still waiting."""
    found = await request.app.state.service.customers.by_number(client, number)
    return [_entry(view, forecast) for view, forecast in found]


def _entry(view, forecast) -> WaitlistEntry:
    return WaitlistEntry(id=view.id, number=view.number, status=view.status,
                         position=forecast.position if forecast else None,
                         estimated_wait=forecast.wait_seconds if forecast else None,
                         estimated_for=iso(forecast.estimated_for) if forecast else None,
                         due_at=iso(view.due_at), place_at=iso(view.place_at))
