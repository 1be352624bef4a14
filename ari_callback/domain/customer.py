"""Customer callbacks: call-back profiles, their call options (queues) and pre-call questions,
and the plan of a callback to a customer in each of the two dial modes.

Both modes are today's call machine with a different plan, so everything the machine does
(ring limits, durations, recording of legs and causes, recovery) holds for them too:

- **customer first**: the origin is the customer; once they answer they hear the option's
  announcement, and the destination is the queue, ``Local/<queue>@<queue_context>``, which the
  dialplan enters with ``Queue()`` at the position given in ``CB_QUEUE_POSITION``. The queue leg
  "rings" until an agent answers, so its ring limit is the option's ``max_hold_seconds``.
- **agent first**: the origin is the queue, ``Local/<queue>@<agent_context>``, answered only when
  an agent picks up (``Queue()`` sends no ringing); the agent hears the whisper (the option's
  sound, then the customer's number), and the destination is the customer, dialled through the
  dialplan like any destination.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .hours import OpeningHours
from .plan import (
    CallerId,
    CallPlan,
    ClientPolicy,
    DialingPolicy,
    PlanError,
    SrcTarget,
    check_destinations,
    route_number,
)
from .retry import RetryPolicy, next_attempt
from .slots import SlotPolicy

ACTIVE, PAUSED, CLOSED = "active", "paused", "closed"
AGENT_FIRST, CUSTOMER_FIRST = "agent_first", "customer_first"
ANSWER_TYPES = ("text", "number", "yes_no", "choice")
VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")


@dataclass(frozen=True)
class Question:
    sid: str
    text: str
    position: int = 0
    type: str = "text"            # one of ANSWER_TYPES
    required: bool = False
    choices: tuple[str, ...] = ()
    variable: str = ""            # the dialplan variable carrying the answer (CB_ANSWER_<variable>)

    def check(self, answer: str | None) -> str:
        """The answer as stored; PlanError ``invalid_answer`` / ``answer_required``."""
        value = (answer or "").strip()
        if not value:
            if self.required:
                raise PlanError("answer_required", f"question {self.sid} needs an answer", field=self.sid)
            return ""
        if len(value) > 200:
            raise PlanError("invalid_answer", f"question {self.sid}: at most 200 characters", field=self.sid)
        if self.type == "number" and not re.fullmatch(r"[0-9]{1,20}", value):
            raise PlanError("invalid_answer", f"question {self.sid}: digits only", field=self.sid)
        if self.type == "yes_no" and value.lower() not in ("yes", "no"):
            raise PlanError("invalid_answer", f"question {self.sid}: yes or no", field=self.sid)
        if self.type == "choice" and value not in self.choices:
            raise PlanError("invalid_answer", f"question {self.sid}: one of {', '.join(self.choices)}",
                            field=self.sid)
        return value.lower() if self.type == "yes_no" else value


@dataclass(frozen=True)
class CallOption:
    sid: str
    profile_sid: str
    name: str
    queue: str                            # the Asterisk queue (the extension in the queue contexts)
    position: int = 0
    status: str = ACTIVE                  # active, paused or closed
    mode: str = CUSTOMER_FIRST
    hours: OpeningHours = field(default_factory=OpeningHours.always)
    capacity: int = 1                     # callbacks of this option in progress at once
    announcement: tuple[str, ...] = ()    # customer first: played to the customer before the queue
    whisper: tuple[str, ...] = ()         # agent first: played to the agent before the customer's number
    ring_seconds: int = 30                # how long the customer's phone rings
    max_hold_seconds: int = 600           # how long the queue may take to find an agent
    # Where the callback joins Asterisk's queue: "head" (it has waited its turn in the waitlist
    # already, since its place, so it goes before callers who joined the queue since) or "end".
    queue_position: str = "head"
    retry: RetryPolicy = RetryPolicy()
    slots: SlotPolicy = SlotPolicy()
    # Retries only when the customer may be called: a wall-clock spec (like ``hours``) read in
    # the customer's own time zone, e.g. {"daily": "09:00-20:00"}; None: the option's hours only.
    calling_hours: Mapping[str, str | Sequence[str]] | None = field(default=None, hash=False)

    def refusal(self, now: float) -> PlanError | None:
        """Why this option takes no callback now (paused, closed), or None."""
        if self.status == PAUSED:
            return PlanError("option_paused", f"call option {self.sid} is paused", field="option", status=409)
        if self.status == CLOSED:
            return PlanError("option_closed", f"call option {self.sid} is closed", field="option", status=409)
        return None


@dataclass(frozen=True)
class Profile:
    sid: str
    client_id: str
    name: str
    status: str = ACTIVE                  # active or paused
    sms: bool = False
    scheduling: bool = False
    timezone: str = "UTC"
    options: tuple[CallOption, ...] = ()
    questions: tuple[Question, ...] = ()

    def option(self, sid: str) -> CallOption | None:
        return next((o for o in self.options if o.sid == sid), None)


@dataclass(frozen=True)
class CustomerRequest:
    """A customer's request, checked: the number to call and what they told us."""

    number: str
    option: CallOption
    answers: Mapping[str, str] = field(default_factory=dict)   # question sid -> answer
    sms: bool = False
    start_at: float | None = None         # a scheduled callback's start (UTC epoch)
    timezone: str = "UTC"                 # the customer's, for display and calling hours


