"""The one schema of call-back profiles, their call options and questions: the same shape in the
config file, in the native API's bodies and in the store's JSON, so each is checked once, with
errors that name the key.
"""

from __future__ import annotations

import re
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .domain import customer as c
from .domain.hours import HoursError, OpeningHours
from .domain.retry import RetryPolicy
from .domain.slots import SlotPolicy

SID = r"^[A-Za-z0-9_-]{1,64}$"
_MEDIA = re.compile(r"(sound|recording|tone|digits|number|characters):\S+|https?://\S+")
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")   # lower case, as browsers send it
_DEFAULT_RETRY, _DEFAULT_SLOTS = RetryPolicy(), SlotPolicy()
RetryOutcome = Literal["busy", "no_answer", "failed", "not_reached"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _media(value: list[str]) -> list[str]:
    for uri in value:
        if not _MEDIA.fullmatch(uri):   # an unknown scheme makes a playback that never finishes
            raise ValueError(f"{uri!r} is not a media URI Asterisk plays")
    return value


class RetrySettings(_Strict):
    max_attempts: int = Field(_DEFAULT_RETRY.max_attempts, ge=1, le=20)
    backoff_seconds: list[int] = Field(list(_DEFAULT_RETRY.backoff_seconds), min_length=1)
    deadline_seconds: int = Field(_DEFAULT_RETRY.deadline_seconds, ge=60, le=30 * 86400)
    retry_on: list[RetryOutcome] = Field(
        default_factory=lambda: cast(list[RetryOutcome], sorted(_DEFAULT_RETRY.retry_on)))

    @field_validator("backoff_seconds")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(v < 1 or v > 86400 for v in value):
            raise ValueError("each backoff is 1 to 86400 seconds")
        return value

    def policy(self) -> RetryPolicy:
        return RetryPolicy(self.max_attempts, tuple(self.backoff_seconds), self.deadline_seconds,
                           frozenset(self.retry_on))


class SlotSettings(_Strict):
    slot_minutes: int = Field(_DEFAULT_SLOTS.slot_minutes, ge=1, le=240, description=(
        "slot length: divides 60, or whole hours dividing 24"))
    days_ahead: int = Field(_DEFAULT_SLOTS.days_ahead, ge=1, le=60)
    per_slot: int = Field(_DEFAULT_SLOTS.per_slot, ge=1, le=1000)
    min_notice_minutes: int = Field(_DEFAULT_SLOTS.min_notice_minutes, ge=0, le=1440)

    def policy(self) -> SlotPolicy:
        return SlotPolicy(self.slot_minutes, self.days_ahead, self.per_slot, self.min_notice_minutes)


class OptionSettings(_Strict):
    name: str = Field(min_length=1, max_length=128)
    queue: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the Asterisk queue")
    position: int = Field(0, ge=0, le=10_000, description="order in the option list")
    status: Literal["active", "paused", "closed"] = "active"
    mode: Literal["agent_first", "customer_first"] = "customer_first"
    timezone: str | None = Field(None, description="IANA zone of the hours; default: the profile's")
    hours: dict[str, str | list[str]] = Field(default_factory=lambda: dict[str, str | list[str]](daily="24h"),
                                              description=(
        'opening hours, e.g. {"mon-fri": "09:00-17:00", "sat": ["10:00-12:00"]}'))
    closed_dates: list[str] = Field(default_factory=list, description="holidays, YYYY-MM-DD")
    capacity: int = Field(1, ge=1, le=1000, description="callbacks of this option in progress at once")
    announcement: list[str] = Field(default_factory=list, description="media played to the customer first")
    whisper: list[str] = Field(default_factory=list, description="media played to the agent first")
    ring_seconds: int = Field(30, ge=5, le=300)
    max_hold_seconds: int = Field(600, ge=10, le=7200)
    queue_position: Literal["head", "end"] = Field("head", description=(
        "where a callback joins the Asterisk queue: head (it waited its turn in the waitlist) or end"))
    retry: RetrySettings = RetrySettings()
    slots: SlotSettings = SlotSettings()
    calling_hours: dict[str, str | list[str]] | None = Field(None, description=(
        "retries only inside these hours in the customer's time zone, e.g. {\"daily\": \"09:00-20:00\"}"))

    _announcement = field_validator("announcement", "whisper")(classmethod(lambda cls, v: _media(v)))

    def option(self, sid: str, profile_sid: str, profile_timezone: str) -> c.CallOption:
        hours = OpeningHours.parse(self.timezone or profile_timezone, self.hours, self.closed_dates)
        return c.CallOption(sid=sid, profile_sid=profile_sid, name=self.name, queue=self.queue,
                            position=self.position, status=self.status, mode=self.mode, hours=hours,
                            capacity=self.capacity, announcement=tuple(self.announcement),
                            whisper=tuple(self.whisper), ring_seconds=self.ring_seconds,
                            max_hold_seconds=self.max_hold_seconds, queue_position=self.queue_position,
                            retry=self.retry.policy(), slots=self.slots.policy(),
                            calling_hours=self.calling_hours)


class QuestionSettings(_Strict):
    text: str = Field(min_length=1, max_length=500)
    position: int = Field(0, ge=0, le=10_000)
    type: Literal["text", "number", "yes_no", "choice"] = "text"
    required: bool = False
    choices: list[str] = Field(default_factory=list)
    variable: str = Field("", pattern=r"^([A-Z][A-Z0-9_]{0,31})?$")

    @model_validator(mode="after")
    def _choices(self) -> QuestionSettings:
        if (self.type == "choice") != bool(self.choices):
            raise ValueError("choices are given exactly when type is choice")
        return self

    def question(self, sid: str) -> c.Question:
        return c.Question(sid=sid, text=self.text, position=self.position, type=self.type,
                          required=self.required, choices=tuple(self.choices), variable=self.variable)


class WebSettings(_Strict):
    """The profile's public customer page (docs/customer-page.md): off unless published."""
    enabled: bool = Field(False, description="serve the page and its public API at /page/<profile sid>")
    allowed_origins: list[str] = Field(default_factory=list, max_length=50, description=(
        "sites that may embed the page (frame-ancestors) and call its API (CORS), e.g. https://www.example.com"))

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:   # an origin exactly as a browser sends it: no path, no wildcard
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin like https://www.example.com[:port]")
        return value


class ProfileSettings(_Strict):
    client: str = Field("default", description="the client (tenant) the profile belongs to")
    name: str = Field(min_length=1, max_length=128)
    status: Literal["active", "paused"] = "active"
    sms: bool = False
    scheduling: bool = False
    timezone: str = "UTC"
    options: dict[str, OptionSettings] = Field(default_factory=dict)
    questions: dict[str, QuestionSettings] = Field(default_factory=dict)
    web: WebSettings = WebSettings()

    @model_validator(mode="after")
    def _hours_parse(self) -> ProfileSettings:
        for sid, option in self.options.items():
            if not re.fullmatch(SID, sid):
                raise ValueError(f"options.{sid}: an option sid is 1-64 letters, digits, _ or -")
            try:
                option.option(sid, "", self.timezone)
            except HoursError as exc:
                raise ValueError(f"options.{sid}.hours: {exc}") from None
            try:
                if option.calling_hours:
                    OpeningHours.parse("UTC", option.calling_hours)
            except HoursError as exc:
                raise ValueError(f"options.{sid}.calling_hours: {exc}") from None
        return self

    def profile(self, sid: str) -> c.Profile:
        options = sorted((o.option(osid, sid, self.timezone) for osid, o in self.options.items()),
                         key=lambda o: (o.position, o.sid))
        questions = sorted((q.question(qsid) for qsid, q in self.questions.items()),
                           key=lambda q: (q.position, q.sid))
        return c.Profile(sid=sid, client_id=self.client, name=self.name, status=self.status, sms=self.sms,
                         scheduling=self.scheduling, timezone=self.timezone, options=tuple(options),
                         questions=tuple(questions))


def callback_policy(option: c.CallOption, customer_timezone: str) -> dict:
    """What a customer callback keeps from its option when accepted, for its later attempts:
    a retry runs under the policy and hours it was accepted with (the option's, and the
    option's calling hours read in the customer's time zone)."""
    retry = option.retry
    calling = (OpeningHours.parse(customer_timezone, option.calling_hours).to_spec()
               if option.calling_hours else None)
    return {"retry": {"max_attempts": retry.max_attempts, "backoff_seconds": list(retry.backoff_seconds),
                      "deadline_seconds": retry.deadline_seconds, "retry_on": sorted(retry.retry_on)},
            "hours": option.hours.to_spec(), "calling_hours": calling, "customer_side": c.customer_side(option)}


def retry_terms(policy: dict, attempts_made: int, requested_at: float) -> c.RetryTerms:
    """The stored policy back as the domain's terms; ValueError if it is not one we wrote."""
    try:
        retry = RetrySettings(**policy["retry"]).policy()
        hours = OpeningHours.parse(**policy["hours"])
        calling = OpeningHours.parse(**policy["calling_hours"]) if policy.get("calling_hours") else None
        side = policy["customer_side"]
    except (KeyError, TypeError, HoursError) as exc:
        raise ValueError(f"callback policy: {exc}") from None
    return c.RetryTerms(retry, hours, side, attempts_made, requested_at, calling)
