"""The dispatcher on a real SQLite store, with a stand-in for the engine (this tests what the
dispatcher claims and hands over, not the calls)."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import pytest

from ari_callback.domain.plan import ClientPolicy, DialingPolicy, Route, Trunk, make_plan
from ari_callback.domain.request import CallbackRequest
from ari_callback.domain.snapshot import plan_to_dict
from ari_callback.engine.dispatcher import Dispatcher, DispatchSettings
from ari_callback.store import CallbackStore, NewCallback

from .store_helpers import ME, OTHER, PBX

DIALING = DialingPolicy(trunks={"p": Trunk("p", "Local/{number}@test-phones")},
                        routes=(Route(re.compile(r"\d+"), "p"),))


class Engine:
    """Records what the dispatcher hands it; calls 'run' until the test ends them."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.by_callback: dict[str, object] = {}
        self.started: list[tuple[str, str]] = []   # (callback id, attempt id)
        self.adopted: list[str] = []
        self.abandoned: list[str] = []
        self.cancelled: list[str] = []
        self.retries: dict[str, object] = {}
        self.link_up = True

    def ready(self) -> bool:
        return self.connected.is_set() and self.link_up

    @property
    def active_calls(self) -> int:
        return len(self.by_callback)

    def start(self, machine, lease, retry=None) -> None:
        self.by_callback[lease.callback_id] = machine
        self.started.append((lease.callback_id, machine.plan.call_id))
        self.retries[lease.callback_id] = retry

    async def adopt(self, machine, lease, retry=None) -> None:
        self.by_callback[lease.callback_id] = machine
        self.adopted.append(lease.callback_id)

    def cancel(self, callback_id: str, reason: str = "cancelled") -> bool:
        self.cancelled.append(callback_id)
        return callback_id in self.by_callback

    def abandon(self, callback_ids) -> None:
        for callback_id in callback_ids:
            self.abandoned.append(callback_id)
            self.by_callback.pop(callback_id, None)

    async def reconcile(self) -> None:
        pass

    async def sweep(self, finished) -> None:
        pass

    async def clear(self, channel_ids, bridge_id) -> None:
        pass


@pytest.fixture
async def store(tmp_path):
    opened = await CallbackStore.open(f"sqlite+aiosqlite:///{tmp_path}/d.db")
    yield opened
    await opened.close()


async def _create(store: CallbackStore, now: float, due_in: float = 0.0) -> str:
    callback_id = str(uuid.uuid4())
    plan = make_plan(callback_id, CallbackRequest(src=["1001"], dst="1002"), ClientPolicy("acme"), DIALING)
    await store.create(NewCallback(id=callback_id, client_id="acme", api="native", request={}, created_at=now,
                                   plan=plan_to_dict(plan), due_at=now + due_in))
    return callback_id


async def _until(predicate, timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within the time")


@pytest.fixture
async def running(store):
    made = []

    async def make(instance: str = ME, **options) -> tuple[Dispatcher, Engine]:
        engine = Engine()
        settings = DispatchSettings(instance=instance, asterisk=PBX, lease_seconds=3.0, poll_interval=0.1,
                                    cancel_poll_interval=0.05, **options)
        dispatcher = Dispatcher(store, engine, settings)
        dispatcher.start()
        made.append(dispatcher)
        await dispatcher.on_connect()
        return dispatcher, engine
    yield make
    for dispatcher in made:
        await dispatcher.stop()


async def test_given_a_stored_callback_when_poked_then_it_is_started_as_an_attempt_of_its_own(store, running):
    dispatcher, engine = await running()
    callback_id = await _create(store, time.time())
    dispatcher.poke()
    await _until(lambda: engine.started)
    (started, attempt_id), = engine.started
    view = await store.get(started)
    assert (started, view.status, view.owner, view.latest.id) == (callback_id, "dialling", ME, attempt_id)
    assert attempt_id != callback_id   # channel ids carry the attempt's id


async def test_given_a_callback_due_later_then_it_starts_when_due_not_before(store, running):
    dispatcher, engine = await running()
    await _create(store, time.time(), due_in=0.6)
    await asyncio.sleep(0.3)
    assert engine.started == []
    await _until(lambda: engine.started, timeout=2.0)


async def test_given_max_calls_then_no_more_are_claimed_until_one_ends(store, running):
    dispatcher, engine = await running(max_calls=2)
    for _ in range(5):
        await _create(store, time.time())
    dispatcher.poke()
    await _until(lambda: len(engine.started) == 2)
    await asyncio.sleep(0.3)
    assert len(engine.started) == 2
    engine.by_callback.pop(engine.started[0][0])   # one call ended
    await _until(lambda: len(engine.started) == 3)


async def test_given_asterisk_not_connected_then_nothing_is_claimed(store, running):
    dispatcher, engine = await running()
    engine.link_up = False
    callback_id = await _create(store, time.time())
    dispatcher.poke()
    await asyncio.sleep(0.4)
    assert engine.started == [] and (await store.get(callback_id)).status == "queued"
    engine.link_up = True
    await _until(lambda: engine.started)


async def test_given_a_cancel_marked_elsewhere_then_the_owner_cancels_its_call(store, running):
    dispatcher, engine = await running()
    callback_id = await _create(store, time.time())
    dispatcher.poke()
    await _until(lambda: engine.started)
    await store.request_cancel(callback_id, "acme", time.time())
    await _until(lambda: callback_id in engine.cancelled, timeout=1.0)


async def test_given_another_instance_took_the_callback_then_the_old_owner_lets_go(store, running):
    dispatcher, engine = await running()
    callback_id = await _create(store, time.time())
    dispatcher.poke()
    await _until(lambda: engine.started)
    later = time.time() + 60   # as if this instance had stopped renewing a minute ago
    taken = await store.claim_orphans(OTHER, PBX, later, 3.0, 10)
    assert [c.callback_id for c in taken] == [callback_id]
    await _until(lambda: callback_id in engine.abandoned, timeout=3.0)


async def test_given_a_held_callback_with_no_call_running_then_it_is_recovered(store, running):
    dispatcher, engine = await running()
    callback_id = await _create(store, time.time())
    dispatcher.poke()
    await _until(lambda: engine.started)
    engine.by_callback.clear()   # its task died before its outcome was saved
    await _until(lambda: len(engine.started) == 2 or engine.adopted, timeout=3.0)
    assert (await store.get(callback_id)).status == "dialling"
