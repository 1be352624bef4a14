"""The call-history view of a callback (seed 002's "Call history" resource, by call_uuid)."""

from __future__ import annotations

from pydantic import BaseModel

from .views import AttemptView, LegView, callback_view


class Transfer(BaseModel):
    at: str
    number: str
    replacing: str | None = None
    leg: str | None = None


class CallHistory(BaseModel):
    call_uuid: str
    status: str
    result: str
    start_time: str
    answer_time: str | None = None
    end_time: str | None = None
    duration: float | None = None
    hangup_first: str | None = None
    ended_by: str
    legs: list[LegView]
    transfers: list[Transfer]
    attempts: list[AttemptView] = []


def call_history(stored) -> CallHistory:
    view = callback_view(stored)
    transfers = [Transfer(at=e.at, number=str(e.detail.get("number", "")), replacing=e.detail.get("replacing"),
                          leg=e.leg) for e in view.timeline if e.kind == "transfer"]
    # Who hung up first: the first leg Asterisk reported hanging up by itself after answer.
    asked: set[str] = set()
    first = None
    for e in view.timeline:
        if e.kind == "hangup_requested" and e.leg:
            asked.add(e.leg)
        elif e.kind == "hangup" and e.leg and e.leg not in asked:
            first = e.leg
            break
    role = next((leg.role for leg in view.legs if leg.id == first), None)
    return CallHistory(call_uuid=view.id, status=view.status, result=view.status_detail,
                       start_time=view.created_at, answer_time=view.connected_at, end_time=view.ended_at,
                       duration=view.duration, hangup_first=role, ended_by=view.ended_by, legs=view.legs,
                       transfers=transfers, attempts=view.attempts)