def check_answers(profile: Profile, given: Mapping[str, str]) -> dict[str, str]:
    """Every question's answer checked; an answer to no question of the profile is refused."""
    known = {q.sid for q in profile.questions}
    for sid in given:
        if sid not in known:
            raise PlanError("unknown_question", f"profile {profile.sid} has no question {sid}", field=sid)
    answers = {q.sid: q.check(given.get(q.sid)) for q in profile.questions}
    return {sid: value for sid, value in answers.items() if value}


def answer_variables(profile: Profile, answers: Mapping[str, str]) -> dict[str, str]:
    """The answers as dialplan variables, ``CB_ANSWER_<variable>`` (the question's sid when it
    names no variable), for the agent's screen or a dialplan decision."""
    out = {}
    for question in profile.questions:
        if question.sid in answers:
            name = question.variable or re.sub(r"[^A-Z0-9_]", "_", question.sid.upper())
            out[f"CB_ANSWER_{name}"] = answers[question.sid]
    return out


@dataclass(frozen=True)
class QueueContexts:
    customer_first: str = "cb-queue"
    agent_first: str = "cb-agent-first"


def customer_plan(call_id: str, request: CustomerRequest, profile: Profile, client: ClientPolicy,
                  dialing: DialingPolicy, contexts: QueueContexts = QueueContexts()) -> CallPlan:
    """The plan of a customer callback in its option's dial mode (see the module's docstring)."""
    check_destinations(client, {"number": request.number})
    option = request.option
    variables = {"CB_CUSTOMER_NUMBER": request.number, "CB_OPTION": option.sid, "CB_PROFILE": profile.sid,
                 "CB_QUEUE_TIMEOUT": str(option.max_hold_seconds),
                 "CB_QUEUE_POSITION": "1" if option.queue_position == "head" else "",
                 **answer_variables(profile, request.answers)}
    common: dict[str, Any] = dict(call_id=call_id, client_id=client.client_id,
                                  call_duration=dialing.default_call_duration,
                  playback_timeout=dialing.playback_timeout, transfer_context=dialing.transfer_context,
                  transfer_code=dialing.transfer_code, allow_public_transfer=False)
    if option.mode == AGENT_FIRST:
        agent = SrcTarget(option.queue, f"Local/{option.queue}@{contexts.agent_first}", None, False,
                          CallerId(profile.name[:40], request.number))
        whisper = (*option.whisper, f"digits:{request.number}")
        return CallPlan(srcs=(agent,), dst_number=request.number,
                        dst_endpoint=f"Local/{request.number}@{dialing.dst_context}",
                        dst_formats=dialing.dst_formats, dst_external=True, dst_caller_id=client.caller_id,
                        wait_for_pickup=option.max_hold_seconds, dst_wait_for_pickup=option.ring_seconds,
                        announce_media=whisper, variables=MappingProxyType(variables), **common)
    trunk, endpoint = route_number(dialing, request.number)
    customer = SrcTarget(request.number, endpoint, trunk.formats, trunk.external, client.caller_id)
    return CallPlan(srcs=(customer,), dst_number=option.queue,
                    dst_endpoint=f"Local/{option.queue}@{contexts.customer_first}",
                    dst_formats=dialing.dst_formats, dst_external=False, dst_caller_id=CallerId("", request.number),
                    wait_for_pickup=option.ring_seconds, dst_wait_for_pickup=option.max_hold_seconds,
                    announce_media=option.announcement, variables=MappingProxyType(variables), **common)


@dataclass(frozen=True)
class RetryTerms:
    """What decides whether a customer callback's failed attempt is tried again, and when."""

    policy: RetryPolicy
    hours: OpeningHours | None
    customer_side: str
    attempts_made: int
    requested_at: float
    calling_hours: OpeningHours | None = None   # when the customer may be called, in their zone

    def next_at(self, status_detail: str, ended_at: float) -> float | None:
        at = next_attempt(self.policy, self.hours, status_detail, self.attempts_made, ended_at,
                          self.requested_at, customer_side=self.customer_side)
        if at is None or self.calling_hours is None:
            return at
        both = open_in_both(self.calling_hours, self.hours, at)
        return both if both is not None and both <= self.requested_at + self.policy.deadline_seconds else None


def open_in_both(first: OpeningHours, second: OpeningHours | None, at: float, rounds: int = 100) -> float | None:
    """The earliest moment from ``at`` on when both are open (None if none is found)."""
    for _ in range(rounds):
        opened = first.next_open(at)
        if opened is None:
            return None
        both = opened if second is None else second.next_open(opened)
        if both is None:
            return None
        if both == opened:
            return both
        at = both
    return None


def customer_side(option: CallOption) -> str:
    """Which leg of the call machine is the customer: retries look at that side's outcome."""
    return "dst" if option.mode == AGENT_FIRST else "src"
