"""EventStream against real websockets servers on 127.0.0.1 (ephemeral ports), no Asterisk."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request

from ari_callback.ari.errors import ApplicationReplacedError, AriAuthError
from ari_callback.ari.models import ChannelVarset, Event, RestResponse
from ari_callback.ari.stream import EventStream, events_url

pytestmark = pytest.mark.timeout(15)

Session = Callable[[ServerConnection, int], Awaitable[None]]
AUTH = "Basic " + base64.b64encode(b"cb:s3cret").decode()


def varset(n: int) -> str:
    return json.dumps({"type": "ChannelVarset", "application": "cb", "variable": "N",
                       "value": str(n)})


def numbers(events: list[Event]) -> list[int]:
    return [int(e.value) for e in events if isinstance(e, ChannelVarset)]


async def hold_open(ws: ServerConnection) -> None:
    await ws.wait_closed()


class FakeAsterisk:
    """A websockets server that plays ``session`` on each accepted connection (numbered from 1)
    and can refuse the n-th handshake with an HTTP status, as Asterisk does."""

    def __init__(self, session: Session, reject: Callable[[int], int | None] | None = None):
        self.session = session
        self.reject = reject
        self.handshakes = 0
        self.connections = 0
        self.requests: list[Request] = []

    async def __aenter__(self) -> FakeAsterisk:
        self.server = await serve(self._handle, "127.0.0.1", 0, process_request=self._process)
        port = self.server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    def _process(self, connection: ServerConnection, request: Request) -> Any:
        self.handshakes += 1
        self.requests.append(request)
        status = self.reject(self.handshakes) if self.reject else None
        return connection.respond(status, "refused\n") if status else None

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        await self.session(ws, self.connections)


class Recorder:
    """A handler that keeps every event and lets a test wait for a count."""

    def __init__(self, delay: Callable[[Event], float] = lambda e: 0.0) -> None:
        self.events: list[Event] = []
        self.log: list[str] = []
        self.active = 0
        self.max_active = 0
        self._delay = delay
        self._changed = asyncio.Event()

    async def __call__(self, event: Event) -> None:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        await asyncio.sleep(self._delay(event))
        self.active -= 1
        self.events.append(event)
        self.log.append(f"event:{event.value}" if isinstance(event, ChannelVarset) else event.type)
        self._changed.set()

    async def wait_for(self, count: int) -> None:
        async def reached() -> None:
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()
        await asyncio.wait_for(reached(), 5)


def make_stream(base_url: str, **overrides: Any) -> EventStream:
    # These servers ignore RESTRequest frames, like an Asterisk before 22.4: a short probe.
    options: dict[str, Any] = dict(backoff_initial=0.01, backoff_max=0.05,
                                   ping_interval=1.0, ping_timeout=1.0, rest_probe_timeout=0.02)
    options.update(overrides)
    return EventStream(base_url, "cb", "s3cret", "cb", **options)


@contextlib.asynccontextmanager
async def running(stream: EventStream, handler: Recorder,
                  on_connect: Callable[[], Awaitable[None]] | None = None
                  ) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(stream.run(handler, on_connect))
    try:
        yield task
    finally:
        await stream.stop()
        await asyncio.wait_for(task, 5)


async def test_given_burst_and_slow_handler_then_all_events_in_order_one_at_a_time() -> None:
    async def session(ws: ServerConnection, n: int) -> None:
        for i in range(40):
            await ws.send(varset(i))
        await hold_open(ws)

    handler = Recorder(delay=lambda e: 0.02 if numbers([e]) and numbers([e])[0] % 7 == 0 else 0)
    async with FakeAsterisk(session) as ast:
        stream = make_stream(ast.base_url)
        async with running(stream, handler):
            await handler.wait_for(40)
    assert numbers(handler.events) == list(range(40))
    assert handler.max_active == 1
    request = ast.requests[0]
    assert request.path == "/ari/events?app=cb&subscribeAll=false"
    assert request.headers["Authorization"] == AUTH


@pytest.mark.parametrize("drop", ["close", "abort"])
async def test_given_server_drops_connection_then_reconnects_and_on_connect_runs_again(
    drop: str,
) -> None:
    async def session(ws: ServerConnection, n: int) -> None:
        await ws.send(varset(n))
        if n == 1:
            await asyncio.sleep(0.05)
            if drop == "close":
                await ws.close()
            else:
                ws.transport.abort()
            return
        await hold_open(ws)

    handler = Recorder()
    connected_during_on_connect: list[bool] = []
    stream: EventStream

    async def on_connect() -> None:
        connected_during_on_connect.append(stream.connected.is_set())
        handler.log.append("connect")

    async with FakeAsterisk(session) as ast:
        stream = make_stream(ast.base_url)
        async with running(stream, handler, on_connect):
            await handler.wait_for(2)
            assert stream.connected.is_set()
    assert handler.log == ["connect", "event:1", "connect", "event:2"]
    assert connected_during_on_connect == [True, True]
    assert ast.connections == 2
    assert not stream.connected.is_set()


async def test_given_on_connect_is_slow_then_events_wait_for_it() -> None:
    async def session(ws: ServerConnection, n: int) -> None:
        await ws.send(varset(7))
        await hold_open(ws)

    handler = Recorder()

    async def on_connect() -> None:
        await asyncio.sleep(0.1)  # the engine reconciles here; events must not overtake it
        handler.log.append("reconciled")

    async with FakeAsterisk(session) as ast:
        async with running(make_stream(ast.base_url), handler, on_connect):
            await handler.wait_for(1)
    assert handler.log == ["reconciled", "event:7"]


async def test_given_handshake_404_while_res_ari_loads_then_retried_until_accepted() -> None:
    async def session(ws: ServerConnection, n: int) -> None:
        await ws.send(varset(1))
        await hold_open(ws)

    handler = Recorder()
    connects = 0

    async def on_connect() -> None:
        nonlocal connects
        connects += 1

    async with FakeAsterisk(session, reject=lambda n: 404 if n <= 3 else None) as ast:
        async with running(make_stream(ast.base_url), handler, on_connect):
            await handler.wait_for(1)
    assert ast.handshakes == 4
    assert connects == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_given_bad_credentials_then_auth_error_at_once_without_retry(status: int) -> None:
    async with FakeAsterisk(hold_open_session, reject=lambda n: status) as ast:
        stream = make_stream(ast.base_url, backoff_initial=1.0)
        started = time.monotonic()
        with pytest.raises(AriAuthError) as caught:
            await asyncio.wait_for(stream.run(Recorder()), 5)
    assert caught.value.status == status
    assert ast.handshakes == 1
    assert time.monotonic() - started < 1.0


async def hold_open_session(ws: ServerConnection, n: int) -> None:
    await hold_open(ws)


async def test_given_application_replaced_then_fatal_error_and_no_reconnect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def session(ws: ServerConnection, n: int) -> None:
        await ws.send(varset(1))
        await ws.send(json.dumps({"type": "ApplicationReplaced", "application": "cb"}))
        await ws.send(varset(2))
        await hold_open(ws)

    handler = Recorder()
    caplog.set_level(logging.INFO, logger="ari_callback.ari")
    async with FakeAsterisk(session) as ast:
        stream = make_stream(ast.base_url)
        with pytest.raises(ApplicationReplacedError) as caught:
            await asyncio.wait_for(stream.run(handler), 5)
        await asyncio.sleep(0.1)  # a reconnect attempt would show up as a second handshake
    assert caught.value.app == "cb"
    assert numbers(handler.events) == [1]
    assert ast.handshakes == 1
    assert not stream.connected.is_set()
    assert any(r.levelno == logging.ERROR and r.name == "ari_callback.ari"
               for r in caplog.records)


async def test_given_malformed_frames_then_logged_skipped_and_stream_stays_alive(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad: list[str | bytes] = ["not json", '{"type": 5}', "[]", b"\xff\xfe",
                              '{"type": "StasisStart", "channel": "nope"}']

    async def session(ws: ServerConnection, n: int) -> None:
        await ws.send(varset(1))
        for frame in bad:
            await ws.send(frame)
        await ws.send(varset(2))
        await hold_open(ws)

    handler = Recorder()
    caplog.set_level(logging.WARNING, logger="ari_callback.ari")
    async with FakeAsterisk(session) as ast:
        async with running(make_stream(ast.base_url), handler):
            await handler.wait_for(2)
    assert numbers(handler.events) == [1, 2]
    assert ast.connections == 1
    skipped = [r for r in caplog.records if "undecodable" in r.getMessage()]
    assert len(skipped) == len(bad)


async def test_given_handler_raises_then_run_raises_it() -> None:
    async def session(ws: ServerConnection, n: int) -> None:
        await ws.send(varset(1))
        await hold_open(ws)

    async def buggy(event: Event) -> None:
        raise RuntimeError("bug in the engine")

    async with FakeAsterisk(session) as ast:
        stream = make_stream(ast.base_url)
        with pytest.raises(RuntimeError, match="bug in the engine"):
            await asyncio.wait_for(stream.run(buggy), 5)
    assert not stream.connected.is_set()


async def test_given_connected_and_idle_when_stop_then_run_returns_normally() -> None:
    async with FakeAsterisk(hold_open_session) as ast:
        stream = make_stream(ast.base_url)
        task = asyncio.create_task(stream.run(Recorder()))
        await asyncio.wait_for(stream.connected.wait(), 5)
        await stream.stop()
        await asyncio.wait_for(task, 5)  # returns: no exception
    assert not stream.connected.is_set()


async def test_given_connection_refused_then_retried_and_stop_ends_the_backoff() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attempts = 0

    async def counting_connect(uri: str, **kwargs: Any) -> Any:
        nonlocal attempts
        attempts += 1
        return await ws_connect(uri, **kwargs)

    stream = make_stream(f"http://127.0.0.1:{port}", connect=counting_connect)
    task = asyncio.create_task(stream.run(Recorder()))
    await asyncio.sleep(0.2)
    assert not task.done() and not stream.connected.is_set()
    await stream.stop()
    await asyncio.wait_for(task, 1)  # returns: no exception
    assert attempts >= 2


async def test_given_peer_stops_answering_pings_then_connection_is_replaced() -> None:
    # Completes the websocket handshake, then never reads or answers again: a half-open peer.
    writers: list[asyncio.StreamWriter] = []
    guid = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        match = re.search(rb"(?i)sec-websocket-key: *(\S+)", head)
        assert match is not None
        accept = base64.b64encode(hashlib.sha1(match.group(1) + guid).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        writers.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connects = 0

    async def on_connect() -> None:
        nonlocal connects
        connects += 1

    stream = make_stream(f"http://127.0.0.1:{port}", ping_interval=0.05, ping_timeout=0.1)
    try:
        async with running(stream, Recorder(), on_connect):
            for _ in range(100):
                if connects >= 2:
                    break
                await asyncio.sleep(0.05)
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()
    assert connects >= 2


async def test_given_rest_response_hook_then_responses_bypass_the_event_handler() -> None:
    response = json.dumps({"type": "RESTResponse", "transaction_id": "t", "request_id": "r1",
                           "status_code": 204, "reason_phrase": "No Content", "uri": "x"})

    async def session(ws: ServerConnection, n: int) -> None:
        await ws.send(response)
        await ws.send(varset(1))
        await hold_open(ws)

    routed: list[RestResponse] = []
    handler = Recorder()
    async with FakeAsterisk(session) as ast:
        stream = make_stream(ast.base_url, on_rest_response=routed.append)
        async with running(stream, handler):
            await handler.wait_for(1)
    assert [r.request_id for r in routed] == ["r1"]
    assert numbers(handler.events) == [1]


async def test_given_injected_connect_then_keepalive_and_auth_header_passed_not_url() -> None:
    seen: dict[str, Any] = {}

    async def spy_connect(uri: str, **kwargs: Any) -> Any:
        seen.update(kwargs, uri=uri)
        return await ws_connect(uri, **kwargs)

    async with FakeAsterisk(hold_open_session) as ast:
        stream = make_stream(ast.base_url, connect=spy_connect, ping_interval=3.0,
                             ping_timeout=4.0, subscribe_all=True)
        async with running(stream, Recorder()):
            await asyncio.wait_for(stream.connected.wait(), 5)
    assert seen["uri"] == ast.base_url.replace("http", "ws") + "/ari/events?app=cb&subscribeAll=true"
    assert "s3cret" not in seen["uri"]
    assert seen["additional_headers"] == {"Authorization": AUTH}
    assert (seen["ping_interval"], seen["ping_timeout"]) == (3.0, 4.0)


def test_given_base_urls_then_event_urls() -> None:
    assert events_url("https://pbx:8089/", "my app", False) == \
        "wss://pbx:8089/ari/events?app=my+app&subscribeAll=false"
    assert events_url("http://10.0.0.1:8088/asterisk", "cb", True) == \
        "ws://10.0.0.1:8088/asterisk/ari/events?app=cb&subscribeAll=true"
