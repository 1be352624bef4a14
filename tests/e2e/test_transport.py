"""The ARI transport on the real Asterisk: REST over the websocket, the HTTP fallback, the event
filter, a busy channel, and R8 (a resent originate) with a response really lost.

Each test runs its own EventStream and AriClient under its own app name, with a tap on the
websocket (every frame out and in is counted; it can also swallow frames) and a counter on
HTTP, and drives the bare callback flow of benchmarks/bare_ari.py with the test phones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect as ws_connect

from ari_callback.ari.client import AriClient
from ari_callback.ari.errors import AriError
from ari_callback.ari.models import CALL_EVENT_TYPES, ChannelCreated
from ari_callback.ari.stream import STREAM_EVENT_TYPES, EventStream
from benchmarks.bare_ari import EventLog, callback_flow, stasis_start

FLOWS = 3


class Tap:
    """Wraps the stream's websocket: records frames both ways, can swallow some."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.received: Counter[str] = Counter()
        self.swallow_out: Callable[[dict[str, Any]], bool] = lambda frame: False
        self.swallow_in: Callable[[dict[str, Any]], bool] = lambda frame: False
        self.sockets: list[Any] = []

    async def connect(self, uri: str, **kwargs: Any) -> Any:
        socket = TappedSocket(await ws_connect(uri, **kwargs), self)
        self.sockets.append(socket)
        return socket

    def rest_requests(self) -> list[str]:
        return [f"{f['method']} {f['uri'].split('?')[0]}" for f in self.sent]


class TappedSocket:
    def __init__(self, ws: Any, tap: Tap) -> None:
        self._ws, self._tap = ws, tap

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)

    async def send(self, message: str) -> None:
        frame = json.loads(message)
        self._tap.sent.append(frame)
        if not self._tap.swallow_out(frame):
            await self._ws.send(message)

    def __aiter__(self) -> AsyncIterator[str]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[str]:
        async for raw in self._ws:
            frame = json.loads(raw)
            self._tap.received[frame.get("type", "?")] += 1
            if not self._tap.swallow_in(frame):
                yield raw


class CountingHttp(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path.removeprefix('/ari/')}")
        return await super().handle_async_request(request)


class Rig:
    """One app: a stream with a tap, a client wired to it, and the events it received."""

    def __init__(self, asterisk: Any, app: str, *, event_filter: Any = None,
                 websocket: bool = True, timeout: float = 10.0) -> None:
        self.app, self.tap, self.http, self.log = app, Tap(), CountingHttp(), EventLog()
        self.stream = EventStream(asterisk.url, asterisk.username, asterisk.password, app,
                                  connect=self.tap.connect, event_filter=event_filter)
        self.ari = AriClient(asterisk.url, asterisk.username, asterisk.password,
                             transport=self.http, timeout=timeout)
        if websocket:
            self.ari.use_websocket(self.stream)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Rig]:
        ready = asyncio.Event()

        async def on_connect() -> None:   # after the probe and the filter, as for the engine
            ready.set()

        task = asyncio.create_task(self.stream.run(self.log.add, on_connect))
        try:
            await asyncio.wait_for(ready.wait(), 15)
            yield self
        finally:
            await self.stream.stop()
            await asyncio.wait_for(task, 10)
            await self.ari.close()


async def flows(rig: Rig, count: int, tag: str) -> None:
    for n in range(count):
        await callback_flow(rig.ari, rig.log, rig.app, f"{tag}{n}")


