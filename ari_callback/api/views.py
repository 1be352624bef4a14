"""How a stored callback is shown: times in ISO 8601 (UTC, ms), every leg with its cause."""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel

from ..domain import causes

LEG_TIMES = ("created_at", "ringing_at", "progress_at", "answered_at", "hangup_at", "ended_at")


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


class CallbackView(BaseModel):
    id: str
    call_id: str
    client_id: str
    api: str
    status: str
    status_detail: str
    ended_by: str
    finished: bool
    created_at: str
    connected_at: str | None = None
    ended_at: str | None = None
    duration: float | None = None
    request: dict
    legs: list[LegView]
    timeline: list[TimelineView]


def leg_view(row: dict) -> LegView:
    times = {name: iso(row.get(name)) for name in LEG_TIMES}
    outcome = ""
    if row.get("ended_at") is not None:
        outcome = causes.classify(row.get("cause"), row.get("dialstatus"), row.get("answered_at") is not None)
    return LegView(id=row["id"], role=row["role"], number=row["number"], index=row.get("idx", 0), **times,
                   cause=row.get("cause"), cause_txt=row.get("cause_txt") or "", sip_code=row.get("tech_cause"),
                   dialstatus=row.get("dialstatus") or "", hangup_reason=row.get("hangup_reason") or "",
                   outcome=outcome)


def callback_view(view) -> CallbackView:
    duration = None
    if view.connected_at is not None and view.ended_at is not None:
        duration = round(view.ended_at - view.connected_at, 3)
    timeline = [TimelineView(at=iso(e["at"]), offset=round(e["at"] - view.created_at, 3), kind=e["kind"],
                             leg=e.get("leg_id"), detail=e.get("detail") or {}) for e in view.timeline]
    return CallbackView(id=view.id, call_id=view.id, client_id=view.client_id, api=view.api, status=view.status,
                        status_detail=view.status_detail or "", ended_by=view.ended_by or "",
                        finished=view.finished, created_at=iso(view.created_at),
                        connected_at=iso(view.connected_at), ended_at=iso(view.ended_at), duration=duration,
                        request=view.request or {}, legs=[leg_view(leg) for leg in view.legs], timeline=timeline)
