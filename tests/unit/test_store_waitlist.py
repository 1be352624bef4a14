"""Customer callbacks in the store, on SQLite and on PostgreSQL: profiles, one pending callback
per number and option, claims within an option's capacity, retries back into the waitlist."""

from __future__ import annotations

import asyncio

import pytest

from ari_callback.customer_schema import ProfileSettings
from ari_callback.store import CallbackStore, NewCallback, PendingCallback

from .store_helpers import ME, OTHER, PBX, T0, lease, step
from .test_store import db_url, store  # noqa: F401  (fixtures: each backend, a fresh database)

PROFILE = ProfileSettings(client="acme", name="Support", sms=True, timezone="America/Toronto", options={
    "sales": {"name": "Sales", "queue": "sales", "capacity": 2, "hours": {"mon-fri": "09:00-17:00"}},
    "billing": {"name": "Billing", "queue": "billing", "status": "paused", "position": 1}},
    questions={"q1": {"text": "Account number?", "type": "number", "required": True}})


async def _customer(store: CallbackStore, callback_id: str, number: str, *, option: str = "sales",
                    place_at: float = T0, due_at: float = T0) -> None:
    await store.create(NewCallback(id=callback_id, client_id="acme", api="fonolo", request={}, plan={"v": 1},
                                   created_at=T0, due_at=due_at, option_sid=option, number=number,
                                   place_at=place_at, policy={"retry": {}}))


async def test_given_a_profile_when_saved_and_read_then_the_same_settings_come_back(store):
    await store.save_profile("P1", PROFILE, T0)
    assert await store.load_profiles("acme") == {"P1": PROFILE}
    assert await store.load_profiles("other") == {}
    smaller = PROFILE.model_copy(update={"options": {"sales": PROFILE.options["sales"]}, "questions": {}})
    await store.save_profile("P1", smaller, T0 + 1)   # replaced whole: billing and q1 go
    assert await store.load_profiles() == {"P1": smaller}
    assert await store.set_option_status("acme", "sales", "closed", T0 + 2)
    assert not await store.set_option_status("other", "sales", "active", T0 + 2)   # not theirs
    assert (await store.load_profiles())["P1"].options["sales"].status == "closed"


async def test_given_a_pending_callback_for_a_number_when_asked_again_then_the_first_is_the_answer(store):
    await store.save_profile("P1", PROFILE, T0)
    await _customer(store, "c1", "5551000")
    with pytest.raises(PendingCallback) as pending:
        await _customer(store, "c2", "5551000")
    assert pending.value.callback_id == "c1" and await store.get("c2") is None
    await _customer(store, "c3", "5551000", option="billing")   # another option is another request
    await _customer(store, "c4", "5552000")


async def test_given_racing_requests_for_one_number_then_exactly_one_is_stored(store):
    await store.save_profile("P1", PROFILE, T0)
    results = await asyncio.gather(*(_customer(store, f"c{i}", "5551000") for i in range(10)),
                                   return_exceptions=True)
    stored = [r for r in results if r is None]
    assert len(stored) == 1 and all(isinstance(r, PendingCallback) for r in results if r is not None)


async def test_given_an_option_of_capacity_2_when_claimed_then_2_in_waitlist_order_and_no_more(store):
    await store.save_profile("P1", PROFILE, T0)
    for i, place in enumerate([T0 + 3, T0 + 1, T0 + 2, T0 + 4]):
        await _customer(store, f"c{i}", f"555100{i}", place_at=place)
    assert await store.due_options(PBX, T0) == {"sales": 4}
    first = await store.claim_option(ME, PBX, "sales", 2, T0, 15.0)
    assert [c.callback_id for c in first] == ["c1", "c2"]   # earliest place first
    assert await store.claim_option(OTHER, PBX, "sales", 2, T0, 15.0) == []   # full, on any instance
    waiting, running = await store.waitlist("sales")
    assert sorted(row.id for row in waiting) == ["c0", "c3"] and len(running) == 2
    await store.save_attempt(lease(first[0]), step("completed", "new", final=True, at=T0 + 60,
                                                   ended_at=T0 + 60, status_detail="answered"))
    assert [c.callback_id for c in await store.claim_option(OTHER, PBX, "sales", 2, T0, 15.0)] == ["c0"]
    assert await store.history("sales", T0) == [(T0, None, T0 + 60)]


async def test_given_a_failed_attempt_with_a_retry_then_back_in_the_waitlist_at_its_place(store):
    await store.save_profile("P1", PROFILE, T0)
    await _customer(store, "c1", "5551000", place_at=T0 - 50)
    claim, = await store.claim_option(ME, PBX, "sales", 2, T0, 15.0)
    assert claim.policy == {"retry": {}} and claim.requested_at == T0 - 50
    await store.save_attempt(lease(claim), step("failed", "new", final=True, status_detail="src_busy",
                                                retry_at=T0 + 300))
    view = await store.get("c1")
    assert (view.status, view.due_at, view.place_at, view.owner, view.status_detail) == (
        "queued", T0 + 300, T0 - 50, None, "src_busy")
    assert await store.claim_option(ME, PBX, "sales", 2, T0 + 299, 15.0) == []   # not before it is due
    again, = await store.claim_option(ME, PBX, "sales", 2, T0 + 300, 15.0)
    assert again.attempt.seq == 2
    with pytest.raises(PendingCallback):   # still pending while it waits for its retry
        await _customer(store, "c2", "5551000")


async def test_given_customer_callbacks_then_the_clients_call_limit_is_not_used(store):
    await store.save_profile("P1", PROFILE, T0)
    await _customer(store, "c1", "5551000")
    claim, = await store.claim_option(ME, PBX, "sales", 2, T0, 15.0)
    await store.save_attempt(lease(claim), step("completed", "new", final=True, status_detail="answered"))
    await _customer(store, "c2", "5552000")
    await store.request_cancel("c2", "acme", T0 + 1)
    assert await store.active_count("acme") == 0
    assert [v.id for v in await store.by_number("acme", "5551000")] == ["c1"]


async def test_given_a_customer_callback_with_sms_then_its_first_event_carries_number_and_opt_in(store):
    from sqlalchemy import select

    from ari_callback.store.tables import outbox
    await store.create(NewCallback(id="c1", client_id="acme", api="fonolo", request={"sms": True}, plan={"v": 1},
                                   created_at=T0, due_at=T0, option_sid="sales", number="5551000"))
    async with store.engine.connect() as conn:
        detail = (await conn.execute(select(outbox.c.detail))).scalar_one()
    assert detail == {"due_at": T0, "option": "sales", "number": "5551000", "sms": True}


async def test_given_a_long_waitlist_when_claimed_then_exactly_the_room_is_taken(store):
    await store.save_profile("P1", ProfileSettings(client="acme", name="Big", options={
        "big": {"name": "Big", "queue": "big", "capacity": 100}}), T0)
    for i in range(30):
        await _customer(store, f"c{i}", f"55510{i:02d}", option="big", place_at=T0 + i)
    first = await store.claim_option(ME, PBX, "big", 100, T0, 15.0, limit=3)
    assert [c.callback_id for c in first] == ["c0", "c1", "c2"]
    assert len(await store.claim_option(ME, PBX, "big", 5, T0, 15.0)) == 2   # capacity 5, 3 running
