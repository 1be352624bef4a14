"""Fonolo's REST API 3.0 under ``/3.0/``, so Fonolo's official SDKs work with only their endpoint
changed. docs/fonolo-api.md is the contract; every route also answers with ``.json`` appended
(the python SDK sends none, node and PHP send it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import APIRouter, Depends, Request
from fastapi.params import Depends as DependsParam

from ..callbacks import ServiceError
from ..store import CallbackView
from . import fonolo_views as views
from .fonolo_wire import (
    CALL_PREFIX,
    FAILURES,
    OPTIN_PREFIX,
    FonoloJSON,
    FonoloRoute,
    Form,
    call_sid,
    callback_id,
    envelope,
    fonolo_client,
    parse_form,
    parse_local,
)
from .idempotency import idempotency_key

router = APIRouter(prefix="/3.0", tags=["Fonolo REST API 3.0"], route_class=FonoloRoute, responses=FAILURES)
Client = Annotated[str, Depends(fonolo_client)]
MAX_LIMIT, DEFAULT_LIMIT, OPTIN_SCAN = 1000, 100, 5000
YES = ("1", "true", "yes", "on")
# Our request fields by the names the Fonolo API gave them, for error messages.
FORM_FIELDS = {"number": "fc_number", "option": "fc_option", "sms": "fc_sms", "timezone": "fc_timezone",
               "start_at": "fc_start_date"}


def route(method: str, path: str, dependencies: list[DependsParam] | None = None) -> Callable:
    """Register ``path`` and ``path.json``; the suffixed one first, as ``{sid}`` would take it."""
    def register(endpoint: Callable) -> Callable:
        router.add_api_route(path + ".json", endpoint, methods=[method], include_in_schema=False,
                             dependencies=dependencies)
        router.add_api_route(path, endpoint, methods=[method], summary=endpoint.__doc__, dependencies=dependencies)
        return endpoint
    return register


def _customers(request: Request):
    return request.app.state.service.customers


# --------------------------------------------------------------------------- profiles
@route("GET", "/profiles")
async def get_profiles(request: Request, client: Client) -> FonoloJSON:
    """The account's call-back profiles."""
    profiles = await _customers(request).profiles(client)
    return envelope({"total": len(profiles), "profiles": [views.profile_data(p) for p in profiles]})


@route("GET", "/profile/{profile_sid}")
async def get_profile(profile_sid: str, request: Request, client: Client) -> FonoloJSON:
    """One call-back profile."""
    return envelope(views.profile_data(await _customers(request).profile(client, profile_sid)))


@route("GET", "/profile/{profile_sid}/options")
async def get_options(profile_sid: str, request: Request, client: Client) -> FonoloJSON:
    """The profile's call options (queues), in order."""
    profile, now = await _customers(request).profile(client, profile_sid), time.time()
    return envelope({"total": len(profile.options),
                     "options": [views.option_data(profile, o, now) for o in profile.options]})


@route("GET", "/profile/{profile_sid}/option/{option_sid}")
async def get_option(profile_sid: str, option_sid: str, request: Request, client: Client) -> FonoloJSON:
    """One call option."""
    profile, option = await _customers(request).option(client, profile_sid, option_sid)
    return envelope(views.option_data(profile, option, time.time()))


@route("GET", "/profile/{profile_sid}/option/{option_sid}/schedule")
async def get_schedule(profile_sid: str, option_sid: str, request: Request, client: Client) -> FonoloJSON:
    """The times a call-back on the option can be scheduled for (none when scheduling is off)."""
    customers = _customers(request)
    profile, _ = await customers.option(client, profile_sid, option_sid)
    slots = await customers.schedule(client, profile_sid, option_sid) if profile.scheduling else []
    return envelope({"schedule": [views.slot_data(s, profile.timezone) for s in slots if s.available > 0]})


@route("GET", "/profile/{profile_sid}/scheduling")
async def get_scheduling(profile_sid: str, request: Request, client: Client) -> FonoloJSON:
    """The profile's scheduling settings."""
    return envelope(views.scheduling_data(await _customers(request).profile(client, profile_sid)))


@route("GET", "/profile/{profile_sid}/questions")
async def get_questions(profile_sid: str, request: Request, client: Client) -> FonoloJSON:
    """The profile's pre-call questions."""
    profile = await _customers(request).profile(client, profile_sid)
    return envelope({"total": len(profile.questions),
                     "questions": [views.question_data(q) for q in profile.questions]})


@route("GET", "/profile/{profile_sid}/question/{question_sid}")
async def get_question(profile_sid: str, question_sid: str, request: Request, client: Client) -> FonoloJSON:
    """One pre-call question."""
    profile = await _customers(request).profile(client, profile_sid)
    question = next((q for q in profile.questions if q.sid == question_sid), None)
    if question is None:
        raise ServiceError(404, "question_not_found", f"Profile {profile_sid!r} has no question {question_sid!r}")
    return envelope(views.question_data(question))


