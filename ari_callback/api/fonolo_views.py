"""What the Fonolo API shows (docs/fonolo-api.md §7): profiles, options, questions, schedules and
calls in Fonolo's shapes and vocabulary, from our domain and stored callbacks."""

from __future__ import annotations

from ..domain import customer as c
from ..domain import states
from ..domain.hours import MIDNIGHT, OpeningHours
from ..domain.slots import Slot
from ..store import CallbackView
from .fonolo_wire import OPTIN_PREFIX, call_sid, local_time

# Fonolo's call statuses from ours (a dialling callback is split by its attempt's state).
STORE_STATUS = {"pending": "queued", "scheduled": "scheduled", "calling": "dialling", "connected": "dialling",
                "completed": "completed", "failed": "failed", "cancelled": "cancelled"}
_CONNECTED_STATES = (states.CONNECTED, states.TRANSFERRING, states.ENDING)


def profile_data(profile: c.Profile) -> dict:
    return {"sid": profile.sid, "name": profile.name, "status": profile.status,
            "total_options": len(profile.options), "sms": profile.sms,
            "pre_call_questions": bool(profile.questions), "scheduled_callbacks": profile.scheduling,
            "timezone": profile.timezone}


def option_data(profile: c.Profile, option: c.CallOption, now: float) -> dict:
    order = next(i for i, o in enumerate(profile.options, 1) if o.sid == option.sid)
    return {"sid": option.sid, "name": option.name, "order": order, "status": option.status,
            "profile_sid": profile.sid, "open_now": option.hours.is_open(now)}


def question_data(question: c.Question) -> dict:
    """Our yes/no question is Fonolo's choice between "yes" and "no"."""
    kind, choices = question.type, list(question.choices)
    if kind == "yes_no":
        kind, choices = "choice", ["yes", "no"]
    return {"sid": question.sid, "question": question.text, "type": kind, "required": question.required,
            "choices": choices, "order": question.position}


def slot_data(slot: Slot, timezone: str) -> dict:
    return {"start_time": local_time(slot.start, timezone), "end_time": local_time(slot.end, timezone),
            "available": slot.available}


def scheduling_data(profile: c.Profile) -> dict:
    """The profile's scheduling settings: those of its first option (the profile has none of its
    own), and each option's under ``options``."""
    per_option = [{"option_sid": o.sid, **_slot_settings(o)} for o in profile.options]
    first = per_option[0] if per_option else {}
    return {"profile_sid": profile.sid, "enabled": profile.scheduling,
            **{k: v for k, v in first.items() if k != "option_sid"}, "options": per_option}


def _slot_settings(option: c.CallOption) -> dict:
    slots = option.slots
    return {"offer_interval": str(slots.slot_minutes), "max_scheduled": slots.per_slot,
            "max_options": slots.days_ahead, "daily_overflow": "", "min_notice_minutes": slots.min_notice_minutes,
            "timezone": option.hours.timezone, "entries": hours_entries(option.hours)}


def hours_entries(hours: OpeningHours) -> list[dict]:
    """Weekly hours as Fonolo's entries: days with the same hours together, 0 = Sunday."""
    by_spans: dict[tuple, list[int]] = {}
    for day in range(7):   # ours: 0 = Monday
        by_spans.setdefault(hours.weekly[day], []).append((day + 1) % 7)
    return [{"status": "open" if spans else "closed", "day_of_week": sorted(days),
             "start_time": [f"{start:%H:%M:%S}" for start, _ in spans],
             "end_time": ["24:00:00" if end == MIDNIGHT else f"{end:%H:%M:%S}" for _, end in spans]}
            for spans, days in by_spans.items()]


def call_status(view: CallbackView) -> str:
    if view.status == "queued":
        return "pending"
    if view.status == "dialling":
        latest = view.latest
        return "connected" if latest is not None and latest.state in _CONNECTED_STATES else "calling"
    return view.status


def started_at(view: CallbackView) -> float:
    """When the call-back started: its requested start if scheduled, else when it was asked for."""
    start = (view.request or {}).get("start_at")
    return float(start) if start is not None else view.created_at


def duration(view: CallbackView, now: float) -> int:
    """Fonolo's "current duration timer": seconds from its start to now, or to its end."""
    end = view.ended_at if view.ended_at is not None else now
    return max(0, int(end - started_at(view)))


def status_data(view: CallbackView, timezone: str, now: float) -> dict:
    return {"sid": call_sid(view.id), "status": call_status(view),
            "start_date": local_time(started_at(view), timezone), "duration": duration(view, now),
            "details": view.status_detail or ""}


def call_data(view: CallbackView, timezone: str, now: float) -> dict:
    request = view.request or {}
    return {**status_data(view, timezone, now), "profile_sid": request.get("profile"),
            "option_sid": view.option_sid, "number": view.number,
            "date_created": local_time(view.created_at, timezone),
            "date_completed": local_time(view.ended_at, timezone),
            "sms": bool(request.get("sms")), "answers": request.get("answers") or {}}


def optin_data(view: CallbackView, timezone: str) -> dict:
    """An SMS opt-in is recorded with the call-back it was given for: open while that waits."""
    request = view.request or {}
    return {"sid": OPTIN_PREFIX + call_sid(view.id)[2:], "number": view.number,
            "profile_sid": request.get("profile"), "option_sid": view.option_sid,
            "status": "closed" if view.finished else "active", "call_sid": call_sid(view.id),
            "date_created": local_time(view.created_at, timezone)}
