"""The deliverer against a real HTTP receiver on 127.0.0.1 and a real store (SQLite): events
fanned out from the outbox, POSTed signed, retried with backoff, given up, sent again after a
restart. Callbacks are only stored here (no Asterisk): their outbox rows are what is sent."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from ari_callback.store import CallbackStore
from ari_callback.webhooks.backoff import RetryPolicy
from ari_callback.webhooks.deliverer import Deliverer, DeliverySettings, Webhook
from ari_callback.webhooks.signing import verify
from tests.webhook_receiver import Receiver, Running

from .store_helpers import new

SECRET = "s3cret-0123456789"
FAST = DeliverySettings(timeout=0.5, poll_interval=0.05,
                        retry=RetryPolicy(first_delay=0.2, max_delay=0.4, max_attempts=3, jitter=0.0))


@pytest.fixture
async def store(tmp_path):
    opened = await CallbackStore.open(f"sqlite+aiosqlite:///{tmp_path}/cb.db")
    yield opened
    await opened.close()


@contextlib.asynccontextmanager
async def delivering(store, hooks: dict, settings: DeliverySettings = FAST):
    deliverer = Deliverer(store, hooks, settings)
    await store.fan_out("webhooks", time.time(), lambda found: [])   # start at the outbox's end
    deliverer.start()
    try:
        yield deliverer
    finally:
        await deliverer.stop()


def _hook(receiver: Receiver, hook_id: str = "crm", events=None) -> Webhook:
    return Webhook(hook_id, receiver.url, SECRET, events)


async def _log_settles(store, callback_id: str, predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = await store.deliveries_of(callback_id, "acme")
        if log and predicate(log):
            return log
        await asyncio.sleep(0.05)
    raise AssertionError(f"delivery log of {callback_id}: {log}")


async def test_given_a_status_change_then_the_receiver_gets_it_signed_with_its_event_id(store):
    async with Running(Receiver()) as receiver, delivering(store, {"acme": [_hook(receiver)]}):
        await new(store, "c1")
        (got,) = await receiver.wait_for(lambda r: len(r) == 1)
    assert verify(SECRET, got.headers["x-callback-signature"], got.body, now=time.time())
    event = got.event
    assert (event["type"], event["callback_id"], event["client_id"]) == ("callback.queued", "c1", "acme")
    assert got.headers["x-callback-event-id"] == str(event["id"])
    assert got.headers["x-callback-event-type"] == "callback.queued"
    assert got.headers["content-type"] == "application/json" and got.path == "/hook"


async def test_given_a_receiver_failing_first_then_retried_until_it_answers_and_logged(store):
    async with Running(Receiver(answers=[500, 503])) as receiver, \
            delivering(store, {"acme": [_hook(receiver)]}) as deliverer:
        await new(store, "c1")
        got = await receiver.wait_for(lambda r: len(r) == 3)
        (delivery,) = await _log_settles(store, "c1", lambda log: log[0].status == "delivered")
    assert [r.status for r in got] == [500, 503, 200]
    assert deliverer.stats.tries == {"delivered": 1, "failed": 2} and deliverer.stats.latency.count == 3
    assert len({r.event["id"] for r in got}) == 1   # one event, tried three times
    assert got[1].at - got[0].at >= 0.2 and got[2].at - got[1].at >= 0.4   # backing off
    assert [t["status_code"] for t in delivery.tries] == [500, 503, 200]
    assert [r.headers["x-callback-attempt"] for r in got] == ["1", "2", "3"]


async def test_given_a_receiver_that_never_answers_in_time_then_given_up_after_the_last_try(store):
    async with Running(Receiver(delay=1.0)) as receiver, delivering(store, {"acme": [_hook(receiver)]}):
        await new(store, "c1")
        (delivery,) = await _log_settles(store, "c1", lambda log: log[0].status == "failed", timeout=15)
    assert delivery.attempts == 3 and delivery.last_status_code is None
    assert delivery.last_error == "no answer within 0.5 s"


async def test_given_nobody_listening_then_the_connection_error_is_logged(store):
    receiver = Receiver(port=1)   # nothing listens on port 1 of 127.0.0.1
    async with delivering(store, {"acme": [_hook(receiver)]}):
        await new(store, "c1")
        (delivery,) = await _log_settles(store, "c1", lambda log: log[0].attempts >= 1 and log[0].last_error)
    assert delivery.status in ("pending", "failed") and "ConnectError" in delivery.last_error


async def test_given_event_filters_and_two_clients_then_each_webhook_gets_only_its_own(store):
    async with Running(Receiver()) as mine, Running(Receiver()) as theirs, Running(Receiver()) as finals:
        hooks = {"acme": [_hook(mine, "all"), _hook(finals, "finals", frozenset({"callback.cancelled"}))],
                 "other": [_hook(theirs)]}
        async with delivering(store, hooks):
            await new(store, "c1")
            await store.request_cancel("c1", "acme", time.time())
            await mine.wait_for(lambda r: len(r) == 2)
            await finals.wait_for(lambda r: len(r) == 1)
            await asyncio.sleep(0.3)
    assert [e["type"] for e in mine.events()] == ["callback.queued", "callback.cancelled"]
    assert [e["type"] for e in finals.events()] == ["callback.cancelled"]
    assert theirs.received == []


async def test_given_a_pending_delivery_when_restarted_then_the_new_deliverer_sends_it(store, tmp_path):
    async with Running(Receiver(answers=[500])) as receiver:
        slow = DeliverySettings(timeout=0.5, poll_interval=0.05,
                                retry=RetryPolicy(first_delay=1.0, max_attempts=5, jitter=0.0))
        async with delivering(store, {"acme": [_hook(receiver)]}, slow):
            await new(store, "c1")
            await receiver.wait_for(lambda r: len(r) == 1)
        # Stopped with the retry still due: another process on the same database picks it up.
        again = await CallbackStore.open(f"sqlite+aiosqlite:///{tmp_path}/cb.db")
        try:
            deliverer = Deliverer(again, {"acme": [_hook(receiver)]}, slow)
            deliverer.start()
            try:
                got = await receiver.wait_for(lambda r: len(r) == 2)
            finally:
                await deliverer.stop()
        finally:
            await again.close()
    assert [r.status for r in got] == [500, 200] and got[0].event == got[1].event


async def test_given_a_webhook_gone_from_the_config_then_its_delivery_fails_saying_so(store):
    async with Running(Receiver(answers=[500])) as receiver:
        async with delivering(store, {"acme": [_hook(receiver)]}):
            await new(store, "c1")
            await receiver.wait_for(lambda r: len(r) == 1)
        async with delivering(store, {}):
            (delivery,) = await _log_settles(store, "c1", lambda log: log[0].status == "failed")
    assert delivery.last_error == "webhook no longer configured"


def test_given_a_row_that_cannot_be_rendered_then_it_is_skipped_and_the_rest_go():
    from ari_callback.store.deliveries import OutboxEvent
    from ari_callback.webhooks.deliverer import plan_deliveries

    def row(event_id, **detail):
        return OutboxEvent(event_id, 1.0, "acme", "c1", None, "callback", "queued", detail)

    hooks = {"acme": [Webhook("a", "http://127.0.0.1:9/a", SECRET, None),
                      Webhook("b", "http://127.0.0.1:9/b", SECRET, frozenset({"callback.cancelled"}))]}
    planned = plan_deliveries(hooks, [row(1), row(2, odd=float("nan")), row(3), OutboxEvent(
        4, 1.0, "other", "c9", None, "callback", "queued", {})])
    assert [(d.event_id, d.webhook_id) for d in planned] == [(1, "a"), (3, "a")]