async def test_given_asterisk_22_then_every_request_goes_over_the_websocket(asterisk) -> None:
    async with Rig(asterisk, "tp-ws").running() as rig:
        assert rig.stream.rest.available
        await flows(rig, FLOWS, "ws")
    requests = rig.tap.rest_requests()
    assert requests[0] == "GET asterisk/ping"
    per_flow = ["POST channels", "POST bridges", "POST bridges/tp-ws0/addChannel",
                "POST channels/create", "POST bridges/tp-ws0/addChannel",
                "POST channels/tp-ws0-dst/dial", "DELETE channels/tp-ws0-src0",
                "DELETE channels/tp-ws0-dst", "DELETE bridges/tp-ws0"]
    assert requests[1:1 + len(per_flow)] == per_flow
    assert len(requests) == 1 + FLOWS * len(per_flow)
    assert rig.stream.rest.sent == FLOWS * len(per_flow)
    assert rig.tap.received["RESTResponse"] == 1 + FLOWS * len(per_flow)
    assert rig.http.requests == []


async def test_given_asterisk_that_ignores_rest_frames_then_http_carries_everything(asterisk) -> None:
    rig = Rig(asterisk, "tp-old")
    # Like Asterisk before 22.4: RESTRequest frames are read and nothing comes back.
    rig.tap.swallow_out = lambda frame: frame.get("type") == "RESTRequest"
    async with rig.running():
        assert not rig.stream.rest.available
        await flows(rig, FLOWS, "old")
    assert rig.tap.rest_requests() == ["GET asterisk/ping"]
    assert len(rig.http.requests) == FLOWS * 9
    assert rig.stream.rest.sent == 0


async def test_given_websocket_lost_then_http_until_reconnected_then_websocket_again(asterisk) -> None:
    async with Rig(asterisk, "tp-drop").running() as rig:
        await flows(rig, 1, "before")
        rig.tap.sockets[-1]._ws.transport.abort()
        while rig.stream.connected.is_set():
            await asyncio.sleep(0.005)
        with pytest.raises(AriError) as caught:             # the websocket is down
            await rig.ari.hangup("tp-drop-none")
        assert caught.value.not_found
        assert rig.http.requests == ["DELETE channels/tp-drop-none"]
        await asyncio.wait_for(rig.stream.connected.wait(), 15)
        while not rig.stream.rest.available:
            await asyncio.sleep(0.01)
        await flows(rig, 1, "after")
    assert rig.http.requests == ["DELETE channels/tp-drop-none"]
    assert len(rig.tap.sockets) == 2
    assert rig.tap.rest_requests().count("GET asterisk/ping") == 2


async def events_per_flow(asterisk, app: str, event_filter: Any
                          ) -> tuple[float, Counter[str], set[str]]:
    async with Rig(asterisk, app, event_filter=event_filter).running() as rig:
        start = len(rig.log.events)
        await flows(rig, FLOWS, app.removeprefix("tp-"))
        await asyncio.sleep(0.5)   # late events of the last flow
        events = rig.log.events[start:]
    kinds = Counter(e.type for e in events)
    destroyed = {e.channel.id for e in events if e.type == "ChannelDestroyed"}
    return len(events) / FLOWS, kinds, destroyed


async def test_given_event_filter_then_only_the_engine_events_arrive_and_far_fewer(asterisk) -> None:
    unfiltered, all_kinds, _ = await events_per_flow(asterisk, "tp-all", None)
    filtered, kinds, destroyed = await events_per_flow(asterisk, "tp-filtered", CALL_EVENT_TYPES)
    print(f"\nevents per callback flow: {unfiltered:.1f} without the filter "
          f"({dict(all_kinds)}), {filtered:.1f} with it ({dict(kinds)})")
    assert set(kinds) <= set(CALL_EVENT_TYPES) | set(STREAM_EVENT_TYPES)
    assert "ChannelVarset" in all_kinds and "ChannelDialplan" in all_kinds
    assert filtered < unfiltered * 0.6
    # What the flow needs is all there (the flow itself waited for StasisStart and Dial).
    assert kinds["StasisStart"] == 2 * FLOWS
    assert {f"tp-filtered{n}-{leg}" for n in range(FLOWS) for leg in ("src0", "dst")} <= destroyed


