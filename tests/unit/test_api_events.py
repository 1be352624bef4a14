"""GET /v1/events: the outbox as server-sent events, through a real uvicorn server (httpx's
ASGITransport buffers whole responses, so a stream needs a socket), on a real SQLite store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn

from ari_callback.service import _Server

from .fonolo_app import API_KEY, OTHER_KEY
from .test_api_hardening import GOOD, hardened

KEY, OTHER = {"X-API-Key": API_KEY}, {"X-API-Key": OTHER_KEY}


@asynccontextmanager
async def serving(built, heartbeat: float = 15.0) -> AsyncIterator[tuple[httpx.AsyncClient, _Server]]:
    """The app on a real socket, with the production server class (its shutdown ends streams)."""
    built.app.state.http_settings.events.poll_interval = 0.05
    built.app.state.http_settings.events.heartbeat_seconds = heartbeat
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = _Server(uvicorn.Config(built.app, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    port = sock.getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            yield http, server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def built(tmp_path):
    async with hardened(tmp_path / "data") as found:
        yield found


async def read_events(response: httpx.Response, count: int, *, comments: list[str] | None = None) -> list[dict]:
    """The next ``count`` events of an open stream, each as {id, event, data}."""
    found, current = [], {}
    async for line in response.aiter_lines():
        if line.startswith(":") and comments is not None:
            comments.append(line)
        elif line.startswith(("id:", "event:", "data:")):
            name, _, value = line.partition(": ")
            current[name] = json.loads(value) if name == "data" else value
        elif line == "" and current:
            found.append(current)
            current = {}
            if len(found) == count:
                return found
    return found


async def create(http: httpx.AsyncClient, headers: dict) -> str:
    response = await http.post("/v1/callbacks", json=GOOD, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_given_two_clients_callbacks_when_one_replays_from_0_then_it_sees_only_its_own(built):
    async with serving(built) as (http, _):
        mine = [await create(http, KEY), await create(http, KEY)]
        await create(http, OTHER)
        async with http.stream("GET", "/v1/events", params={"after": 0}, headers=KEY) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = await read_events(response, 2)
    assert [e["data"]["callback_id"] for e in events] == mine
    assert [e["event"] for e in events] == ["callback.queued", "callback.queued"]
    assert int(events[0]["id"]) < int(events[1]["id"])
    first = events[0]["data"]
    assert (first["id"], first["type"], first["status"], first["attempt_id"]) == \
        (int(events[0]["id"]), "callback.queued", "queued", None)
    assert first["at"].endswith("Z") and "due_at" in first["detail"]


async def test_given_last_event_id_when_resuming_then_only_later_events_come_and_the_header_beats_after(built):
    async with serving(built) as (http, _):
        ids = [await create(http, KEY) for _ in range(3)]
        async with http.stream("GET", "/v1/events", params={"after": 0}, headers=KEY) as response:
            first = (await read_events(response, 1))[0]
        headers = {**KEY, "Last-Event-ID": first["id"]}
        async with http.stream("GET", "/v1/events", params={"after": 0}, headers=headers) as response:
            resumed = await read_events(response, 2)
    assert [e["data"]["callback_id"] for e in resumed] == ids[1:]


async def test_given_an_open_stream_when_a_callback_is_created_then_its_event_arrives_live(built):
    async with serving(built) as (http, _):
        await create(http, KEY)   # before the stream: not replayed without after / Last-Event-ID
        async with http.stream("GET", "/v1/events", headers=KEY) as response:
            reading = asyncio.create_task(read_events(response, 1))
            await asyncio.sleep(0.2)
            other, mine = await create(http, OTHER), await create(http, KEY)
            events = await asyncio.wait_for(reading, 5)
    assert [e["data"]["callback_id"] for e in events] == [mine] and other != mine


async def test_given_a_callback_filter_then_only_that_callbacks_events_and_another_clients_is_404(built):
    async with serving(built) as (http, _):
        wanted, _unwanted, theirs = await create(http, KEY), await create(http, KEY), await create(http, OTHER)
        await built.service.cancel(wanted, "acme")
        async with http.stream("GET", "/v1/events", params={"after": 0, "callback_id": wanted},
                               headers=KEY) as response:
            events = await read_events(response, 2)
        assert [(e["data"]["callback_id"], e["event"]) for e in events] == \
            [(wanted, "callback.queued"), (wanted, "callback.cancelled")]
        response = await http.get("/v1/events", params={"callback_id": theirs}, headers=KEY)
        assert (response.status_code, response.json()["error_id"]) == (404, "callback_not_found")


async def test_without_a_key_401_and_a_bad_last_event_id_400(built):
    async with serving(built) as (http, _):
        assert (await http.get("/v1/events")).status_code == 401
        response = await http.get("/v1/events", headers={**KEY, "Last-Event-ID": "abc"})
        assert (response.status_code, response.json()["error_id"]) == (400, "invalid_last_event_id")


async def test_given_no_events_then_heartbeat_comments_keep_the_stream_alive(built):
    comments: list[str] = []
    async with serving(built, heartbeat=0.1) as (http, _):
        async with http.stream("GET", "/v1/events", headers=KEY) as response:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(read_events(response, 1, comments=comments), 0.6)
    assert ": connected" in comments and comments.count(": keepalive") >= 2


async def test_given_an_open_stream_when_the_server_shuts_down_then_the_stream_ends_and_the_server_stops(built):
    async with serving(built) as (http, server), http.stream("GET", "/v1/events", headers=KEY) as response:
        reading = asyncio.create_task(read_events(response, 10))
        await asyncio.sleep(0.2)
        server.should_exit = True
        assert await asyncio.wait_for(reading, 5) == []   # the stream ended without an error


async def test_given_a_stream_that_falls_behind_then_it_ends_and_resuming_gives_the_rest(built, monkeypatch):
    monkeypatch.setattr("ari_callback.api.event_hub.QUEUE_LIMIT", 1)
    async with serving(built) as (http, _):
        async with http.stream("GET", "/v1/events", headers=KEY) as response:
            hub = built.app.state.event_hub
            await asyncio.sleep(0.1)
            hub.poll = 3600   # the next poll finds all three at once
            await asyncio.sleep(0.1)
            ids = [await create(http, KEY) for _ in range(3)]
            await hub.poll_once()
            first = await asyncio.wait_for(read_events(response, 3), 5)
        assert [e["data"]["callback_id"] for e in first] == ids[:1]   # then the stream ended
        monkeypatch.setattr("ari_callback.api.event_hub.QUEUE_LIMIT", 1000)
        headers = {**KEY, "Last-Event-ID": first[0]["id"]}
        async with http.stream("GET", "/v1/events", headers=headers) as response:
            rest = await read_events(response, 2)
    assert [e["data"]["callback_id"] for e in rest] == ids[1:]


async def test_given_max_seconds_then_the_stream_ends_by_itself_after_its_backlog(built):
    async with serving(built) as (http, _):
        mine = await create(http, KEY)
        response = await asyncio.wait_for(
            http.get("/v1/events", params={"after": 0, "max_seconds": 0}, headers=KEY), 5)
        assert response.status_code == 200 and f'"callback_id":"{mine}"' in response.text
        began = asyncio.get_running_loop().time()
        response = await asyncio.wait_for(http.get("/v1/events", params={"max_seconds": 0.3}, headers=KEY), 5)
        assert 0.25 < asyncio.get_running_loop().time() - began < 2 and "keepalive" not in response.text
