"""Webhook deliveries in the store, on SQLite and on a real PostgreSQL: the outbox fanned out
once, whatever restarts or races; claims in order per callback, never twice at once; tries,
give-ups and replays under the claim's fence."""

from __future__ import annotations

import asyncio

from sqlalchemy import insert, select

from ari_callback.store import CallbackStore
from ari_callback.store.deliveries import DELIVERED, FAILED, PENDING, NewDelivery, TryResult, advance
from ari_callback.store.tables import outbox, webhook_deliveries

from .store_helpers import T0, claim_one, lease, leg, new, step
from .test_store import db_url, store  # noqa: F401  (the fixtures, both backends)

NOW = T0 + 1000
LEASE = 25.0


def _plan(events, hooks=("hook",)):
    return [NewDelivery(e.id, e.client_id, e.callback_id, hook, f"http://127.0.0.1/{hook}", f"{e.kind}.{e.status}",
                        f'{{"id":{e.id}}}') for e in events for hook in hooks]


async def _started(store) -> None:
    """A consumer's first look starts it at the outbox's end."""
    assert await store.fan_out("webhooks", NOW, _plan) == 0


async def _all(store) -> list[dict]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(webhook_deliveries).order_by(webhook_deliveries.c.id))
        return [dict(row) for row in rows.mappings()]


def _ok(at=NOW, code=200):
    return TryResult(at=at, status_code=code, error="", ms=3.0, delivered=True, next_try_at=None)


def _failed(at=NOW, again=None, code=500):
    return TryResult(at=at, status_code=code, error=f"HTTP {code}", ms=3.0, delivered=False, next_try_at=again)


# ---------------------------------------------------------------------------------- fan-out
async def test_given_a_new_consumer_then_history_is_not_sent_and_new_events_are(store):
    await new(store, "old")
    await _started(store)
    await new(store, "c1")
    assert await store.fan_out("webhooks", NOW, _plan) == 1
    assert [(d["callback_id"], d["event_type"], d["status"]) for d in await _all(store)] == [
        ("c1", "callback.queued", PENDING)]


async def test_given_events_fanned_out_then_a_second_pass_and_a_restart_add_nothing(store, db_url):
    await _started(store)
    await new(store, "c1")
    await new(store, "c2")
    assert await store.fan_out("webhooks", NOW, lambda found: _plan(found, ("a", "b"))) == 2
    assert await store.fan_out("webhooks", NOW, _plan) == 0
    again = await CallbackStore.open(db_url)   # as after a restart
    try:
        assert await again.fan_out("webhooks", NOW, _plan) == 0
        await new(again, "c3")
        assert await again.fan_out("webhooks", NOW, _plan) == 1
    finally:
        await again.close()
    assert [(d["callback_id"], d["webhook_id"]) for d in await _all(store)] == [
        ("c1", "a"), ("c1", "b"), ("c2", "a"), ("c2", "b"), ("c3", "hook")]


async def test_given_two_fan_outs_at_once_then_each_event_is_delivered_once(store, db_url):
    await _started(store)
    for i in range(20):
        await new(store, f"c{i}")
    other = await CallbackStore.open(db_url)   # another instance
    try:
        await asyncio.gather(*(s.fan_out("webhooks", NOW, _plan, limit=3) for s in (store, other) for _ in range(10)))
    finally:
        await other.close()
    assert sorted(d["callback_id"] for d in await _all(store)) == sorted(f"c{i}" for i in range(20))


async def test_given_an_attempt_event_then_the_plan_sees_its_legs(store):
    await new(store, "c1")
    await _started(store)
    claim = await claim_one(store, now=NOW)
    await store.save_attempt(lease(claim), step("calling_src", "new", legs=[leg(f"cb-{claim.attempt.id}-src0", "src",
                                                                                created_at=NOW)]))
    seen = []
    await store.fan_out("webhooks", NOW, lambda found: seen.extend(found) or [])
    assert [(e.kind, e.status) for e in seen] == [("callback", "dialling"), ("attempt", "calling_src")]
    assert [leg_row["role"] for leg_row in seen[1].legs] == ["src"]


async def test_given_an_id_committed_late_then_it_is_still_fanned_out(store):
    await _started(store)
    await _insert_event(store, 10)
    assert await store.fan_out("webhooks", NOW, _plan) == 1   # 1 to 9 are gaps now
    await _insert_event(store, 7)   # a transaction that took id 7 commits only now
    assert await store.fan_out("webhooks", NOW + 1, _plan) == 1
    assert [d["event_id"] for d in await _all(store)] == [10, 7]
    assert await store.fan_out("webhooks", NOW + 1000, _plan) == 0   # the other gaps time out
    await _insert_event(store, 8)
    assert await store.fan_out("webhooks", NOW + 1001, _plan) == 0


async def _insert_event(store, event_id: int) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(insert(outbox).values(id=event_id, at=NOW, client_id="acme", callback_id=f"e{event_id}",
                                                 attempt_id=None, kind="callback", status="queued", detail={}))


def test_given_ids_read_then_the_cursor_moves_to_the_top_keeping_what_was_skipped():
    assert advance(5, {}, [6, 7, 9], now=100, gap_timeout=60) == (9, {8: 100})
    assert advance(9, {8: 100}, [8, 10], now=120, gap_timeout=60) == (10, {})
    assert advance(10, {3: 100}, [], now=161, gap_timeout=60) == (10, {})   # never came: rolled back
    assert advance(10, {}, [], now=0, gap_timeout=60) == (10, {})


