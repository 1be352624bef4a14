"""EventStream + AriClient.use_websocket against a real websockets server on 127.0.0.1 that
answers RESTRequest frames from a FakeAsterisk (or ignores them, like Asterisk before 22.4)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Iterable

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


async def test_given_asterisk_with_rest_over_websocket_then_filter_then_on_connect_then_requests_as_frames(
) -> None:
    server = RestServer(FakeAsterisk())
    order: list[str] = []

    async def on_connect() -> None:
        order.append("on_connect after " + ", ".join(server.uris()))
        await ari.list_channels()   # reconciliation: already over the websocket

    async with FakeServer(server) as ast:
        stream = make_stream(ast.base_url, event_filter=CALL_EVENT_TYPES)
        ari = client(ast.base_url)
        ari.use_websocket(stream)
        handler = Recorder()
        async with running(stream, handler, on_connect):
            await handler.wait_for(1)
            bridge = await ari.create_bridge("cb-1", name="cb:1")
        await ari.close()
    assert bridge.id == "cb-1"
    assert order == ["on_connect after GET asterisk/ping, PUT applications/cb/eventFilter"]
    assert server.uris()[2:] == ["GET channels", "POST bridges"]
    event_filter = json.loads(server.frames[1]["message_body"])
    assert {t["type"] for t in event_filter["allowed"]} == \
        set(CALL_EVENT_TYPES) | set(STREAM_EVENT_TYPES)
    assert event_filter["disallowed"] == []
    assert stream.rest.sent == 3   # filter, list, create: the probe is not counted


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
                             filter_fallback=filter_http)
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


async def test_given_websocket_drops_while_waiting_then_unsafe_fails_and_read_is_resent_over_http(
) -> None:
    asterisk = FakeAsterisk()
    server = RestServer(asterisk, hold={"/channels/cb-1-dst/dial", "/channels"})
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
            while len(server.frames) < 3:
                await asyncio.sleep(0.01)
            server.sockets[0].transport.abort()
            with pytest.raises(AriOutcomeUnknown):
                await dial
            assert await listing == []
        await ari.close()
    assert http_seen == ["GET /ari/channels"]
