"""What the customer page's public API shows: only what a customer needs to choose and to wait.
No queue names, capacities, client ids or other customers' numbers ever leave through it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from pydantic import BaseModel, Field, StrictStr

from ..customer_schema import SID
from ..domain import customer as c
from ..domain import states
from ..domain.request import NUMBER_RE
from ..domain.waitlist import Forecast
from ..store import CallbackView
from .views import iso

POLL_INTERVAL_MS = 2000
Phase = Literal["waiting", "scheduled", "finding_agent", "calling", "connected", "completed", "failed", "cancelled"]


class PageOption(BaseModel):
    sid: str
    name: str
    status: Literal["active", "paused", "closed"]
    open_now: bool = Field(description="inside its opening hours now (out of hours, an active option still "
                                       "takes requests: they wait for it to open)")
    next_open: str | None = Field(description="when it opens next, if closed now (UTC)")
    selectable: bool = Field(description="a request for it is taken now: the option and the profile are active")


class PageQuestion(BaseModel):
    sid: str
    text: str
    type: Literal["text", "number", "yes_no", "choice"]
    required: bool
    choices: list[str]


class PageConfig(BaseModel):
    sid: str
    name: str
    status: Literal["active", "paused"]
    timezone: str = Field(description="the profile's zone; the page shows times in the customer's own")
    sms: bool = Field(description="the customer may opt into SMS updates")
    scheduling: bool = Field(description="the customer may pick a slot instead of waiting in line")
    options: list[PageOption]
    questions: list[PageQuestion]
    poll_interval_ms: int = POLL_INTERVAL_MS


class PageSlot(BaseModel):
    start: str
    end: str
    available: int


class PageRequest(BaseModel):
    model_config = {"extra": "forbid"}
    option: StrictStr = Field(pattern=SID)
    number: StrictStr = Field(pattern=NUMBER_RE.pattern, description="digits, an optional leading +")
    answers: dict[StrictStr, StrictStr] = Field(default_factory=dict, max_length=50)
    sms: bool = False
    start_at: datetime | None = Field(None, description="a slot's start, ISO 8601 with an offset")
    timezone: StrictStr | None = Field(None, max_length=64, description="the browser's IANA zone")


class PageCallback(BaseModel):
    id: str = Field(description="unguessable; it is the customer's only key to this callback")
    phase: Phase
    status_detail: str
    option: str | None
    option_name: str | None
    number: str | None
    position: int | None
    estimated_wait: int | None = Field(description="seconds until it is estimated to be dialled")
    estimated_for: str | None
    start_at: str | None = Field(description="a scheduled callback's start (UTC)")
    retrying: bool = Field(description="an attempt failed and another is planned")
    can_cancel: bool
    created: bool = True
    status_url: str
    cancel_url: str


def page_config(profile: c.Profile, now: float) -> PageConfig:
    options = [_option(profile, option, now) for option in profile.options]
    questions = [PageQuestion(sid=q.sid, text=q.text, type=q.type, required=q.required, choices=list(q.choices))
                 for q in profile.questions]
    return PageConfig(sid=profile.sid, name=profile.name, status=profile.status, timezone=profile.timezone,
                      sms=profile.sms, scheduling=profile.scheduling, options=options, questions=questions)


def _option(profile: c.Profile, option: c.CallOption, now: float) -> PageOption:
    open_now = option.hours.is_open(now)
    return PageOption(sid=option.sid, name=option.name, status=option.status, open_now=open_now,
                      next_open=None if open_now else iso(option.hours.next_open(now)),
                      selectable=profile.status == c.ACTIVE and option.status == c.ACTIVE)


def phase(view: CallbackView) -> Phase:
    """What the customer sees: whose phone rings now, in the option's dial mode."""
    if view.status == "queued":
        return "waiting"
    if view.status != "dialling":
        return cast(Phase, view.status)   # scheduled, completed, failed, cancelled
    state = view.latest.state if view.latest is not None else states.NEW
    if state in (states.CONNECTED, states.TRANSFERRING, states.ENDING):
        return "connected"
    customer_first = (view.policy or {}).get("customer_side", "src") == "src"
    customer_ringing = states.CALLING_SRC if customer_first else states.CALLING_DST
    if state == customer_ringing or (customer_first and state == states.NEW):
        return "calling"
    return "finding_agent"   # customer first: answered, in the queue; agent first: looking for one


def page_callback(view: CallbackView, forecast: Forecast | None, option_name: str | None, base: str,
                  created: bool = True) -> PageCallback:
    start = (view.request or {}).get("start_at")
    url = f"{base}/callbacks/{view.id}"
    return PageCallback(
        id=view.id, phase=phase(view), status_detail=view.status_detail, option=view.option_sid,
        option_name=option_name, number=view.number,
        position=forecast.position if forecast else None,
        estimated_wait=forecast.wait_seconds if forecast else None,
        estimated_for=iso(forecast.estimated_for) if forecast else None,
        start_at=iso(float(start)) if start is not None else None,
        retrying=view.status == "queued" and view.attempts > 0, can_cancel=not view.finished,
        created=created, status_url=url, cancel_url=f"{url}/cancel")
