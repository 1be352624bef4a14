"""The e2e harness: a real Asterisk 22 in Docker, the real app in this process, and checks.

- ``asterisk``: the bundled image started through the docker SDK under its own name and
  ports (so it can run beside `make run`'s Asterisk). It never skips: no Docker or no
  image is a failure, because a skipped e2e test proves nothing.
- ``observer``: a second ARI connection with ``subscribeAll=true`` under its own app name;
  tests read every event Asterisk sent (the test phones report with UserEvents).
- ``service`` / ``api``: the app's runtime (store, ARI, engine) and an HTTP client on its API.
- after every test: no channel, no bridge, no unfinished call left (R1).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import yaml

from ari_callback.api.app import create_app
from ari_callback.ari.client import AriClient
from ari_callback.ari.stream import EventStream
from ari_callback.bundled import REPO, BundledAsterisk
from ari_callback.config import Settings
from ari_callback.service import runtime

HTTP_PORT = int(os.environ.get("ARI_CB_TEST_HTTP_PORT", "18088"))
SIP_PORT = int(os.environ.get("ARI_CB_TEST_SIP_PORT", "15060"))
CONTAINER = os.environ.get("ARI_CB_TEST_CONTAINER", "ari-callback-asterisk-test")
API_KEY = "test-key"
OTHER_KEY = "other-client-key"
BULK_KEY = "bulk-client-key"   # client "bulk": room for hundreds of calls
LEAK_WAIT = 15.0

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def asterisk() -> BundledAsterisk:
    bundled = BundledAsterisk(name=CONTAINER, http_port=HTTP_PORT, sip_port=SIP_PORT)
    bundled.up(timeout=120)
    yield bundled
    bundled.down()


class Observer:
    """Every event Asterisk sends to a subscribeAll app, with waiting helpers."""

    def __init__(self) -> None:
        self.events: list = []
        self._changed = asyncio.Condition()

    async def add(self, event) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def mark(self) -> int:
        return len(self.events)

    def since(self, mark: int, kind: str | None = None) -> list:
        return [e for e in self.events[mark:] if kind is None or e.type == kind]

    async def wait_for(self, predicate: Callable[[object], bool], timeout: float = 10.0, since: int = 0):
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for event in self.events[since:]:
                    if predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching event within {timeout} s")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    pass

    def phone_reports(self, mark: int = 0, action: str | None = None) -> list[dict]:
        found = []
        for e in self.events[mark:]:
            if e.type == "ChannelUserevent" and e.eventname == "TestPhone":
                body = dict(e.userevent)
                body["_timestamp"] = e.timestamp
                if action is None or body.get("action") == action:
                    found.append(body)
        return found


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def observer(asterisk: BundledAsterisk) -> AsyncIterator[Observer]:
    obs = Observer()
    stream = EventStream(asterisk.url, asterisk.username, asterisk.password, "cb-observer", subscribe_all=True)
    task = asyncio.create_task(stream.run(obs.add))
    await asyncio.wait_for(stream.connected.wait(), 30)
    yield obs
    await stream.stop()
    task.cancel()


def make_settings(asterisk: BundledAsterisk, data_dir: Path) -> Settings:
    """The demo configuration, pointed at the test Asterisk, with a second client."""
    data = yaml.safe_load((REPO / "docker" / "demo.yaml").read_text())
    data["ari"].update(url=asterisk.url, app="cb-test")
    data.pop("api_key", None)
    data["api_keys"] = [{"key": API_KEY, "client": "default"}, {"key": OTHER_KEY, "client": "other"},
                        {"key": BULK_KEY, "client": "bulk"}]
    data["clients"]["bulk"] = {"max_concurrent_calls": 1000}
    data["instance"] = {"max_calls": 1000}
    data["data_dir"] = str(data_dir)
    data["dialing"]["wait_for_pickup"] = 20
    data["clients"]["other"] = {"max_concurrent_calls": 2}
    data["dialing"]["playback_timeout"] = 2.0
    data["clients"]["default"]["sounds"].update({8: ["tone:ring"], 9: ["sound:no-such-file"]})
    return Settings(**data)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def service(asterisk: BundledAsterisk, observer: Observer, tmp_path_factory):
    settings = make_settings(asterisk, tmp_path_factory.mktemp("data"))
    async with runtime(settings) as svc:
        await asyncio.wait_for(svc.engine.connected.wait(), 30)
        yield svc


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def app(service):
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def running(_settings):
        yield service

    application = create_app(service.settings, running)
    application.state.service = service
    return application


@pytest_asyncio.fixture(loop_scope="session")
async def api(app) -> AsyncIterator[httpx.AsyncClient]:
    # A test before this one may have left the shared server reconnecting to Asterisk (a
    # synchronous test holds the event loop, and Asterisk drops a websocket nobody reads): a
    # test starts on a connected server, as a client would wait for /readyz.
    engine, deadline = app.state.service.engine, time.monotonic() + 30
    while not engine.ready():
        assert time.monotonic() < deadline, "the shared server did not reconnect to Asterisk in 30 s"
        await asyncio.sleep(0.05)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app",
                                 headers={"X-API-Key": API_KEY}) as client:
        yield client


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ari(asterisk: BundledAsterisk) -> AsyncIterator[AriClient]:
    async with AriClient(asterisk.url, asterisk.username, asterisk.password) as client:
        yield client


async def _leftovers(ari: AriClient, service) -> list[str]:
    problems = [f"channel {c.id} ({c.name}, {c.state})" for c in await ari.list_channels()]
    problems += [f"bridge {b.id} with {b.channels}" for b in await ari.list_bridges()]
    problems += [f"unfinished call {v.id} ({v.status})" for v in await service.store.list_unfinished()]
    problems += [f"call task {cid}" for cid in service.engine.runners]
    return problems


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def no_leaks(request, ari: AriClient, service):
    """R1: after every e2e test, Asterisk and the app are back to nothing."""
    yield
    deadline = time.monotonic() + LEAK_WAIT
    problems = await _leftovers(ari, service)
    while problems and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        problems = await _leftovers(ari, service)
    if problems:
        for channel in await ari.list_channels():   # leave a clean Asterisk for the next test
            try:
                await ari.hangup(channel.id)
            except Exception:
                pass
        for bridge in await ari.list_bridges():
            try:
                await ari.destroy_bridge(bridge.id)
            except Exception:
                pass
        pytest.fail(f"leak after {request.node.name}: " + "; ".join(problems))
