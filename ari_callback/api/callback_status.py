"""Seed 003: ``POST /api/organization/{organization_id}/callback_status`` — a customer's
callbacks by their number, each with its place in the waitlist and the estimated wait.

The organization is the API key's client: any other id is ``organization_not_found``, so
another client's callbacks are never shown, nor is whether that client exists.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ..callbacks import ServiceError
from ..domain.request import NUMBER_RE
from ..domain.waitlist import Forecast
from ..store import CallbackView
from .auth import reader_id
from .errors import responses
from .guard import check_json

router = APIRouter(tags=["callback status (seed 003)"])
WAITING = ("queued", "scheduled")


class CallbackStatus(BaseModel):
    contact_uri: str = Field(description="tel:<callback_number>")
    callback_number: str
    call_request_id: str = Field(description="the callback's id (as in /v1/callbacks/{id})")
    type: str = Field(description="ASAP or SCHEDULED")
    created_at: str = Field(description="10-digit Unix time")
    estimated_for: str = Field(description="10-digit Unix time of the estimated launch while waiting, else empty")
    forecast_waitlist_position: str = Field(description='1-based while waiting; "0" once dialled or ended')
    estimated_wait_time: str = Field(description='seconds until launch while waiting; "0" once dialled or ended')
    source: str
    call_target_id: str = Field(description="the call option's sid")
    status: str = Field(description="queued, scheduled, dialling, completed, failed or cancelled")


class CallbackStatusList(BaseModel):
    data: list[CallbackStatus]


_BODY = {"type": "object", "required": ["contact_number"], "properties": {"contact_number": {"type": "string"}}}


# The body is read by hand: it may be JSON or a form, which a declared body parameter is not.
# A POST that only reads (reader_id): read-only keys may use it.
@router.post("/api/organization/{organization_id}/callback_status", response_model=CallbackStatusList,
             responses=responses(400, 401, 404, 422, 503), openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": _BODY, "example": {"contact_number": "14165550100"}},
                 "application/x-www-form-urlencoded": {"schema": _BODY}}}})
async def callback_status(organization_id: str, request: Request,
                          client: str = Depends(reader_id)) -> CallbackStatusList:
    """The callbacks to ``contact_number`` (JSON or form body), newest first."""
    if organization_id != client:
        raise ServiceError(404, "organization_not_found", f"no organization {organization_id!r}")
    number = _contact_number(await _fields(request))
    found = await request.app.state.service.customers.by_number(client, number)
    return CallbackStatusList(data=[_status(view, forecast) for view, forecast in found])


async def _fields(request: Request) -> dict:
    """The body's fields, from a form or from JSON (the default, as in the seed)."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
    # Checked as the guard checks JSON bodies, whatever the Content-Type said (it may be none).
    fields = check_json(raw or b"{}", request.app.state.http_settings.max_json_depth)
    if not isinstance(fields, dict):
        raise ServiceError(422, "invalid_body", "the body is an object with contact_number", "body")
    return fields


def _contact_number(fields: dict) -> str:
    value = fields.get("contact_number")
    if value is None or value == "":
        raise ServiceError(422, "missing_contact_number", "contact_number is required", "contact_number")
    number = value.strip().removeprefix("tel:") if isinstance(value, str) else ""
    if not NUMBER_RE.fullmatch(number):
        raise ServiceError(422, "invalid_contact_number", f"{value!r} is not a phone number", "contact_number")
    return number


def _status(view: CallbackView, forecast: Forecast | None) -> CallbackStatus:
    request = view.request or {}
    estimated_for, position, wait = _estimate(view, forecast)
    return CallbackStatus(contact_uri=f"tel:{view.number}", callback_number=view.number or "",
                          call_request_id=view.id,
                          type="SCHEDULED" if request.get("start_at") is not None else "ASAP",
                          created_at=str(int(view.created_at)), estimated_for=estimated_for,
                          forecast_waitlist_position=position, estimated_wait_time=wait,
                          source=view.source or request.get("source") or "", call_target_id=view.option_sid or "",
                          status=view.status)


def _estimate(view: CallbackView, forecast: Forecast | None) -> tuple[str, str, str]:
    """(estimated_for, position, wait): the forecast while waiting; all empty for a waiting one
    without a forecast (its option is gone or opens not within a year); "0" once it left the
    waitlist (being dialled or ended), with no launch time to estimate."""
    if forecast is not None:
        return str(int(forecast.estimated_for)), str(forecast.position), str(forecast.wait_seconds)
    if view.status in WAITING:
        return "", "", ""
    return "", "0", "0"
