"""Outbox rows as webhook events: their type and their JSON body. Pure: no I/O.

The event id is the outbox row's id, so every delivery, retry and replay of one status change
carries the same id and a receiver can deduplicate on it. The legs are shown as they stood at
the event's time (a leg's later times and its ending are left out), so an event read late, or
sent again, says what was true when it happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

# Attempt states (domain.states) as the events a receiver cares about; ``previous`` tells the
# two ways into some states apart.
_ATTEMPT_TYPES = {"calling_src": "callback.ringing", "announcing": "callback.answered",
                  "transferring": "callback.transferring", "ending": "callback.ending",
                  "completed": "attempt.completed", "failed": "attempt.failed", "cancelled": "attempt.cancelled"}
_CALLBACK_STATUSES = ("queued", "scheduled", "dialling", "completed", "failed", "cancelled")

EVENT_TYPES: tuple[str, ...] = (
    *(f"callback.{status}" for status in _CALLBACK_STATUSES),
    "callback.ringing", "callback.answered", "callback.announced", "callback.connected",
    "callback.transferring", "callback.transferred", "callback.ending",
    "attempt.completed", "attempt.failed", "attempt.cancelled",
)
ALL = "*"
_LEG_TIMES = ("created_at", "ringing_at", "progress_at", "answered_at", "hangup_at", "ended_at")


def event_type(kind: str, status: str, previous: str | None) -> str:
    """The event type of an outbox row (``kind`` callback or attempt)."""
    if kind == "attempt":
        if status == "calling_dst":   # the origin answered, or its announcement ended
            return "callback.announced" if previous == "announcing" else "callback.answered"
        if status == "connected":
            return "callback.transferred" if previous == "transferring" else "callback.connected"
        return _ATTEMPT_TYPES.get(status, f"attempt.{status}")
    return f"{kind}.{status}"


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def legs_at(legs: Iterable[Mapping[str, Any]], at: float) -> list[dict[str, Any]]:
    """The legs that existed at ``at``, with only what had happened to them by then."""
    shown = []
    for leg in sorted(legs, key=lambda leg: (leg.get("created_at") or 0.0, leg["id"])):
        created = leg.get("created_at")
        if created is not None and created > at:
            continue
        view: dict[str, Any] = {"id": leg["id"], "role": leg["role"], "number": leg["number"],
                                "index": leg.get("idx", 0)}
        for name in _LEG_TIMES:
            value = leg.get(name)
            view[name] = iso(value) if value is not None and value <= at else None
        if view["ended_at"] is not None:   # how it ended is known only once it has
            view.update(cause=leg.get("cause"), cause_txt=leg.get("cause_txt", ""), sip_code=leg.get("tech_cause"),
                        dialstatus=leg.get("dialstatus", ""), hangup_reason=leg.get("hangup_reason", ""),
                        outcome=leg.get("outcome", ""))
        shown.append(view)
    return shown


def event_body(row: Mapping[str, Any], legs: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The JSON event of one outbox row (``id, at, client_id, callback_id, attempt_id, kind,
    status, detail``), with the legs of its attempt."""
    detail = dict(row["detail"] or {})
    data: dict[str, Any] = {"kind": row["kind"], "status": row["status"], **detail}
    for name in ("due_at", "retry_at"):   # times are ISO 8601 everywhere in the API
        if isinstance(data.get(name), (int, float)):
            data[name] = iso(data[name])
    if row["attempt_id"] is not None:
        data["legs"] = legs_at(legs, row["at"])
    return {"id": row["id"], "type": event_type(row["kind"], row["status"], detail.get("previous")),
            "created_at": iso(row["at"]), "client_id": row["client_id"], "callback_id": row["callback_id"],
            "attempt_id": row["attempt_id"], "data": data}


def encode(body: Mapping[str, Any]) -> str:
    """The exact text sent and signed: compact, UTF-8, no NaN."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def wanted(events: frozenset[str] | None, kind: str) -> bool:
    """Whether a webhook subscribed to ``events`` (None: all) gets an event of type ``kind``."""
    return events is None or ALL in events or kind in events
