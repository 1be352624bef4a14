"""EventStream + AriClient.use_websocket against a real websockets server on 127.0.0.1 that
answers RESTRequest frames from a FakeAsterisk (or ignores them, like Asterisk before 22.4)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest
from websockets.asyncio.server import ServerConnection

from ari_callback.ari.client import AriClient
from ari_callback.ari.errors import AriOutcomeUnknown
from ari_callback.ari.models import CALL_EVENT_TYPES
from ari_callback.ari.stream import STREAM_EVENT_TYPES
from ari_callback.ari.transport import AriRequest, AriResponse
from tests.fakes.ari import FakeTransport, decode_request
from tests.fakes.asterisk import FakeAsterisk
from tests.unit.test_ari_stream import FakeAsterisk as FakeServer
from tests.unit.test_ari_stream import Recorder, make_stream, running, varset

pytestmark = pytest.mark.timeout(15)


class RestServer:
    """A session that answers RESTRequests from ``asterisk`` (unless ``answers`` is False)
    and keeps every frame the client sent."""

    def __init__(self, asterisk: Callable[[AriRequest], AriResponse], *, answers: bool = True,
                 hold: Iterable[str] = ()) -> None:
        self.asterisk, self.answers, self.hold = asterisk, answers, set(hold)
        self.frames: list[dict[str, Any]] = []
        self.sockets: list[ServerConnection] = []

    async def __call__(self, ws: ServerConnection, n: int) -> None:
        self.sockets.append(ws)
        await ws.send(varset(n))
        async for raw in ws:
            frame = json.loads(raw)
            self.frames.append(frame)
            request = decode_request(frame)
            response = self.asterisk(request)
            if self.answers and request.path not in self.hold:
                await ws.send(json.dumps({
                    "type": "RESTResponse", "request_id": frame["request_id"],
                    "transaction_id": frame["transaction_id"], "status_code": response.status,
                    "reason_phrase": "", "uri": frame["uri"],
                    "message_body": response.text or None}))

    def uris(self) -> list[str]:
        return [f"{f['method']} {f['uri']}" for f in self.frames]


def no_http(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"HTTP used for {request.method} {request.url}")


def client(base_url: str, handler: Any = no_http, **options: Any) -> AriClient:
    return AriClient(base_url, "cb", "s3cret", transport=httpx.MockTransport(handler), **options)


def http_from(asterisk: FakeAsterisk, seen: list[str]) -> Callable[[httpx.Request], httpx.Response]:
    """An httpx handler answering from ``asterisk`` and noting each request in ``seen``."""
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path.removeprefix('/ari/')}")
        body = json.loads(request.content) if request.content else None
        response = asterisk(AriRequest(request.method, request.url.path.removeprefix("/ari"),
                                       dict(request.url.params), body))
        return httpx.Response(response.status, content=response.text.encode())
    return answer


async def test_given_asterisk_with_rest_over_websocket_then_filter_then_on_connect_then_requests_as_frames(
) -> None:
    asterisk = FakeAsterisk()
    server = RestServer(asterisk)
    http_seen: list[str] = []
    filter_http = FakeTransport(asterisk)
    order: list[str] = []

    async def on_connect() -> None:
        order.append(f"on_connect after {server.uris()} and {len(filter_http.requests)} filter")
        await ari.list_channels()   # reconciliation's reads: over HTTP (see the next test)

    async with FakeServer(server) as ast:
        stream = make_stream(ast.base_url, event_filter=CALL_EVENT_TYPES,
                             filter_transport=filter_http)
        ari = client(ast.base_url, http_from(asterisk, http_seen))
        ari.use_websocket(stream)
        handler = Recorder()
        async with running(stream, handler, on_connect):
            await handler.wait_for(1)
            bridge = await ari.create_bridge("cb-1", name="cb:1")
        await ari.close()
    assert bridge.id == "cb-1"
    assert order == ["on_connect after ['GET asterisk/ping'] and 1 filter"]
    assert server.uris() == ["GET asterisk/ping", "POST bridges"]
    assert http_seen == ["GET channels"]
    event_filter = filter_http.requests[0].json
    assert {t["type"] for t in event_filter["allowed"]} == \
        set(CALL_EVENT_TYPES) | set(STREAM_EVENT_TYPES)
    assert event_filter["disallowed"] == []
    assert stream.rest.sent == 1   # the create; the probe is not counted


async def test_given_requests_whose_answer_grows_with_calls_then_http_even_with_rest_over_websocket(
) -> None:
    # Asterisk writes a websocket frame on its thread's stack: a 650 KB GET /channels answer
    # killed 22.10.1. Reads and the event filter (answered with the app's channel ids) use HTTP.
    asterisk = FakeAsterisk()
    server = RestServer(asterisk)
    http_seen: list[str] = []
    async with FakeServer(server) as ast:
        stream = make_stream(ast.base_url)
        ari = client(ast.base_url, http_from(asterisk, http_seen))
        ari.use_websocket(stream)
        handler = Recorder()
        async with running(stream, handler):
            await handler.wait_for(1)
            await ari.originate("L/1", channel_id="cb-1-src0", app="cb")
            await ari.list_channels()
            await ari.get_channel("cb-1-src0")
            await ari.get_application("cb")
            await ari.request("PUT", "/applications/cb/eventFilter", json={})
            await ari.hangup("cb-1-src0")
        await ari.close()
    assert server.uris() == ["GET asterisk/ping", "POST channels", "DELETE channels/cb-1-src0"]
    assert http_seen == ["GET channels", "GET channels/cb-1-src0", "GET applications/cb",
                         "PUT applications/cb/eventFilter"]


async def test_given_asterisk_without_rest_over_websocket_then_everything_over_http() -> None:
    server = RestServer(FakeAsterisk(), answers=False)
    http_seen: list[str] = []
    asterisk = FakeAsterisk()

    def over_http(request: httpx.Request) -> httpx.Response:
        http_seen.append(f"{request.method} {request.url.path}")
        answer = asterisk(AriRequest(request.method, request.url.path.removeprefix("/ari"),
                                     dict(request.url.params)))
        return httpx.Response(answer.status, content=answer.text.encode())

    filter_http = FakeTransport(asterisk)
    async with FakeServer(server) as ast:
        stream = make_stream(ast.base_url, event_filter=["StasisStart"],
                             filter_transport=filter_http)
        ari = client(ast.base_url, over_http)
        ari.use_websocket(stream)
        handler = Recorder()
        async with running(stream, handler):
            await handler.wait_for(1)
            await ari.create_bridge("cb-1")
        await ari.close()
    assert server.uris() == ["GET asterisk/ping"]
    assert [r.path for r in filter_http.requests] == ["/applications/cb/eventFilter"]
    assert asterisk.event_filters["cb"]["allowed"][0] == {"type": "ApplicationReplaced"}
    assert http_seen == ["POST /ari/bridges"]


async def test_given_no_event_filter_then_no_filter_request() -> None:
    server = RestServer(FakeAsterisk())
    async with FakeServer(server) as ast:
        stream = make_stream(ast.base_url)
        handler = Recorder()
        async with running(stream, handler):
            await handler.wait_for(1)
    assert server.uris() == ["GET asterisk/ping"]


async def test_given_filter_refused_then_stream_goes_on() -> None:
    asterisk = FakeAsterisk()

    def refusing(request: AriRequest) -> AriResponse:
        return AriResponse(400, '{"message": "bad"}') if request.method == "PUT" else asterisk(request)

    server = RestServer(refusing)
    async with FakeServer(server) as ast:
        handler = Recorder()
        async with running(make_stream(ast.base_url, event_filter=["Dial"]), handler):
            await handler.wait_for(1)
    assert handler.events


async def test_given_websocket_drops_while_waiting_then_the_request_fails_as_outcome_unknown(
) -> None:
    asterisk = FakeAsterisk()
    server = RestServer(asterisk, hold={"/channels/cb-1-dst/dial"})
    http_seen: list[str] = []

    def over_http(request: httpx.Request) -> httpx.Response:
        http_seen.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, json=[])

    async with FakeServer(server) as ast:
        stream = make_stream(ast.base_url, backoff_initial=1.0)
        ari = client(ast.base_url, over_http)
        ari.use_websocket(stream)
        handler = Recorder()
        async with running(stream, handler):
            await handler.wait_for(1)
            dial = asyncio.create_task(ari.dial("cb-1-dst", timeout=0))
            listing = asyncio.create_task(ari.list_channels())
            while len(server.frames) < 2:
                await asyncio.sleep(0.01)
            server.sockets[0].transport.abort()
            with pytest.raises(AriOutcomeUnknown):
                await dial
            assert await listing == []
        await ari.close()
    assert http_seen == ["GET /ari/channels"]
