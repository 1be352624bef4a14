"""API keys in the store: made through /v1/keys (shown once), listed without secrets, revoked;
read-only and extension users' keys; the configuration's keys alongside."""

from __future__ import annotations

import time

import pytest

from ari_callback.keys import key_hash
from ari_callback.store import StoreUnavailable

from .tenants_app import CONFIG_KEY, CONFIG_READ_KEY, client, tenants


@pytest.fixture
async def t(tmp_path):
    async with tenants(tmp_path / "data") as made:
        yield made


async def test_given_a_new_key_then_it_is_shown_once_works_and_only_its_hash_is_stored(t):
    async with client(t.app, headers=t.headers("a_full")) as a:
        made = await a.post("/v1/keys", json={"name": "billing"})
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["key"].startswith("acb_") and body["key"].startswith(body["prefix"])
        assert (body["scope"], body["source"], made.headers["location"]) == ("full", "store", f"/v1/keys/{body['id']}")
        listed = (await a.get("/v1/keys")).text
    assert body["id"] in listed and body["key"] not in listed and body["key"][len(body["prefix"]):] not in listed
    stored = await t.store.find_api_key(key_hash(body["key"]))
    assert stored is not None and stored.client_id == "acme"
    async with client(t.app, headers={"Authorization": f"Bearer {body['key']}"}) as new:
        assert (await new.get("/v1/profiles")).status_code == 200
    assert (await t.store.find_api_key(key_hash(body["key"]))).last_used_at is not None


async def test_given_a_revoked_key_then_401_at_once_and_listed_only_on_request(t):
    async with client(t.app, headers=t.headers("a_full")) as a:
        made = (await a.post("/v1/keys", json={})).json()
        assert (await a.delete(f"/v1/keys/{made['id']}")).status_code == 204
        assert (await a.delete(f"/v1/keys/{made['id']}")).status_code == 204   # twice: still revoked, no error
        assert made["id"] not in (await a.get("/v1/keys")).text
        revoked = [k for k in (await a.get("/v1/keys", params={"revoked": "true"})).json() if k["id"] == made["id"]]
        assert revoked and revoked[0]["revoked_at"] is not None
    async with client(t.app, headers={"X-API-Key": made["key"]}) as gone:
        response = await gone.get("/v1/profiles")
    assert (response.status_code, response.json()["error_id"]) == (401, "unauthorized")


async def test_given_another_clients_key_id_then_revoking_it_is_404_and_it_still_works(t):
    async with client(t.app, headers=t.headers("b_full")) as b:
        response = await b.delete(f"/v1/keys/{t.key_ids['a_full']}")
        assert (response.status_code, response.json()["error_id"]) == (404, "key_not_found")
        assert t.key_ids["a_full"] not in (await b.get("/v1/keys")).text
    async with client(t.app, headers=t.headers("a_full")) as a:
        assert (await a.get("/v1/keys")).status_code == 200


async def test_given_a_read_only_key_then_it_lists_keys_but_makes_and_revokes_none(t):
    async with client(t.app, headers=t.headers("a_read")) as r:
        assert (await r.get("/v1/keys")).status_code == 200
        for response in (await r.post("/v1/keys", json={}), await r.delete(f"/v1/keys/{t.key_ids['a_spare']}")):
            assert (response.status_code, response.json()["error_id"]) == (403, "forbidden")


async def test_given_an_extension_users_key_then_it_calls_from_its_extension_and_sees_those_calls_only(t):
    async with client(t.app, headers=t.headers("a_ext")) as ext:
        made = await ext.post("/extension/a100/callback/", json={"src_num": ["1001"], "dst_num": "6001"})
        assert made.status_code == 200, made.text
        call_id = made.json()["call_id"]
        assert (await ext.get(f"/v1/callbacks/{call_id}")).status_code == 200
        assert (await ext.get(f"/client/acme/call_history/{call_id}")).status_code == 200
        other = await ext.post("/extension/a200/callback/", json={"src_num": ["1001"], "dst_num": "6001"})
        assert (other.status_code, other.json()["error_id"]) == (404, "extension_not_found")
        for path in (f"/v1/callbacks/{t.callback_id}", f"/client/acme/call_history/{t.callback_id}"):
            assert (await ext.get(path)).status_code == 404
        assert (await ext.get("/v1/profiles")).json()["error_id"] == "forbidden"
        assert (await ext.post(f"/v1/callbacks/{call_id}/cancel")).status_code == 202


