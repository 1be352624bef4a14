"""The customer page: a public web page per published profile, and the small public API it
uses (docs/customer-page.md). Customers hold no API key: the profile being published is what
lets anyone ask for a callback on it, and the unguessable callback id, handed only to the
browser that asked, is what lets them watch and cancel that one callback.

    GET  /page/{profile}                                   the page (HTML)
    GET  /page/{profile}/config.json                       options, questions, SMS, scheduling
    GET  /page/{profile}/options/{option}/slots            bookable slots (UTC; shown in the customer's zone)
    POST /page/{profile}/callbacks                         ask for a callback (source "web")
    GET  /page/{profile}/callbacks/{id}                    phase, position, estimated wait
    POST /page/{profile}/callbacks/{id}/cancel             cancel it
    GET  /page-assets/page.css, /page-assets/page.js       the page's style and script
"""

from __future__ import annotations

import uuid
from functools import cache
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from ..callbacks import ServiceError
from ..store import CallbackView
from . import page_policy as policy
from .errors import responses
from .page_policy import Published
from .page_views import PageCallback, PageConfig, PageRequest, PageSlot, page_callback, page_config
from .views import iso

router = APIRouter(tags=["customer page (public)"], route_class=policy.PageRoute)
ASSETS = {"page.css": "text/css; charset=utf-8", "page.js": "text/javascript; charset=utf-8"}
ASSET_MAX_AGE_S = 300
PublishedPage = Annotated[Published, Depends(policy.published)]   # resolved before the body: 404 first


@cache
def _static(name: str) -> bytes:
    return (resources.files("ari_callback") / "web" / "static" / name).read_bytes()


@router.get("/page/{profile_sid}", response_class=HTMLResponse, responses=responses(404))
async def page(profile_sid: str, request: Request, published: PublishedPage) -> Response:
    """The page itself; framed only by the profile's allowed origins."""
    headers = {**policy.frame_headers(published), "Cache-Control": "no-cache"}
    return Response(_static("page.html"), media_type="text/html; charset=utf-8", headers=headers)


@router.get("/page-assets/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    if name not in ASSETS:
        raise ServiceError(404, "not_found", f"no page asset {name!r}")
    return Response(_static(name), media_type=ASSETS[name],
                    headers={"Cache-Control": f"public, max-age={ASSET_MAX_AGE_S}"})


@router.get("/page/{profile_sid}/config.json", response_model=PageConfig, responses=responses(404))
async def config(profile_sid: str, request: Request, published: PublishedPage) -> PageConfig:
    """What the customer chooses from: options (closed and paused ones say so), questions, SMS,
    scheduling."""
    return page_config(published.profile, _customers(request).clock())


@router.get("/page/{profile_sid}/options/{option_sid}/slots", response_model=list[PageSlot],
            responses=responses(404, 422))
async def slots(profile_sid: str, option_sid: str, request: Request, published: PublishedPage) -> list[PageSlot]:
    """The option's bookable slots, in UTC; full ones have ``available`` 0."""
    if not published.profile.scheduling:
        raise ServiceError(422, "scheduling_not_enabled", f"profile {profile_sid} takes no scheduled callbacks")
    found = await _customers(request).schedule(published.settings.client, profile_sid, option_sid)
    return [PageSlot(start=iso(s.start) or "", end=iso(s.end) or "", available=s.available) for s in found]


@router.post("/page/{profile_sid}/callbacks", status_code=201, response_model=PageCallback,
             responses=responses(400, 403, 404, 409, 422, 503))
async def ask(profile_sid: str, body: PageRequest, request: Request, response: Response,
              published: PublishedPage) -> PageCallback:
    """A customer asks for a callback. A number already waiting on the option is refused
    (409 ``callback_pending``) without that callback's id, which only its own requester holds."""
    policy.check_origin(request, published)
    if body.start_at is not None and body.start_at.tzinfo is None:
        raise ServiceError(422, "invalid_start_at", "start_at needs an offset (e.g. Z or -05:00)", "start_at")
    customers = _customers(request)
    accepted = await customers.request(
        published.settings.client, option_sid=body.option, number=body.number, api="web", answers=body.answers,
        sms=body.sms, start_at=body.start_at.timestamp() if body.start_at else None, timezone=body.timezone,
        source="web", profile_sid=profile_sid)
    if not accepted.created:
        raise ServiceError(409, "callback_pending", "a callback to this number is already waiting for this "
                           "option; the page that asked for it shows it", "number")
    view = accepted.view
    response.headers["Location"] = f"/page/{profile_sid}/callbacks/{view.id}"
    return await _shown(request, published, view)


@router.get("/page/{profile_sid}/callbacks/{callback_id}", response_model=PageCallback,
            responses=responses(404))
async def status(profile_sid: str, callback_id: str, request: Request, response: Response,
                 published: PublishedPage) -> PageCallback:
    """Where the callback stands: its phase, position and estimated wait (poll every ~2 s)."""
    response.headers["Cache-Control"] = "no-store"
    return await _shown(request, published, await _own_callback(request, published, callback_id))


@router.post("/page/{profile_sid}/callbacks/{callback_id}/cancel", status_code=202, response_model=PageCallback,
             responses=responses(403, 404, 409))
async def cancel(profile_sid: str, callback_id: str, request: Request, published: PublishedPage) -> PageCallback:
    """Cancel the callback, waiting or ringing; 409 ``callback_finished`` once it is over."""
    policy.check_origin(request, published)
    view = await _own_callback(request, published, callback_id)
    await request.app.state.service.cancel(view.id, published.settings.client)
    return await _shown(request, published, await _own_callback(request, published, callback_id))


@router.options("/page/{profile_sid}/{rest:path}", status_code=204, include_in_schema=False)
async def preflight(profile_sid: str, rest: str, request: Request, published: PublishedPage) -> Response:
    """CORS preflight: answered for the profile's allowed origins only."""
    origin = request.headers.get("origin")
    if origin is None or origin not in published.origins:
        raise ServiceError(403, "origin_not_allowed", f"{origin} may not use this page's API")
    return Response(status_code=204, headers=policy.preflight_headers(origin))


def _customers(request: Request):
    return request.app.state.service.customers


async def _own_callback(request: Request, published: Published, callback_id: str) -> CallbackView:
    """A callback this page made for this profile. Anything else (a bad id, another profile's,
    one made through an operator API) is not found: the page shows only what it handed out."""
    missing = ServiceError(404, "callback_not_found", f"no callback {callback_id!r} on this page")
    try:
        uuid.UUID(callback_id)
    except ValueError:
        raise missing from None
    try:
        view = await request.app.state.service.get(callback_id, published.settings.client)
    except ServiceError as exc:
        raise missing if exc.status == 404 else exc from None
    if view.source != "web" or (view.request or {}).get("profile") != published.sid:
        raise missing
    return view


async def _shown(request: Request, published: Published, view: CallbackView) -> PageCallback:
    forecast = await _customers(request).forecast_of(view)
    option = published.profile.option(view.option_sid or "")
    return page_callback(view, forecast, option.name if option else None, f"/page/{published.sid}")