async def test_given_channel_busy_sending_dtmf_then_other_requests_are_not_held_up(asterisk) -> None:
    async with Rig(asterisk, "tp-busy").running() as rig:
        mark = len(rig.log.events)
        await rig.ari.originate("Local/1001@test-phones", channel_id="tp-busy-src0",
                                app=rig.app, formats="ulaw")
        await rig.log.wait(stasis_start("tp-busy-src0"), mark)
        await rig.ari.send_dtmf("tp-busy-src0", "WW1")   # about 2.2 s on the channel's thread
        started = time.perf_counter()
        setvar = asyncio.create_task(rig.ari.set_variable("tp-busy-src0", "TP_X", "1"))
        await asyncio.sleep(0.05)
        await rig.ari.create_bridge("tp-busy-other")         # another call's request
        other = time.perf_counter() - started
        await setvar
        waited = time.perf_counter() - started
        await rig.ari.destroy_bridge("tp-busy-other")
        await rig.ari.hangup("tp-busy-src0")
        await asyncio.sleep(0.2)
    assert other < 0.5, f"a request waited {other:.2f} s behind the busy channel"
    assert "POST bridges" in rig.tap.rest_requests()         # it did go over the websocket
    assert waited > 1.5   # the variable did wait for the DTMF: over HTTP, alone
    assert rig.http.requests == ["POST channels/tp-busy-src0/variable"]


async def test_r8_given_originate_answer_lost_then_resent_and_exactly_one_channel(
        asterisk, observer) -> None:
    rig = Rig(asterisk, "tp-r8", timeout=1.0)
    lost: list[str] = []

    def lose_first_originate_answer(frame: dict[str, Any]) -> bool:
        if frame.get("type") == "RESTResponse" and frame.get("uri") == "channels" and not lost:
            lost.append(frame["request_id"])
            return True
        return False

    rig.tap.swallow_in = lose_first_originate_answer
    async with rig.running():
        mark = observer.mark()
        channel = await rig.ari.originate("Local/1001@test-phones", channel_id="tp-r8-src0",
                                          app=rig.app, formats="ulaw")
        on_asterisk = [c.id for c in await rig.ari.list_channels() if c.id == "tp-r8-src0"]
        await rig.ari.hangup("tp-r8-src0")
        await asyncio.sleep(0.3)
    created = [e for e in observer.since(mark, "ChannelCreated")
               if isinstance(e, ChannelCreated) and e.channel.id == "tp-r8-src0"]
    assert lost and channel.id == "tp-r8-src0"
    assert on_asterisk == ["tp-r8-src0"] and len(created) == 1
    assert rig.tap.rest_requests()[1:3] == ["POST channels", "POST channels"]
    assert rig.http.requests[0] == "GET channels/tp-r8-src0"


async def test_given_1400_channels_then_listing_them_does_not_crash_asterisk(asterisk) -> None:
    """Asterisk 22.10.1 builds a websocket frame on its thread's stack: a 650 KB RESTResponse
    (GET /channels with 1,400 channels) killed it with SIGSEGV. Reads go over HTTP."""
    async with Rig(asterisk, "tp-many").running() as rig:
        ids = [f"tp-many-{n}" for n in range(700)]
        for start in range(0, len(ids), 50):
            await asyncio.gather(*(rig.ari.create_channel(
                "Local/1001@test-phones", channel_id=i, app=rig.app, formats="ulaw")
                for i in ids[start:start + 50]))
        channels = await rig.ari.list_channels()
        application = await rig.ari.get_application(rig.app)
        for start in range(0, len(ids), 50):
            await asyncio.gather(*(rig.ari.hangup(i) for i in ids[start:start + 50]))
        await rig.ari.request("GET", "/asterisk/ping")   # still alive
    assert len(channels) >= 1400 and len(application["channel_ids"]) == 700
    assert rig.http.requests[:2] == ["GET channels", "GET applications/tp-many"]
    assert rig.tap.rest_requests().count("POST channels/create") == 700
