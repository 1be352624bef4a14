"""How a stored callback is shown: times in ISO 8601 (UTC, ms), every leg with its cause."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from ..domain import causes

LEG_TIMES = ("created_at", "ringing_at", "progress_at", "answered_at", "hangup_at", "ended_at")


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class LegView(BaseModel):
    id: str
    role: str
    number: str
    index: int
    created_at: str | None = None
    ringing_at: str | None = None
    progress_at: str | None = None
    answered_at: str | None = None
    hangup_at: str | None = None
    ended_at: str | None = None
    cause: int | None = None
    cause_txt: str = ""
    sip_code: int | None = None
    dialstatus: str = ""
    hangup_reason: str = ""
    outcome: str = ""


class TimelineView(BaseModel):
    at: str
    offset: float
    kind: str
    leg: str | None = None
    detail: dict = {}


class AttemptView(BaseModel):
    id: str
    number: int
    instance: str
    state: str
    status_detail: str
    ended_by: str
    created_at: str
    connected_at: str | None = None
    ended_at: str | None = None
    legs: list[LegView]
    timeline: list[TimelineView]


class CallbackView(BaseModel):
    id: str
    call_id: str
    client_id: str
    api: str
    status: str
    state: str
    status_detail: str
    ended_by: str
    finished: bool
    created_at: str
    due_at: str
    connected_at: str | None = None
    ended_at: str | None = None
    duration: float | None = None
    request: dict
    legs: list[LegView]
    timeline: list[TimelineView]
    attempts: list[AttemptView]


def leg_view(row: dict) -> LegView:
    times = {name: iso(row.get(name)) for name in LEG_TIMES}
    outcome = row.get("outcome") or ""   # decided once, by the machine, when the leg ended
    if not outcome and row.get("ended_at") is not None:   # a leg stored before it did
        outcome = causes.leg_outcome(row.get("cause"), row.get("dialstatus") or "",
                                     row.get("answered_at") is not None, row.get("hangup_reason") or "")
    return LegView(id=row["id"], role=row["role"], number=row["number"], index=row.get("idx", 0), **times,
                   cause=row.get("cause"), cause_txt=row.get("cause_txt") or "", sip_code=row.get("tech_cause"),
                   dialstatus=row.get("dialstatus") or "", hangup_reason=row.get("hangup_reason") or "",
                   outcome=outcome)


def attempt_view(attempt, since: float) -> AttemptView:
    timeline = [TimelineView(at=iso(e["at"]), offset=round(e["at"] - since, 3), kind=e["kind"],
                             leg=e.get("leg_id"), detail=e.get("detail") or {}) for e in attempt.timeline]
    return AttemptView(id=attempt.id, number=attempt.seq, instance=attempt.instance, state=attempt.state,
                       status_detail=attempt.status_detail, ended_by=attempt.ended_by,
                       created_at=iso(attempt.created_at), connected_at=iso(attempt.connected_at),
                       ended_at=iso(attempt.ended_at), legs=[leg_view(leg) for leg in attempt.legs],
                       timeline=timeline)


def callback_view(view) -> CallbackView:
    """The callback, its latest attempt's legs and timeline at the top (what a click-to-call
    client reads), and every attempt below."""
    attempts = [attempt_view(a, view.created_at) for a in view.attempt_list]
    latest = attempts[-1] if attempts else None
    live = None if view.finished else view.latest   # the attempt being dialled, if any
    connected = live.connected_at if live else view.connected_at
    duration = None
    if connected is not None and view.ended_at is not None:
        duration = round(view.ended_at - connected, 3)
    return CallbackView(id=view.id, call_id=view.id, client_id=view.client_id, api=view.api, status=view.status,
                        state=live.state if live else view.status,
                        status_detail=(live.status_detail if live else view.status_detail) or "",
                        ended_by=(live.ended_by if live else view.ended_by) or "",
                        finished=view.finished, created_at=iso(view.created_at), due_at=iso(view.due_at),
                        connected_at=iso(connected), ended_at=iso(view.ended_at), duration=duration,
                        request=view.request or {}, legs=latest.legs if latest else [],
                        timeline=latest.timeline if latest else [], attempts=attempts)