# ---------------------------------------------------------------------------------- claims
async def _fanned(store, *callbacks: str) -> None:
    await _started(store)
    for callback_id in callbacks:
        await new(store, callback_id)
    await store.fan_out("webhooks", NOW, _plan)


async def test_given_two_events_of_a_callback_then_the_second_waits_for_the_first(store):
    await _fanned(store, "c1")
    await store.request_cancel("c1", "acme", NOW)   # a second event: cancelled
    await store.fan_out("webhooks", NOW, _plan)
    (first,) = await store.claim_deliveries(NOW, LEASE, 10)
    assert first.event_type == "callback.queued" and first.attempts == 1
    assert await store.claim_deliveries(NOW, LEASE, 10) == []   # claimed, and the next waits for it
    assert await store.finish_try(first, _ok())
    (second,) = await store.claim_deliveries(NOW, LEASE, 10)
    assert second.event_type == "callback.cancelled"


async def test_given_a_failing_delivery_then_it_is_retried_when_due_and_blocks_only_its_callback(store):
    await _fanned(store, "c1", "c2")
    a, b = await store.claim_deliveries(NOW, LEASE, 10)
    assert await store.finish_try(a, _failed(again=NOW + 10))
    assert await store.finish_try(b, _ok())
    assert await store.claim_deliveries(NOW + 5, LEASE, 10) == []
    (retried,) = await store.claim_deliveries(NOW + 10, LEASE, 10)
    assert (retried.id, retried.attempts, retried.tries[0]["status_code"]) == (a.id, 2, 500)


async def test_given_the_tries_run_out_then_failed_and_the_callback_s_next_event_goes(store):
    await _fanned(store, "c1")
    await store.request_cancel("c1", "acme", NOW)
    await store.fan_out("webhooks", NOW, _plan)
    (first,) = await store.claim_deliveries(NOW, LEASE, 10)
    assert await store.finish_try(first, _failed(again=None))
    (second,) = await store.claim_deliveries(NOW, LEASE, 10)
    assert second.event_type == "callback.cancelled"
    assert [d["status"] for d in await _all(store)] == [FAILED, PENDING]


async def test_given_a_claim_lapsed_then_another_takes_it_and_the_first_result_is_ignored(store):
    await _fanned(store, "c1")
    (slow,) = await store.claim_deliveries(NOW, LEASE, 10)
    (again,) = await store.claim_deliveries(NOW + LEASE + 1, LEASE, 10)   # the first sender died, or hangs
    assert again.id == slow.id and again.fence == slow.fence + 1
    assert not await store.finish_try(slow, _ok())
    assert await store.finish_try(again, _ok(at=NOW + LEASE + 2))
    (row,) = await _all(store)
    assert (row["status"], row["delivered_at"], len(row["tries"])) == (DELIVERED, NOW + LEASE + 2, 1)


async def test_given_many_claimers_at_once_then_no_delivery_is_claimed_twice(store, db_url):
    await _fanned(store, *(f"c{i}" for i in range(30)))
    other = await CallbackStore.open(db_url)   # another instance
    try:
        found = await asyncio.gather(*(s.claim_deliveries(NOW, LEASE, 4) for s in (store, other) for _ in range(8)))
    finally:
        await other.close()
    ids = [d.id for claims in found for d in claims]
    assert len(ids) == len(set(ids)) == 30


# ----------------------------------------------------------------------- log and replay
async def test_given_deliveries_then_the_log_is_the_client_s_own_in_event_order(store):
    await _fanned(store, "c1")
    await store.request_cancel("c1", "acme", NOW)
    await store.fan_out("webhooks", NOW, _plan)
    log = await store.deliveries_of("c1", "acme")
    assert [d.event_type for d in log] == ["callback.queued", "callback.cancelled"]
    assert await store.deliveries_of("c1", "other") == []
    assert await store.delivery(log[0].id, "other") is None


async def test_given_a_delivered_event_when_replayed_then_it_is_sent_again_with_a_fresh_set_of_tries(store):
    await _fanned(store, "c1")
    (first,) = await store.claim_deliveries(NOW, LEASE, 10)
    await store.finish_try(first, _ok())
    assert await store.replay_delivery(first.id, "other", NOW) is None
    replayed = await store.replay_delivery(first.id, "acme", NOW + 50)
    assert (replayed.status, replayed.attempts, replayed.next_try_at) == (PENDING, 0, NOW + 50)
    (again,) = await store.claim_deliveries(NOW + 50, LEASE, 10)
    assert (again.id, again.event_id, again.body) == (first.id, first.event_id, first.body)


async def test_given_a_try_in_flight_when_replayed_then_its_late_result_is_ignored(store):
    await _fanned(store, "c1")
    (flying,) = await store.claim_deliveries(NOW, LEASE, 10)
    await store.replay_delivery(flying.id, "acme", NOW + 1)
    assert not await store.finish_try(flying, _failed(again=None))
    assert (await store.delivery(flying.id, "acme")).status == PENDING
    assert await store.next_delivery_due() == NOW + 1


async def test_given_old_deliveries_then_those_over_are_purged_and_the_pending_kept(store):
    await _fanned(store, "c1", "c2")
    a, b = await store.claim_deliveries(NOW, LEASE, 10)
    await store.finish_try(a, _ok())
    await store.finish_try(b, _failed(again=NOW + 60))   # still owed
    assert await store.purge_deliveries(NOW) == 0          # made at NOW: not before it
    assert await store.purge_deliveries(NOW + 1) == 1
    assert [d["status"] for d in await _all(store)] == [PENDING]