# -------------------------------------------------------------------------- call-backs
@route("POST", "/callback", dependencies=[Depends(idempotency_key)])
async def start_callback(request: Request, client: Client) -> FonoloJSON:
    """Start a call-back: fc_number, fc_option, and optionally fc_start_date, fc_timezone, fc_sms,
    fc_answers[QSID]. A call-back pending for the number and option is returned as it is."""
    form = parse_form(await request.body())
    customers = _customers(request)
    number, option_sid = _required(form, "fc_number"), _required(form, "fc_option")
    try:
        profile, _ = await customers.find_option(client, option_sid)
        zone = _zone(form.one("fc_timezone"))
        start = form.one("fc_start_date")
        start_at = parse_local(start, zone or profile.timezone, "fc_start_date") if start else None
        accepted = await customers.request(client, option_sid=option_sid, number=number, api="fonolo",
                                           answers=_answers(form), sms=(form.one("fc_sms") or "").lower() in YES,
                                           start_at=start_at, timezone=zone, source="api", profile_sid=profile.sid)
    except ServiceError as exc:
        raise _refusal(exc) from None
    sid = call_sid(accepted.callback_id)
    message = "Call-back started successfully." if accepted.created else "Call-back already pending."
    return envelope({"sid": sid, "status": f"/3.0/call/{sid}/status.json"}, message)


def _required(form: Form, name: str) -> str:
    value = (form.one(name) or "").strip()
    if not value:
        raise ServiceError(400, f"missing_{name}", f"Unable to start call-back: {name} is required", name)
    return value


def _zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise ServiceError(400, "invalid_timezone", f"{name!r} is not an IANA time zone", "fc_timezone") from None
    return name


def _answers(form: Form) -> dict[str, str]:
    if form.fields.get("fc_answers"):
        raise ServiceError(400, "invalid_answers", "answers are sent as fc_answers[QUESTION_SID]=answer",
                           "fc_answers")
    answers = {}
    for sid, values in form.groups.get("fc_answers", {}).items():
        if len(set(values)) > 1:
            raise ServiceError(400, "invalid_answer", f"question {sid} takes one answer", f"fc_answers[{sid}]")
        answers[sid] = values[-1]
    return answers


def _refusal(exc: ServiceError) -> ServiceError:
    """The service's refusal, worded and named as the Fonolo API's fields."""
    field = exc.field
    if field in FORM_FIELDS:
        field = FORM_FIELDS[field]
    elif field and not field.startswith("fc_"):
        field = f"fc_answers[{field}]"   # the service names a question by its sid
    message = exc.message if exc.message.startswith("Unable") else f"Unable to start call-back: {exc.message}"
    return ServiceError(exc.status, exc.error_id, message, field)


async def _customer_callback(request: Request, client: str, sid: str, prefix: str = CALL_PREFIX
                             ) -> CallbackView:
    """A customer callback of the client by its SID (another client's looks missing)."""
    what = "opt-in" if prefix == OPTIN_PREFIX else "call-back"
    missing = ServiceError(404, f"{what.replace('-', '')}_not_found", f"Unknown {what} {sid!r}")
    try:
        view = await request.app.state.service.get(callback_id(sid, prefix), client)
    except ServiceError as exc:
        raise missing if exc.status == 404 else exc from None
    if view.option_sid is None:   # a click-to-call of the native API is no Fonolo call-back
        raise missing
    return view


async def _zones(request: Request, client: str) -> Callable[[CallbackView], str]:
    """The time zone each callback's times are shown in: its profile's."""
    zones = {p.sid: p.timezone for p in await _customers(request).profiles(client)}
    return lambda view: zones.get((view.request or {}).get("profile"), "UTC")


@route("GET", "/callback/{sid}/status")
async def callback_status(sid: str, request: Request, client: Client) -> FonoloJSON:
    """The call-back's status and its duration timer."""
    view = await _customer_callback(request, client, sid)
    return envelope(views.status_data(view, (await _zones(request, client))(view), time.time()))


router.add_api_route("/call/{sid}/status.json", callback_status, methods=["GET"], include_in_schema=False)
router.add_api_route("/call/{sid}/status", callback_status, methods=["GET"],
                     summary="The status URL the start answer gives: the same as callback/{sid}/status.")


@route("POST", "/callback/{sid}/cancel")
async def cancel_callback(sid: str, request: Request, client: Client) -> FonoloJSON:
    """Cancel a call-back, immediate or scheduled; cancelling a cancelled one again is fine."""
    await request.body()   # read, so a client sending Expect: 100-continue is not kept waiting
    view = await _customer_callback(request, client, sid)
    if view.status != "cancelled":
        try:
            await request.app.state.service.cancel(view.id, client)
        except ServiceError as exc:
            if exc.error_id != "callback_finished":
                raise
            raise ServiceError(409, "callback_finished", "Call-back already completed.") from None
    return envelope({"sid": sid, "status": "cancelled"}, "Call-back cancelled successfully.")


@route("GET", "/call/{sid}")
async def get_call(sid: str, request: Request, client: Client) -> FonoloJSON:
    """One call-back in full."""
    view = await _customer_callback(request, client, sid)
    return envelope(views.call_data(view, (await _zones(request, client))(view), time.time()))


