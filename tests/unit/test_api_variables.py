"""Client variables (seed 002 and /v1): set through the API, used as @{NAME} and $cv(NAME), kept
per client; in process on a real SQLite store, and the store on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from .fonolo_app import OTHER_KEY, client
from .test_api_hardening import KEY, PBX, hardened
from .test_store import db_url, store  # noqa: F401  (fixtures: each backend, a fresh database)


@pytest.fixture
async def built(tmp_path):
    async with hardened(tmp_path / "data") as made:   # acme: extension 100, config variable EXT=100
        yield made


async def test_given_a_variable_set_in_seed_002s_resource_then_cv_uses_it_in_a_callback(built):
    async with client(built.app, headers=KEY) as api:
        made = await api.put("/client/acme/variables/DST", json={"value": "1002"})
        listed = (await api.get("/client/acme/variables")).json()["variables"]
        call = await api.post("/extension/@{EXT}/callback/", json={**PBX, "dst_num": "$cv(DST)"})
    assert made.status_code == 200 and made.json() == {"name": "DST", "value": "1002", "source": "store"}
    assert listed == [{"name": "DST", "value": "1002", "source": "store"},
                      {"name": "EXT", "value": "100", "source": "config"}]
    assert call.status_code == 200, call.text
    stored = await built.store.get(call.json()["call_api_id"])
    assert (stored.request["dst"], stored.request["extension_id"]) == ("1002", "100")


async def test_given_a_stored_value_then_it_overrides_the_configured_default_until_removed(built):
    async with client(built.app, headers=KEY) as api:
        await api.put("/v1/variables/EXT", json={"value": "999"})
        overridden = await api.post("/extension/@{EXT}/callback/", json=PBX)
        removed = await api.delete("/v1/variables/EXT")
        back = await api.post("/extension/@{EXT}/callback/", json=PBX)
        again = await api.delete("/v1/variables/EXT")
    assert (overridden.status_code, overridden.json()["error_id"]) == (404, "extension_not_found")
    assert removed.status_code == 204 and back.status_code == 200
    assert (again.status_code, again.json()["error_id"]) == (409, "variable_in_config")


@pytest.mark.parametrize(("path", "body", "status", "error_id"), [
    ("/v1/variables/1X", {"value": "a"}, 422, "invalid_name"),
    ("/v1/variables/" + "A" * 65, {"value": "a"}, 422, "invalid_name"),
    ("/v1/variables/OK", {"value": "a\nb"}, 422, "invalid_value"),
    ("/v1/variables/OK", {"value": "x" * 257}, 422, "invalid_value"),
    ("/v1/variables/OK", {"value": "a", "extra": 1}, 422, "unknown_field"),
    ("/v1/variables/OK", {}, 422, "missing_value"),
])
async def test_given_a_bad_variable_then_refused_and_nothing_stored(built, path, body, status, error_id):
    async with client(built.app, headers=KEY) as api:
        refused = await api.put(path, json=body)
        listed = (await api.get("/v1/variables")).json()["variables"]
    assert (refused.status_code, refused.json()["error_id"]) == (status, error_id), refused.text
    assert [v["name"] for v in listed] == ["EXT"]


async def test_given_another_clients_key_then_their_variables_are_neither_seen_nor_touched(built):
    async with client(built.app, headers=KEY) as a:
        await a.put("/v1/variables/SECRET", json={"value": "a-only"})
    async with client(built.app, headers={"X-API-Key": OTHER_KEY}) as b:
        seed = await b.get("/client/acme/variables")
        own = (await b.get("/v1/variables")).json()
        gone = await b.delete("/v1/variables/SECRET")
        used = await b.post("/v1/callbacks", json={"src": ["1001"], "dst": "$cv(SECRET)"})
    assert (seed.status_code, seed.json()["error_id"]) == (404, "client_not_found")
    assert own == {"variables": []} and "a-only" not in str(own)
    assert (gone.status_code, gone.json()["error_id"]) == (404, "variable_not_found")
    assert used.status_code == 422   # $cv() belongs to seed 002's route; elsewhere it is just a bad number
    assert await built.store.client_variables("acme") == {"SECRET": "a-only"}


async def test_the_store_keeps_variables_per_client(store):
    await store.set_client_variable("acme", "A", "1", 1.0)
    await store.set_client_variable("acme", "A", "2", 2.0)
    await store.set_client_variable("other", "A", "x", 2.0)
    assert await store.client_variables("acme") == {"A": "2"}
    assert await store.delete_client_variable("acme", "A") and not await store.delete_client_variable("acme", "A")
    assert await store.client_variables("acme") == {} and await store.client_variables("other") == {"A": "x"}
