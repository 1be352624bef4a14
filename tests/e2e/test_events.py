"""The live event stream and the metrics, on a real callback through the real Asterisk.

The app is served by the production server class on a real socket (a stream cannot go through
httpx's ASGITransport, which waits for the whole response): the test reads ``/v1/events`` while
the callback rings, connects and ends, then scrapes ``/metrics``.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest_asyncio
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from ari_callback.service import _Server

from .conftest import API_KEY, OTHER_KEY
from .helpers import finished, place

FINAL = {"callback.completed", "callback.failed", "callback.cancelled"}


@asynccontextmanager
async def served(app) -> AsyncIterator[httpx.AsyncClient]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = _Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=60,
                                     headers={"X-API-Key": API_KEY}) as http:
            yield http
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@pytest_asyncio.fixture(loop_scope="session")
async def http(app) -> AsyncIterator[httpx.AsyncClient]:
    async with served(app) as client:
        yield client


async def until_final(response: httpx.Response) -> list[dict]:
    found, current = [], {}
    async for line in response.aiter_lines():
        if line.startswith(("id:", "event:", "data:")):
            name, _, value = line.partition(": ")
            current[name] = json.loads(value) if name == "data" else value
        elif line == "" and current:
            found.append(current)
            if current["event"] in FINAL:
                return found
            current = {}
    return found


async def test_given_a_callback_when_its_events_are_streamed_then_every_change_arrives_until_completed(http, api):
    call_id = await place(api, src=["1001"], dst="6002")
    async with http.stream("GET", "/v1/events", params={"after": 0, "callback_id": call_id}) as response:
        assert response.status_code == 200
        events = await asyncio.wait_for(until_final(response), 40)
    record = await finished(api, call_id)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "callback.queued" and "callback.dialling" in kinds and kinds[-1] == "callback.completed"
    assert any(k.startswith("attempt.") for k in kinds)
    assert all(e["data"]["callback_id"] == call_id for e in events)
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    final = events[-1]["data"]
    assert (final["status"], final["detail"]["status_detail"]) == ("completed", record["status_detail"])
    assert final["attempt_id"] == record["attempts"][-1]["id"]
    # Resuming after the first event gives the rest, and another client sees none of it.
    headers = {"Last-Event-ID": events[0]["id"]}
    async with http.stream("GET", "/v1/events", params={"callback_id": call_id}, headers=headers) as response:
        resumed = await asyncio.wait_for(until_final(response), 10)
    assert [e["id"] for e in resumed] == [e["id"] for e in events[1:]]
    other = await http.get("/v1/events", params={"callback_id": call_id}, headers={"X-API-Key": OTHER_KEY})
    assert other.status_code == 404


async def test_after_a_call_the_metrics_count_its_ari_requests_events_and_outcome(http, api):
    call_id = await place(api, src=["1001"], dst="6002")
    await finished(api, call_id)
    response = await http.get("/metrics")
    assert response.status_code == 200
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for family in text_string_to_metric_families(response.text) for s in family.samples}
    assert found[("aricb_asterisk_connected", ())] == 1
    assert found[("aricb_ari_websocket_connects_total", ())] >= 1
    assert sum(v for (name, _), v in found.items() if name == "aricb_ari_request_seconds_count") > 0
    assert found[("aricb_event_handling_seconds_count", (("part", "total"),))] > 0
    assert found[("aricb_attempts_finished_total", (("detail", "answered"), ("status", "completed")))] >= 1
    assert found[("aricb_dispatch_claims_total", (("kind", "click_to_call"),))] >= 1
    assert found[("aricb_dispatch_lateness_seconds_count", ())] >= 1
    assert (await http.get("/healthz", headers={})).json() == {"status": "alive"}