async def test_given_an_extension_the_client_lacks_then_no_key_is_made_for_it(t):
    async with client(t.app, headers=t.headers("a_full")) as a:
        response = await a.post("/v1/keys", json={"extension": "b100", "scope": "read_only"})
        assert (response.status_code, response.json()["error_id"]) == (404, "extension_not_found")
        made = await a.post("/v1/keys", json={"extension": "a100", "scope": "read_only"})
        assert (made.json()["extension"], made.json()["scope"]) == ("a100", "read_only")


async def test_given_config_keys_then_they_work_are_listed_as_config_and_cannot_be_revoked_through_the_api(t):
    async with client(t.app, headers={"X-API-Key": CONFIG_KEY}) as a:
        listed = [k for k in (await a.get("/v1/keys")).json() if k["source"] == "config"]
        assert {(k["name"], k["scope"]) for k in listed} == {("seeded", "full"), ("", "read_only")}
        assert all(k["prefix"] == "(config)" for k in listed)
        response = await a.delete(f"/v1/keys/{listed[0]['id']}")
        assert (response.status_code, response.json()["error_id"]) == (409, "key_in_config")
    async with client(t.app, headers={"X-API-Key": CONFIG_READ_KEY}) as r:
        assert (await r.post("/v1/keys", json={})).status_code == 403
    assert CONFIG_KEY not in str(t.app.state.api_keys)   # kept hashed


async def test_given_two_keys_of_one_client_with_other_limits_then_401(t):
    headers = {**t.headers("a_full"), "Authorization": f"Bearer {t.keys['a_read']}"}
    async with client(t.app, headers=headers) as both:
        assert (await both.get("/v1/profiles")).status_code == 401
    headers = {**t.headers("a_full"), "Authorization": f"Bearer {t.keys['a_spare']}"}
    async with client(t.app, headers=headers) as same:
        assert (await same.get("/v1/profiles")).status_code == 200


async def test_given_a_store_that_cannot_answer_then_a_store_key_is_503_and_a_config_key_still_passes(t, monkeypatch):
    async def away(_hash):
        raise StoreUnavailable("database unavailable while looking up an API key")

    monkeypatch.setattr(t.store, "find_api_key", away)
    async with client(t.app, headers=t.headers("a_full")) as a:
        response = await a.get("/v1/keys")
        assert (response.status_code, response.json()["error_id"]) == (503, "store_unavailable")
        health = await a.get("/health")
        assert health.status_code == 200 and "active_calls" not in health.json()
    async with client(t.app, headers={"X-API-Key": CONFIG_KEY}) as seeded:
        assert "active_calls" in (await seeded.get("/health")).json()


async def test_given_the_last_use_noted_within_a_minute_then_not_written_again(t):
    before = (await t.store.find_api_key(key_hash(t.keys["a_spare"]))).last_used_at
    async with client(t.app, headers=t.headers("a_spare")) as a:
        await a.get("/v1/keys")
        first = (await t.store.find_api_key(key_hash(t.keys["a_spare"]))).last_used_at
        await a.get("/v1/keys")
        second = (await t.store.find_api_key(key_hash(t.keys["a_spare"]))).last_used_at
    assert before is None and first is not None and first == second and first <= time.time()


async def test_given_a_read_only_key_and_a_body_over_the_limit_then_403_before_the_body_is_read(t):
    too_big = b"{" + b" " * (t.app.state.http_settings.max_body_bytes + 10) + b"}"
    async with client(t.app, headers={**t.headers("a_read"), "Content-Type": "application/json"}) as r:
        response = await r.post("/v1/callbacks", content=too_big)
    assert (response.status_code, response.json()["error_id"]) == (403, "forbidden")


async def test_given_a_body_naming_another_client_then_404_not_403(t):
    async with client(t.app, headers=t.headers("b_full")) as b:
        response = await b.post("/v1/callbacks", json={"src": ["1001"], "dst": "6001", "client_id": "acme"})
    assert (response.status_code, response.json()["error_id"]) == (404, "client_not_found")
