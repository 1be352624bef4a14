"""``GET /v1/callbacks``: the call history as a query. A client's callbacks by time range,
status, number and extension, newest first, a page at a time; ``next`` is the cursor of the
following page (it stays right while new callbacks arrive). The CLI's ``history`` reads it, and
exports it as CSV."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from ..callbacks import ServiceError, store_errors
from ..store import CallbackView as StoredCallback
from ..store.history import HistoryQuery
from .auth import client_id
from .errors import responses
from .views import iso

router = APIRouter(prefix="/v1", tags=["callbacks"])
STATUSES = ("queued", "scheduled", "dialling", "completed", "failed", "cancelled")


class CallbackSummary(BaseModel):
    id: str
    api: str = Field(description="the API shape it came through: native, pbx, voice, fonolo, trigger, page ...")
    status: str
    status_detail: str
    ended_by: str
    created_at: str | None
    connected_at: str | None
    ended_at: str | None
    duration: float | None = Field(description="seconds connected")
    src: list[str] = Field(description="the origin numbers (a customer callback's: the customer)")
    dst: str | None = Field(description="the destination (a customer callback's: its option's queue)")
    option: str | None = None
    extension: str | None = None
    attempts: int


class CallbackPage(BaseModel):
    callbacks: list[CallbackSummary]
    next: str | None = Field(description="pass as ?cursor= for the next page; null on the last")


def summary(view: StoredCallback) -> CallbackSummary:
    request = view.request or {}
    customer = view.option_sid is not None
    duration = (view.ended_at - view.connected_at) if view.ended_at and view.connected_at else None
    return CallbackSummary(
        id=view.id, api=view.api, status=view.status, status_detail=view.status_detail, ended_by=view.ended_by,
        created_at=iso(view.created_at), connected_at=iso(view.connected_at), ended_at=iso(view.ended_at),
        duration=round(duration, 3) if duration is not None else None,
        src=[view.number] if customer and view.number else list(request.get("src") or []),
        dst=((view.plan or {}).get("dst_number") if customer else request.get("dst")),
        option=view.option_sid, extension=request.get("extension_id"), attempts=view.attempts)


def _cursor(view: StoredCallback) -> str:
    return base64.urlsafe_b64encode(f"{view.created_at!r}|{view.id}".encode()).decode().rstrip("=")


def _position(cursor: str | None) -> tuple[float, str] | None:
    if not cursor:
        return None
    try:
        at, _, callback_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
        return float(at), callback_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ServiceError(422, "invalid_cursor", "the cursor is not one this API gave", "cursor") from None


def _epoch(moment: datetime | None, name: str) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ServiceError(422, f"invalid_{name}", f"{name} needs an offset (e.g. Z or -05:00)", name)
    return moment.timestamp()


@router.get("/callbacks", response_model=CallbackPage, responses=responses(401, 403, 422, 503))
async def list_callbacks(
        request: Request,
        since: Annotated[datetime | None, Query(description="created at or after (ISO 8601 with offset)")] = None,
        until: Annotated[datetime | None, Query(description="created before")] = None,
        status: Annotated[list[str] | None, Query(description="one or more: " + ", ".join(STATUSES))] = None,
        number: Annotated[str | None, Query(max_length=64, description="a number that was rung")] = None,
        extension: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        client: str = Depends(client_id)) -> CallbackPage:
    """The client's callbacks, newest first. ``number`` matches a leg that was rung with it (so a
    click-to-call still queued is not found by number) or a customer callback's number."""
    statuses = tuple(s for value in status or () for s in value.split(",") if s)
    if unknown := [s for s in statuses if s not in STATUSES]:
        raise ServiceError(422, "invalid_status", f"{unknown[0]!r} is none of {', '.join(STATUSES)}", "status")
    query = HistoryQuery(since=_epoch(since, "since"), until=_epoch(until, "until"), statuses=statuses,
                         number=number, extension=extension, before=_position(cursor), limit=limit)
    with store_errors():
        found = await request.app.state.service.store.callback_history(client, query)
    page = [summary(view) for view in found]
    return CallbackPage(callbacks=page, next=_cursor(found[-1]) if len(found) == limit else None)
