"""API keys in the store, on SQLite and on a real PostgreSQL: found by hash while live, listed
per client, revoked once, their use noted; the hash is unique."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.exc import IntegrityError

from ari_callback.keys import key_hash, make_key
from ari_callback.store import CallbackStore


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/data/keys.db"
    return request.getfixturevalue("pg_database")   # started only when a test asks for it


@pytest.fixture
async def store(db_url):
    opened = await CallbackStore.open(db_url)
    yield opened
    await opened.close()


async def test_given_keys_of_two_clients_then_each_is_found_by_its_hash_and_listed_with_its_client(store):
    a = make_key("acme", 10.0, name="crm", scope="read_only", extension="100")
    b = make_key("other", 11.0)
    for made in (a, b):
        await store.add_api_key(made.stored)
    assert await store.find_api_key(key_hash(a.secret)) == a.stored
    assert await store.find_api_key(key_hash("acb_guessed")) is None
    assert [k.id for k in await store.list_api_keys("acme")] == [a.stored.id]
    assert [k.id for k in await store.list_api_keys()] == [a.stored.id, b.stored.id]


async def test_given_a_revoke_then_not_found_kept_in_the_list_of_revoked_and_its_first_time_kept(store):
    made = make_key("acme", 10.0)
    await store.add_api_key(made.stored)
    assert await store.revoke_api_key(made.stored.id, 20.0, client_id="other") is None
    assert (await store.revoke_api_key(made.stored.id, 20.0, client_id="acme")).revoked_at == 20.0
    assert (await store.revoke_api_key(made.stored.id, 30.0)).revoked_at == 20.0
    assert await store.find_api_key(made.stored.key_hash) is None
    assert await store.list_api_keys("acme") == []
    assert [k.revoked_at for k in await store.list_api_keys("acme", revoked=True)] == [20.0]


async def test_given_a_use_noted_then_last_used_at_is_set(store):
    made = make_key("acme", 10.0)
    await store.add_api_key(made.stored)
    await store.touch_api_key(made.stored.id, 42.0)
    assert (await store.find_api_key(made.stored.key_hash)).last_used_at == 42.0


async def test_given_the_same_hash_twice_then_the_second_is_refused(store):
    made = make_key("acme", 10.0)
    await store.add_api_key(made.stored)
    clash = replace(make_key("other", 11.0).stored, key_hash=made.stored.key_hash)
    with pytest.raises(IntegrityError):
        await store.add_api_key(clash)
    assert [k.client_id for k in await store.list_api_keys()] == ["acme"]
