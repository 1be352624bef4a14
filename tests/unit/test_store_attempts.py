"""The store's callbacks, attempts, leases and outbox, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from ari_callback.store import CallbackStore, DuplicateCallback, LeaseLost, LimitReached, PaceReached, StoreError
from ari_callback.store.tables import client_usage, outbox

from .store_helpers import ME, OTHER, PBX, T0, claim_one, entry, lease, leg, new, step
from .test_store import db_url, store  # noqa: F401  (fixtures: each backend, a fresh database)


async def _events(store: CallbackStore) -> list[tuple]:
    async with store.engine.connect() as conn:
        query = select(outbox.c.callback_id, outbox.c.kind, outbox.c.status).order_by(outbox.c.id)
        return [tuple(row) for row in (await conn.execute(query)).all()]


# --------------------------------------------------------------------------------- create
async def test_given_a_new_callback_when_read_then_it_is_queued_with_its_plan_and_one_event(store):
    await new(store, request={"src": ["100"], "dst": "200", "nested": {"a": [1, None], "ü": "ß ✓"}})
    view = await store.get("c1")
    assert (view.status, view.due_at, view.created_at, view.plan, view.attempts, view.fence) == (
        "queued", T0, T0, {"version": 1, "call_id": "c1"}, 0, 0)
    assert view.request["nested"] == {"a": [1, None], "ü": "ß ✓"}
    assert view.attempt_list == () and not view.finished
    assert await _events(store) == [("c1", "callback", "queued")]


async def test_given_an_existing_id_when_created_again_then_duplicate_and_nothing_else_written(store):
    await new(store, client_id="acme", allowed=5)
    with pytest.raises(DuplicateCallback):
        await new(store, client_id="acme", allowed=5)
    assert (await store.get("c1")).client_id == "acme"
    assert await _events(store) == [("c1", "callback", "queued")]
    assert await store.active_count("acme") == 1   # the refused one gave its place back


async def test_given_another_clients_callback_when_read_with_a_client_id_then_none(store):
    await new(store, client_id="acme")
    assert await store.get("c1", client_id="other") is None
    assert (await store.get("c1", client_id="acme")).id == "c1"
    assert await store.get("nope") is None


# ------------------------------------------------------------------------------ admission
async def test_given_a_client_at_its_limit_when_creating_then_refused_until_one_finishes(store):
    await new(store, "c1", allowed=2)
    await new(store, "c2", allowed=2)
    with pytest.raises(LimitReached) as refused:
        await new(store, "c3", allowed=2)
    assert refused.value.active == 2 and await store.get("c3") is None
    await new(store, "x1", client_id="other", allowed=2)   # another client is not held up
    claim = await claim_one(store)
    await store.save_attempt(lease(claim), step("failed", "new", final=True, status_detail="src_busy"))
    await new(store, "c3", allowed=2)
    assert await store.active_count("acme") == 2


async def test_given_no_room_at_all_when_creating_then_refused_without_a_row(store):
    with pytest.raises(LimitReached):
        await new(store, allowed=0)
    assert await store.get("c1") is None and await _events(store) == []


async def test_given_100_concurrent_creates_on_two_instances_when_the_limit_is_10_then_exactly_10(db_url):
    first, second = await CallbackStore.open(db_url), await CallbackStore.open(db_url)
    try:
        async def attempt(i: int) -> bool:
            try:
                await new(first if i % 2 else second, f"c{i}", allowed=10)
                return True
            except LimitReached:
                return False
        admitted = await asyncio.gather(*(attempt(i) for i in range(100)))
        assert sum(admitted) == 10
        assert len(await first.list_unfinished()) == 10 and await first.active_count("acme") == 10
    finally:
        await first.close()
        await second.close()


async def test_given_a_pace_of_3_per_second_then_the_fourth_in_a_second_is_refused_and_later_ones_pass(store):
    for i in range(3):
        await new(store, f"c{i}", allowed=100, pace=(3, 1.0), created_at=T0 + i * 0.1)
    with pytest.raises(PaceReached) as refused:
        await new(store, "c3", allowed=100, pace=(3, 1.0), created_at=T0 + 0.5)
    assert (refused.value.started, refused.value.window) == (3, 1.0) and await store.get("c3") is None
    assert await store.active_count("acme") == 3   # the refused one took no place
    await new(store, "x1", client_id="other", allowed=100, pace=(3, 1.0), created_at=T0 + 0.5)   # per client
    await new(store, "c4", allowed=100, pace=(3, 1.0), created_at=T0 + 1.05)   # c0 is out of the window


async def test_given_100_concurrent_creates_on_two_instances_when_the_pace_is_5_per_second_then_exactly_5(db_url):
    first, second = await CallbackStore.open(db_url), await CallbackStore.open(db_url)
    try:
        async def attempt(i: int) -> bool:
            try:
                await new(first if i % 2 else second, f"c{i}", allowed=1000, pace=(5, 1.0), created_at=T0)
                return True
            except PaceReached:
                return False
        admitted = await asyncio.gather(*(attempt(i) for i in range(100)))
        assert sum(admitted) == 5 and await first.active_count("acme") == 5
    finally:
        await first.close()
        await second.close()


# --------------------------------------------------------------------------------- claims
async def test_given_waiting_callbacks_when_claimed_then_due_ones_oldest_first_each_with_an_attempt(store):
    await new(store, "late", due_at=T0 + 60)
    await new(store, "second", due_at=T0 - 1)
    await new(store, "first", due_at=T0 - 2)
    await new(store, "pinned", due_at=T0 - 3, asterisk="pbx2")
    claims = await store.claim_due(ME, PBX, T0, 15.0, 10)
    assert [c.callback_id for c in claims] == ["first", "second"]
    view = await store.get("first")
    assert (view.status, view.owner, view.fence, view.attempts, view.lease_until) == ("dialling", ME, 1, 1, T0 + 15)
    attempt = view.latest
    assert (attempt.id, attempt.seq, attempt.instance, attempt.state) == (claims[0].attempt.id, 1, ME, "new")
    assert not claims[0].adopted and claims[0].plan == {"version": 1, "call_id": "first"}
    assert await store.next_due(PBX) == T0 + 60
    assert [c.callback_id for c in await store.claim_due(ME, "pbx2", T0, 15.0, 10)] == ["pinned"]
    assert ("first", "callback", "dialling") in await _events(store)


async def test_given_two_instances_claiming_at_once_then_each_callback_is_claimed_exactly_once(db_url):
    first, second = await CallbackStore.open(db_url), await CallbackStore.open(db_url)
    try:
        for i in range(60):
            await new(first, f"c{i}", due_at=T0 - i)

        async def drain(store: CallbackStore, instance: str) -> list[str]:
            taken: list[str] = []
            while batch := await store.claim_due(instance, PBX, T0, 15.0, 7):
                taken += [c.callback_id for c in batch]
            return taken
        a, b = await asyncio.gather(drain(first, ME), drain(second, OTHER))
        assert sorted(a + b) == sorted(f"c{i}" for i in range(60)) and not set(a) & set(b)
    finally:
        await first.close()
        await second.close()


# --------------------------------------------------------------------------- progress
async def test_given_steps_when_saved_then_legs_upserted_timeline_appended_events_on_changes(store):
    await new(store, allowed=5)
    claim = await claim_one(store)
    held = lease(claim)
    aid = claim.attempt.id
    await store.save_attempt(held, step("calling_src", "new", legs=[leg(f"cb-{aid}-src0", "src")],
                                        timeline=[entry(0, "leg_created", f"cb-{aid}-src0"), entry(1)]))
    await store.save_attempt(held, step("calling_src", "calling_src", timeline=[entry(2, "ringing")],
                                        legs=[leg(f"cb-{aid}-src0", "src", ringing_at=T0 + 1)]))
    await store.save_attempt(held, step("completed", "calling_src", final=True, status_detail="answered",
                                        ended_by="dst", connected_at=T0 + 2, ended_at=T0 + 9,
                                        legs=[leg(f"cb-{aid}-src0", "src", ringing_at=T0 + 1, cause=16,
                                                  outcome="normal")]))
    view = await store.get("c1")
    assert (view.status, view.status_detail, view.ended_by, view.owner, view.ended_at) == (
        "completed", "answered", "dst", None, T0 + 9)
    attempt = view.latest
    assert (attempt.state, attempt.connected_at) == ("completed", T0 + 2)
    assert [(lg["id"], lg["ringing_at"], lg["cause"], lg["outcome"]) for lg in attempt.legs] == [
        (f"cb-{aid}-src0", T0 + 1, 16, "normal")]
    assert [e["seq"] for e in attempt.timeline] == [0, 1, 2]
    assert [e[1:] for e in await _events(store)] == [("callback", "queued"), ("callback", "dialling"),
                                                     ("attempt", "calling_src"), ("attempt", "completed"),
                                                     ("callback", "completed")]
    assert await store.active_count("acme") == 0


async def test_given_a_failing_entry_when_a_step_is_saved_then_nothing_of_it_is_written(store):
    await new(store)
    held = lease(await claim_one(store))
    await store.save_attempt(held, step("calling_src", "new", timeline=[entry(0)]))
    with pytest.raises(StoreError):
        await store.save_attempt(held, step("connected", "calling_src", timeline=[entry(1), entry(0, "dup")]))
    attempt = (await store.get("c1")).latest
    assert attempt.state == "calling_src" and [e["seq"] for e in attempt.timeline] == [0]


async def test_given_bad_leg_fields_when_saved_then_value_error(store):
    await new(store)
    held = lease(await claim_one(store))
    with pytest.raises(ValueError, match="colour"):
        await store.save_attempt(held, step("calling_src", "new", legs=[leg("x", "src", colour="red")]))


# ------------------------------------------------------------------------ leases, fencing
async def test_given_a_dead_owner_when_its_lease_lapses_then_another_adopts_and_the_old_one_is_fenced(store):
    await new(store)
    claim = await claim_one(store, ME)
    old = lease(claim)
    await store.save_attempt(old, step("connected", "new", legs=[leg("cb-a-src0", "src")], timeline=[entry(0)]))
    assert await store.claim_orphans(OTHER, PBX, T0 + 10, 15.0, 10) == []   # the lease still runs
    adopted = await store.claim_orphans(OTHER, PBX, T0 + 16, 15.0, 10)
    assert [(c.callback_id, c.adopted, c.fence, c.attempt.id, c.attempt.state) for c in adopted] == [
        ("c1", True, 2, claim.attempt.id, "connected")]
    assert [lg["id"] for lg in adopted[0].attempt.legs] == ["cb-a-src0"]
    with pytest.raises(LeaseLost):
        await store.save_attempt(old, step("completed", "connected", final=True, timeline=[entry(1)]))
    assert (await store.get("c1")).status == "dialling"
    assert await store.renew_leases(ME, T0 + 17, 15.0) == set()
    assert await store.renew_leases(OTHER, T0 + 17, 15.0) == {"c1"}
    await store.save_attempt(lease(adopted[0], OTHER), step("completed", "connected", final=True))
    assert (await store.get("c1")).status == "completed"


async def test_given_an_instance_restarting_when_it_claims_its_own_then_they_come_back_at_once(store):
    await new(store)
    await claim_one(store, ME)
    assert await store.claim_orphans(OTHER, PBX, T0 + 1, 15.0, 10, own=True) == []
    mine = await store.claim_orphans(ME, PBX, T0 + 1, 15.0, 10, own=True)
    assert [(c.callback_id, c.adopted) for c in mine] == [("c1", True)]


async def test_given_an_orphan_on_another_asterisk_then_only_an_instance_serving_it_adopts_it(store):
    await new(store)
    claims = await store.claim_due(ME, "pbx2", T0, 15.0, 1)
    assert len(claims) == 1
    assert await store.claim_orphans(OTHER, PBX, T0 + 60, 15.0, 10) == []
    assert len(await store.claim_orphans(OTHER, "pbx2", T0 + 60, 15.0, 10)) == 1


# ---------------------------------------------------------------------------------- cancel
async def test_given_a_waiting_callback_when_cancelled_then_it_ends_at_once(store):
    await new(store, allowed=3)
    before = await store.request_cancel("c1", "acme", T0 + 1)
    assert before.status == "queued"
    view = await store.get("c1")
    assert (view.status, view.status_detail, view.ended_by, view.ended_at) == (
        "cancelled", "cancelled", "cancel", T0 + 1)
    assert await store.active_count("acme") == 0
    assert await store.claim_due(ME, PBX, T0 + 2, 15.0, 10) == []
    assert (await _events(store))[-1] == ("c1", "callback", "cancelled")


async def test_given_a_callback_being_dialled_when_cancelled_then_its_owner_finds_the_request(store):
    await new(store)
    await claim_one(store, ME)
    assert await store.cancel_requests(ME) == set()
    assert (await store.request_cancel("c1", "acme", T0 + 1)).status == "dialling"
    assert await store.cancel_requests(ME) == {"c1"}
    assert await store.cancel_requests(OTHER) == set()
    assert (await store.get("c1")).status == "dialling"


async def test_given_another_clients_or_a_finished_callback_when_cancelled_then_nothing_changes(store):
    await new(store)
    assert await store.request_cancel("c1", "other", T0) is None
    await store.request_cancel("c1", "acme", T0)
    again = await store.request_cancel("c1", "acme", T0 + 5)
    assert again.finished and (await store.get("c1")).ended_at == T0


async def test_given_usage_rows_then_the_count_is_what_admission_sees(store):
    await new(store, "c1", allowed=9)
    await new(store, "c2", allowed=9)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(client_usage.c.client_id, client_usage.c.active))).all()
    assert [tuple(r) for r in rows] == [("acme", 2)]


async def test_given_a_listener_when_a_dialled_callback_is_cancelled_then_postgresql_pushes_its_id(store):
    heard: list[str] = []
    listening = asyncio.create_task(store.listen_for_cancels(heard.append))
    try:
        await new(store)
        await claim_one(store, ME)
        await asyncio.sleep(0.5)   # the listener's connection is up
        await store.request_cancel("c1", "acme", T0 + 1)
        for _ in range(50):
            if heard or listening.done():
                break
            await asyncio.sleep(0.05)
        if store.engine.dialect.name == "postgresql":
            assert heard == ["c1"]
        else:   # SQLite has no notifications: the listener returns, the owner polls
            assert listening.done() and heard == []
    finally:
        listening.cancel()


async def test_given_an_instance_late_renewing_its_own_lease_then_it_does_not_adopt_its_own_calls(store):
    await new(store)
    claim = await claim_one(store, ME)
    assert await store.claim_orphans(ME, PBX, T0 + 60, 15.0, 10) == []   # lapsed, but ours
    await store.save_attempt(lease(claim), step("calling_src", "new"))   # still held: not fenced out
    assert [c.callback_id for c in await store.claim_orphans(OTHER, PBX, T0 + 60, 15.0, 10)] == ["c1"]


async def test_given_attempts_when_asked_which_ended_before_a_time_then_only_those_settled_by_then(store):
    await new(store, "c1")
    await new(store, "c2")
    await new(store, "c3")
    ended_early, ended_late, running = [await claim_one(store) for _ in range(3)]
    await store.save_attempt(lease(ended_early), step("completed", "new", final=True, at=T0 + 10))
    await store.save_attempt(lease(ended_late), step("completed", "new", final=True, at=T0 + 20))
    await store.save_attempt(lease(running), step("calling_src", "new", at=T0 + 5))
    ids = {c.attempt.id for c in (ended_early, ended_late, running)} | {"unknown"}
    assert await store.finished_attempts(ids, ended_before=T0 + 15) == {ended_early.attempt.id}
    assert await store.finished_attempts(ids, ended_before=T0 + 25) == {ended_early.attempt.id,
                                                                        ended_late.attempt.id}


async def test_given_many_calls_saving_at_once_then_their_steps_share_transactions_and_fail_alone(store):
    for i in range(30):
        await new(store, f"c{i}")
    claims = [await claim_one(store) for _ in range(30)]
    taken, = await store.claim_orphans(OTHER, PBX, T0 + 60, 15.0, 1)   # adopted by another instance
    claims.sort(key=lambda c: c.callback_id != taken.callback_id)      # its stale owner's claim first
    before = store._steps.transactions
    results = await asyncio.gather(
        *(store.save_attempt(lease(c), step("calling_src", "new", legs=[leg(f"cb-{c.attempt.id}-src0", "src")],
                                            timeline=[entry(0)])) for c in claims),
        store.save_attempt(lease(claims[1]), step("connected", "calling_src", timeline=[entry(0, "dup")])),
        return_exceptions=True)
    assert isinstance(results[0], LeaseLost)                      # the stale owner's step alone
    assert isinstance(results[-1], StoreError)                    # a refused row alone
    assert all(r is None for r in results[1:-1]), [r for r in results[1:-1] if r is not None][:2]
    assert store._steps.transactions - before < 31                # fewer transactions than steps
    views = [await store.get(c.callback_id) for c in claims]
    assert [v.latest.state for v in views[1:]] == ["calling_src"] * 29
    assert all(len(v.latest.legs) == 1 and len(v.latest.timeline) == 1 for v in views[1:])
    assert views[0].latest.state == "new"                         # nothing of the stale step


async def test_given_more_qualifying_rows_than_the_limit_then_every_claim_takes_exactly_the_limit(store):
    # PostgreSQL may re-run an "id IN (SELECT ... LIMIT n)" subquery per scanned row; as updated
    # rows stop matching, each run picks others, and one claim took them all (store.dispatch).
    for i in range(30):
        await new(store, f"c{i}")
    assert len(await store.claim_due(ME, PBX, T0, 15.0, 3)) == 3
    for _ in range(27):
        await claim_one(store)
    assert len(await store.claim_orphans(OTHER, PBX, T0 + 60, 15.0, 2)) == 2
    assert len(await store.claim_orphans(OTHER, PBX, T0 + 60, 15.0, 1)) == 1