# ------------------------------------------------------------------------------- lists
@route("GET", "/calls")
async def get_calls(request: Request, client: Client) -> FonoloJSON:
    """Call-backs, newest first: start_date, end_date (YYYY-MM-DD, UTC, inclusive), profile,
    option, status, limit (at most 1000), offset."""
    status = request.query_params.get("status") or None
    if status is not None and status not in views.STORE_STATUS:
        raise ServiceError(400, "invalid_status", f"status is one of {', '.join(views.STORE_STATUS)}", "status")
    calls = await _calls(request, client, [views.STORE_STATUS[status]] if status else None)
    return await _call_list(request, client, [v for v in calls if status in (None, views.call_status(v))])


@route("GET", "/realtime")
async def get_realtime(request: Request, client: Client) -> FonoloJSON:
    """Call-backs being called or connected now."""
    return await _call_list(request, client, await _calls(request, client, ["dialling"]))


@route("GET", "/pending")
async def get_pending(request: Request, client: Client) -> FonoloJSON:
    """Call-backs waiting to be started as soon as possible."""
    return await _call_list(request, client, await _calls(request, client, ["queued"]))


@route("GET", "/scheduled")
async def get_scheduled(request: Request, client: Client) -> FonoloJSON:
    """Call-backs scheduled for later and not started yet."""
    return await _call_list(request, client, await _calls(request, client, ["scheduled"]))


async def _calls(request: Request, client: str, statuses: list[str] | None,
                 scan: int | None = None) -> list[CallbackView]:
    """The client's customer callbacks under the list query's filters; a dialling one with its
    attempts, whose state tells calling from connected."""
    query = request.query_params
    limit, offset = _count(query.get("limit"), "limit", DEFAULT_LIMIT), _count(query.get("offset"), "offset", 0)
    found = await _customers(request).calls(
        client, created_from=_day(query.get("start_date"), "start_date"),
        created_to=_day(query.get("end_date"), "end_date", 1), option_sids=await _options(request, client),
        statuses=statuses, limit=scan or min(limit, MAX_LIMIT), offset=0 if scan else offset)
    service = request.app.state.service
    return [await service.get(v.id, client) if v.status == "dialling" else v for v in found]


async def _options(request: Request, client: str) -> list[str] | None:
    profile_sid, option_sid = request.query_params.get("profile"), request.query_params.get("option")
    if profile_sid:
        profile = await _customers(request).profile(client, profile_sid)
        sids = [o.sid for o in profile.options]
        return [s for s in sids if s == option_sid] if option_sid else sids
    return [option_sid] if option_sid else None


def _count(text: str | None, name: str, default: int) -> int:
    if not text:
        return default
    if not text.isdigit():
        raise ServiceError(400, f"invalid_{name}", f"{name} must be a whole number", name)
    return int(text)


def _day(text: str | None, name: str, shift: int = 0) -> float | None:
    """The start of the (UTC) day, or of the next with ``shift=1`` for an inclusive end."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text) + timedelta(days=shift)
    except ValueError:
        raise ServiceError(400, f"invalid_{name}", f"{name} must be YYYY-MM-DD", name) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


async def _call_list(request: Request, client: str, found: list[CallbackView]) -> FonoloJSON:
    zone_of, now = await _zones(request, client), time.time()
    return envelope({"total": len(found), "calls": [views.call_data(v, zone_of(v), now) for v in found]})


# ----------------------------------------------------------------------------- opt-ins
@route("GET", "/optins")
async def get_optins(request: Request, client: Client) -> FonoloJSON:
    """SMS opt-ins given with call-backs (fc_sms), newest first; the query of calls."""
    query = request.query_params
    limit, offset = _count(query.get("limit"), "limit", DEFAULT_LIMIT), _count(query.get("offset"), "offset", 0)
    given = [v for v in await _calls(request, client, None, scan=OPTIN_SCAN) if (v.request or {}).get("sms")]
    page = given[offset:offset + min(limit, MAX_LIMIT)]
    zone_of = await _zones(request, client)
    return envelope({"total": len(page), "optins": [views.optin_data(v, zone_of(v)) for v in page]})


@route("GET", "/optin/{sid}")
async def get_optin(sid: str, request: Request, client: Client) -> FonoloJSON:
    """One SMS opt-in."""
    view = await _customer_callback(request, client, sid, OPTIN_PREFIX)
    if not (view.request or {}).get("sms"):
        raise ServiceError(404, "optin_not_found", f"Unknown opt-in {sid!r}")
    return envelope(views.optin_data(view, (await _zones(request, client))(view)))


# --------------------------------------------------------------------------- time zones
_ZONES: list[str] = sorted(z for z in available_timezones() if "/" in z or z == "UTC")


@route("GET", "/timezones")
async def get_timezones(request: Request, client: Client) -> FonoloJSON:
    """The IANA time zones fc_timezone accepts."""
    return envelope({"total": len(_ZONES), "timezones": _ZONES})
