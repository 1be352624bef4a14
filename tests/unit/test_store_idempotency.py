"""The idempotency keys of the store, on SQLite and on a real PostgreSQL: one claimer wins,
however many race (in one process, and on PostgreSQL from several engines as from several
instances); the answer is kept; expired and stale keys are taken over once."""

from __future__ import annotations

import asyncio

import pytest

from ari_callback.store import CallbackStore

from .test_store import db_url, store  # noqa: F401  (the fixtures, both backends)

T = 1_800_000_000.0
TTL, LOCK = 86400.0, 60.0


async def _claim(store, key="k1", fingerprint="f1", now=T, client="acme"):
    return await store.idempotency_claim(client, key, fingerprint, now, ttl=TTL, lock=LOCK)


async def test_given_a_new_key_then_the_claimer_owns_it_and_a_second_finds_it_running(store):
    first = await _claim(store)
    second = await _claim(store, now=T + 1)
    assert first.owner and not second.owner
    assert (second.fingerprint, second.status) == ("f1", None)


async def test_given_a_finished_key_then_the_answer_is_found_as_stored(store):
    first = await _claim(store)
    assert await store.idempotency_finish("acme", "k1", first.created_at, 201, {"location": "/v1/callbacks/x"},
                                          '{"id": "x"}', T + 0.1)
    again = await _claim(store, now=T + 5)
    assert (again.owner, again.status, again.headers, again.body) == (
        False, 201, {"location": "/v1/callbacks/x"}, '{"id": "x"}')
    assert (await store.idempotency_get("acme", "k1")).status == 201


async def test_given_keys_then_they_are_per_client(store):
    assert (await _claim(store, client="acme")).owner
    assert (await _claim(store, client="other")).owner


async def test_given_a_released_key_then_the_same_request_runs_again_in_the_same_use_of_the_key(store):
    first = await _claim(store)
    await store.idempotency_release("acme", "k1", first.created_at)
    other = await _claim(store, fingerprint="f2", now=T + 1)
    again = await _claim(store, now=T + 1)
    assert not other.owner and other.fingerprint == "f1"   # the key stays this request's
    assert again.owner and again.tag("k1") == first.tag("k1")   # a callback it stored is found


async def test_given_an_expired_key_then_it_is_taken_over_even_with_another_request(store):
    first = await _claim(store)
    await store.idempotency_finish("acme", "k1", first.created_at, 201, {}, "{}", T)
    later = await _claim(store, fingerprint="f2", now=T + TTL + 1)
    assert later.owner and later.fingerprint == "f2"
    assert (await store.idempotency_get("acme", "k1")).status is None


async def test_given_a_key_left_running_past_the_lock_then_the_same_request_takes_it_over_once(store):
    first = await _claim(store)
    other = await _claim(store, fingerprint="f2", now=T + LOCK + 1)
    takers = await asyncio.gather(*(_claim(store, now=T + LOCK + 1) for _ in range(5)))
    assert not other.owner   # another request never takes a key over while it is kept
    assert sum(1 for t in takers if t is not None and t.owner) == 1
    # The old owner's answer comes too late: the row is the new owner's now.
    assert not await store.idempotency_finish("acme", "k1", first.created_at, 201, {}, "{}", T + LOCK + 2)


async def test_given_a_takeover_of_an_abandoned_claim_then_its_tag_is_kept_and_after_expiry_a_new_one(store):
    first = await _claim(store)
    taken = await _claim(store, now=T + LOCK + 1)          # its server died mid-request
    await store.idempotency_finish("acme", "k1", taken.created_at, 201, {}, "{}", T + LOCK + 2)
    reused = await _claim(store, now=T + LOCK + TTL + 10)   # the key used again after it expired
    assert first.tag("k1") == taken.tag("k1")   # the taker finds what the dead server stored
    assert reused.tag("k1") != first.tag("k1") and first.tag("k2") != first.tag("k1")


async def test_given_a_callback_made_by_a_key_use_then_storing_another_with_its_tag_names_the_first(store):
    from ari_callback.store import IdempotentRepeat

    from .store_helpers import new

    tag = (await _claim(store)).tag("k1")
    await new(store, "c1", idem_tag=tag)
    with pytest.raises(IdempotentRepeat) as repeat:
        await new(store, "c2", idem_tag=tag)
    await new(store, "c3", idem_tag=(await _claim(store, key="k2")).tag("k2"))
    assert repeat.value.callback_id == "c1" and await store.get("c2") is None and await store.get("c3")


async def test_given_expired_keys_then_purged(store):
    await _claim(store, key="old")
    await _claim(store, key="new", now=T + TTL)
    assert await store.purge_idempotency(T + TTL + 1) == 1
    assert await store.idempotency_get("acme", "old") is None
    assert await store.idempotency_get("acme", "new") is not None


async def test_given_100_concurrent_claims_then_exactly_one_owner(store):
    found = await asyncio.gather(*(_claim(store) for _ in range(100)))
    assert sum(1 for f in found if f is not None and f.owner) == 1


async def test_given_a_writable_store_then_no_write_problem_and_nothing_left(store):
    assert await store.write_problem() is None
    async with store.engine.connect() as conn:
        assert (await conn.exec_driver_sql("SELECT count(*) FROM idempotency_keys")).scalar() == 0


async def test_given_a_read_only_sqlite_file_then_a_write_problem(tmp_path):
    await (await CallbackStore.open(f"sqlite+aiosqlite:///{tmp_path}/ro.db")).close()   # created, migrated
    read_only = await CallbackStore.open(f"sqlite+aiosqlite:///file:{tmp_path}/ro.db?mode=ro&uri=true")
    try:
        assert await read_only.problem() is None   # reads work: only a write finds it out
        assert "cannot be written" in (await read_only.write_problem() or "")
    finally:
        await read_only.close()


async def test_given_100_claims_from_two_engines_on_postgres_then_exactly_one_owner(pg_database):
    """Two stores on one PostgreSQL, as two instances: the database decides, not a lock in a process."""
    a, b = await CallbackStore.open(pg_database), await CallbackStore.open(pg_database)
    try:
        found = await asyncio.gather(*(_claim(a if i % 2 else b) for i in range(100)))
    finally:
        await a.close()
        await b.close()
    assert sum(1 for f in found if f is not None and f.owner) == 1
