"""``GET /v1/events``: the client's callbacks' status changes, live, as server-sent events.

Each outbox row of the client is one event: ``id:`` the outbox id, ``event:`` ``callback.<status>``
or ``attempt.<state>``, ``data:`` one JSON object. A client resumes with ``Last-Event-ID`` (what
browsers' EventSource send when they reconnect) or ``?after=``; without either, the stream
starts with what happens from now on. Comment lines keep idle connections open through proxies.
The stream ends when the server shuts down (EventSource then reconnects elsewhere), or after
``?max_seconds=`` for clients that cannot hold a request open for ever (serverless proxies,
test tools walking every route).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from ..callbacks import ServiceError, store_errors
from ..store import outbox_reads as reads
from ..store.outbox_reads import OutboxRow
from .auth import client_id
from .errors import responses
from .event_hub import EventHub, Subscription
from .views import iso

router = APIRouter(prefix="/v1", tags=["events"])
RETRY_MS = 2000          # how long an EventSource waits before reconnecting
BACKLOG_PAGE = 500
LARGEST_ID = 2**63 - 1   # the outbox id is a BIGINT
REMEMBERED_IDS = 4096    # ids sent lately: a late row already read from the backlog is not sent twice

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "`text/event-stream`: `id: <outbox id>`, `event: callback.<status>` or "
                         "`attempt.<state>`, `data: {...}`; comment lines as heartbeats",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}}}


def hub_of(request: Request) -> EventHub:
    """The process's hub, made on first use (it reads the store the app's lifespan opened)."""
    state = request.app.state
    if getattr(state, "event_hub", None) is None:
        settings = state.http_settings.events
        state.event_hub = EventHub(lambda: state.service.store.engine, poll=settings.poll_interval)
    return state.event_hub


async def stop_streams(app) -> None:
    """The server is shutting down: end the open streams, so the graceful stop need not wait for them."""
    hub = getattr(app.state, "event_hub", None)
    app.state.event_hub = None   # a server started again on this app gets a fresh hub
    if hub is not None:
        await hub.stop()


def event_text(row: OutboxRow) -> str:
    kind = f"{row.kind}.{row.status}"
    data = {"id": row.id, "type": kind, "callback_id": row.callback_id, "attempt_id": row.attempt_id,
            "status": row.status, "at": iso(row.at), "detail": row.detail}
    return f"id: {row.id}\nevent: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _position(last_event_id: str | None, after: int | None) -> int | None:
    """Where to resume: the header (an EventSource reconnecting) before ``?after=``."""
    if last_event_id is None or not last_event_id.strip():
        return after
    if not last_event_id.strip().isdigit() or int(last_event_id) > LARGEST_ID:
        raise ServiceError(400, "invalid_last_event_id", "Last-Event-ID must be an event id from this stream")
    return int(last_event_id)


@router.get("/events", response_class=StreamingResponse, responses={**STREAM_DOC, **responses(400, 401, 404, 503)})
async def events(request: Request, client: str = Depends(client_id),
                 after: int | None = Query(None, ge=0, le=LARGEST_ID, description="resume after this event id"),
                 callback_id: str | None = Query(None, max_length=64, description="only this callback's events"),
                 last_event_id: str | None = Header(None, max_length=32, description="resume after this event id"),
                 max_seconds: float | None = Query(None, ge=0, le=86400, description=(
                     "end the stream after this long (0: once the backlog is sent); default: open until "
                     "the client or the server ends it")),
                 ) -> StreamingResponse:
    """Server-sent events of this client's callbacks' status changes (see docs/operations.md).
    Resume with `Last-Event-ID` or `?after=`; ids only grow, and an event may come twice after a
    resume, never not at all: deduplicate on `id`."""
    start = _position(last_event_id, after)
    if callback_id is not None:
        await request.app.state.service.get(callback_id, client)   # 404 for another client's callback
    hub = hub_of(request)
    with store_errors():
        sub = await hub.subscribe(client, callback_id)
    heartbeat = request.app.state.http_settings.events.heartbeat_seconds
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    stream = _stream(hub, sub, start, heartbeat, max_seconds)
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


async def _stream(hub: EventHub, sub: Subscription, start: int | None, heartbeat: float,
                  max_seconds: float | None) -> AsyncIterator[str]:
    sent: deque[int] = deque(maxlen=REMEMBERED_IDS)
    ends = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        if start is not None and start < sub.start:
            async for row in _backlog(hub, sub, start):
                sent.append(row.id)
                yield event_text(row)
        floor = start or 0
        while not hub.stopping.is_set():
            left = heartbeat if ends is None else min(heartbeat, ends - time.monotonic())
            if left <= 0:
                return
            if not await _woken(sub, left) and (ends is None or time.monotonic() < ends):
                yield ": keepalive\n\n"
            while sub.rows:
                row = sub.rows.popleft()
                if row.id > floor and row.id not in sent:
                    sent.append(row.id)
                    yield event_text(row)
            if sub.overflowed:   # rows were dropped: the client resumes from the last id it got
                return
    finally:
        hub.unsubscribe(sub)


async def _woken(sub: Subscription, heartbeat: float) -> bool:
    """Wait for rows (or the end); False when ``heartbeat`` seconds passed without."""
    try:
        await asyncio.wait_for(sub.wake.wait(), heartbeat)
    except TimeoutError:
        return False
    finally:
        sub.wake.clear()
    return True


async def _backlog(hub: EventHub, sub: Subscription, after: int) -> AsyncIterator[OutboxRow]:
    """The client's rows stored before the stream began, read a page at a time."""
    while True:
        async with hub.backlog_readers:
            page = await reads.client_rows(hub.engine, sub.client_id, after, sub.start,
                                           callback_id=sub.callback_id, limit=BACKLOG_PAGE)
        for row in page:
            yield row
        if len(page) < BACKLOG_PAGE or hub.stopping.is_set():
            return
        after = page[-1].id
