"""The event hub's reading of the outbox: ids that show up out of order (PostgreSQL commits in
another order than it hands out ids) are waited for, then sent late rather than never. Rows
with chosen ids are written straight into a real SQLite outbox to make the gaps."""

from __future__ import annotations

import asyncio

import pytest

from ari_callback.api.event_hub import EventHub
from ari_callback.store import CallbackStore
from ari_callback.store.tables import outbox


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path):
    found = await CallbackStore.open(f"sqlite+aiosqlite:///{tmp_path}/hub.db")
    yield found
    await found.close()


async def write(store: CallbackStore, *ids: int, client: str = "acme", callback: str = "c1") -> None:
    rows = [{"id": i, "at": 1.0 * i, "client_id": client, "callback_id": callback, "attempt_id": None,
             "kind": "callback", "status": "queued", "detail": {}} for i in ids]
    async with store.engine.begin() as conn:
        await conn.execute(outbox.insert(), rows)


def ids(sub) -> list[int]:
    found = [row.id for row in sub.rows]
    sub.rows.clear()
    return found


async def hub_on(store: CallbackStore, clock: Clock) -> EventHub:
    """A hub whose own loop never polls in a test's time: the test polls, one poll at a time."""
    return EventHub(lambda: store.engine, poll=3600, gap_hold=2.0, gap_watch=60.0, clock=clock)


async def test_given_a_missing_id_then_later_rows_wait_for_it_and_go_in_order(store):
    clock = Clock()
    await write(store, 1)
    hub = await hub_on(store, clock)
    sub = await hub.subscribe("acme", None)
    assert sub.start == 1
    await write(store, 2, 4)
    await hub.poll_once()
    assert ids(sub) == [2]          # 4 waits behind the missing 3
    await write(store, 3)
    await hub.poll_once()
    assert ids(sub) == [3, 4] and hub.position == 4
    await hub.stop()


async def test_given_a_gap_past_its_hold_then_what_follows_goes_and_a_late_row_still_comes(store):
    clock = Clock()
    hub = await hub_on(store, clock)
    sub = await hub.subscribe("acme", None)
    await write(store, 1, 3)
    await hub.poll_once()
    assert ids(sub) == [1]
    clock.now += 2.5                # a rolled-back insert, or a very slow transaction
    await hub.poll_once()
    assert ids(sub) == [3]
    await write(store, 2)
    await hub.poll_once()
    assert ids(sub) == [2]          # late, out of order, but not lost
    clock.now += 120
    await write(store, 4)
    await hub.poll_once()
    assert ids(sub) == [4] and hub._gaps == {}   # long-missing ids are given up on
    await hub.stop()


async def test_rows_go_only_to_their_clients_and_callbacks_streams(store):
    hub = await hub_on(store, Clock())
    everything, one, other = (await hub.subscribe("acme", None), await hub.subscribe("acme", "c2"),
                              await hub.subscribe("other", None))
    await write(store, 1, 2, callback="c1")
    await write(store, 3, callback="c2")
    await write(store, 4, client="other", callback="x")
    await hub.poll_once()
    assert (ids(everything), ids(one), ids(other)) == ([1, 2, 3], [3], [4])
    await hub.stop()


async def test_a_stream_that_falls_too_far_behind_is_told_to_resume(store, monkeypatch):
    monkeypatch.setattr("ari_callback.api.event_hub.QUEUE_LIMIT", 2)
    hub = await hub_on(store, Clock())
    sub = await hub.subscribe("acme", None)
    await write(store, 1, 2, 3)
    await hub.poll_once()
    assert sub.overflowed and ids(sub) == [1, 2]
    await hub.stop()


async def test_given_an_id_missing_below_the_start_then_its_row_still_reaches_the_stream_when_it_commits(store):
    await write(store, 1, 3)           # 2: a transaction still open when the first stream starts
    hub = await hub_on(store, Clock())
    sub = await hub.subscribe("acme", None)
    assert sub.start == 3
    await write(store, 2)
    await hub.poll_once()
    assert ids(sub) == [2]
    await hub.stop()


async def test_given_no_stream_left_then_the_hub_stops_polling_and_the_next_stream_starts_at_the_newest(store):
    hub = EventHub(lambda: store.engine, poll=0.01)
    sub = await hub.subscribe("acme", None)
    hub.unsubscribe(sub)
    for _ in range(100):
        if hub._task is None:
            break
        await asyncio.sleep(0.01)
    assert hub._task is None
    await write(store, 1, 2)
    again = await hub.subscribe("acme", None)
    assert again.start == 2 and hub._task is not None
    await hub.stop()


async def test_on_postgresql_a_row_committed_after_a_later_one_is_sent_first_and_nothing_is_lost(pg_database):
    """The real thing the gap handling is for: transaction A takes id n and commits after B,
    which took n + 1. The hub must not move past n while A is still open."""
    store = await CallbackStore.open(pg_database)
    try:
        hub = EventHub(lambda: store.engine, poll=3600, gap_hold=30.0)
        sub = await hub.subscribe("acme", None)
        row = {"at": 1.0, "client_id": "acme", "callback_id": "c1", "attempt_id": None, "kind": "callback",
               "status": "queued", "detail": {}}
        async with store.engine.connect() as slow, store.engine.connect() as fast:
            await slow.begin()
            first = (await slow.execute(outbox.insert().values(row).returning(outbox.c.id))).scalar_one()
            await fast.begin()
            second = (await fast.execute(outbox.insert().values(row).returning(outbox.c.id))).scalar_one()
            await fast.commit()
            await hub.poll_once()
            assert second > first and ids(sub) == []   # held behind the open transaction's id
            await slow.commit()
        await hub.poll_once()
        assert ids(sub) == [first, second]
        await hub.stop()
    finally:
        await store.close()
