"""A client's directory through the API (/v1/client, /v1/extensions, /v1/sounds, /v1/numbers):
stored, usable at once by the routes that start calls, per client, and the configuration's
defaults kept; in process on a real SQLite store."""

from __future__ import annotations

import pytest

from ari_callback.directory import Directory
from ari_callback.store.directory import StoredDirectory

from .fonolo_app import OTHER_KEY, client
from .test_api_hardening import GOOD, KEY, PBX, hardened


@pytest.fixture
async def built(tmp_path):
    async with hardened(tmp_path / "data") as made:   # acme: extension 100 in the configuration
        yield made


async def test_given_an_extension_put_then_seed_002_calls_from_it_and_it_is_listed_as_stored(built):
    async with client(built.app, headers=KEY) as api:
        before = await api.post("/extension/200/callback/", json=PBX)
        put = await api.put("/v1/extensions/200", json={"number": "1200", "name": "Lab"})
        after = await api.post("/extension/200/callback/", json=PBX)
        listed = (await api.get("/v1/extensions")).json()
    assert (before.status_code, before.json()["error_id"]) == (404, "extension_not_found")
    assert put.status_code == 200 and put.json() == {"id": "200", "number": "1200", "name": "Lab", "type": "phone",
                                                     "source": "store"}
    assert after.status_code == 200, after.text
    plan = (await built.store.get(after.json()["call_api_id"])).plan
    assert "1200" in str(plan)   # the extension's number is its caller id
    assert [(e["id"], e["source"]) for e in listed] == [("100", "config"), ("200", "store")]


async def test_given_a_sound_put_then_announce_sound_id_plays_it(built):
    async with client(built.app, headers=KEY) as api:
        before = await api.post("/v1/callbacks", json={**GOOD, "announce_sound_id": 42})
        put = await api.put("/v1/sounds/42", json={"media": ["sound:hello-world", "digits:42"]})
        after = await api.post("/v1/callbacks", json={**GOOD, "announce_sound_id": 42})
        listed = (await api.get("/v1/sounds")).json()
    assert (before.status_code, before.json()["error_id"]) == (422, "unknown_sound")
    assert put.status_code == 200 and after.status_code == 201, after.text
    assert "sound:hello-world" in str((await built.store.get(after.json()["id"])).plan)
    assert listed == [{"id": 42, "media": ["sound:hello-world", "digits:42"], "source": "store"}]


async def test_given_a_configured_extension_then_a_stored_one_replaces_it_and_only_the_stored_goes(built):
    async with client(built.app, headers=KEY) as api:
        refused = await api.delete("/v1/extensions/100")
        await api.put("/v1/extensions/100", json={"number": "1100", "type": "queue"})
        replaced = (await api.get("/v1/extensions")).json()
        removed = await api.delete("/v1/extensions/100")
        back = (await api.get("/v1/extensions")).json()
        missing = await api.delete("/v1/extensions/nope")
        no_sound = await api.delete("/v1/sounds/5")
    assert (refused.status_code, refused.json()["error_id"]) == (409, "extension_in_config")
    assert [(e["number"], e["type"], e["source"]) for e in replaced] == [("1100", "queue", "store")]
    assert removed.status_code == 204 and [(e["number"], e["source"]) for e in back] == [("100", "config")]
    assert (missing.status_code, missing.json()["error_id"]) == (404, "extension_not_found")
    assert (no_sound.status_code, no_sound.json()["error_id"]) == (404, "sound_not_found")


@pytest.mark.parametrize(("path", "body", "error_id"), [
    ("/v1/extensions/200", {"number": "12a"}, "invalid_number"),
    ("/v1/extensions/200", {"number": "120", "type": "fax"}, "invalid_type"),
    ("/v1/extensions/200", {"name": "no number"}, "missing_number"),
    ("/v1/extensions/a%20b", {"number": "120"}, "invalid_extension_id"),
    ("/v1/sounds/7", {"media": ["file:/etc/passwd"]}, "invalid_media"),
    ("/v1/sounds/7", {"media": []}, "invalid_media"),
    ("/v1/sounds/0", {"media": ["sound:beep"]}, "invalid_sound_id"),
    ("/v1/sounds/x", {"media": ["sound:beep"]}, "invalid_sound_id"),
])
async def test_given_bad_input_then_422_and_nothing_stored(built, path, body, error_id):
    async with client(built.app, headers=KEY) as api:
        refused = await api.put(path, json=body)
    assert (refused.status_code, refused.json()["error_id"]) == (422, error_id), refused.text
    assert await built.store.read_directory() == StoredDirectory()


async def test_given_the_client_then_its_limits_numbers_and_directory_with_sources(built):
    await built.store.put_client("acme", {"max_calls_per_second": 4}, 1.0)
    await built.store.add_number("acme", "5550142", 1.0)
    async with client(built.app, headers=KEY) as api:
        shown = (await api.get("/v1/client")).json()
        numbers = (await api.get("/v1/numbers")).json()
    assert (shown["id"], shown["max_concurrent_calls"], shown["max_calls_per_second"]) == ("acme", 10, 4.0)
    assert numbers == shown["external_numbers"] == [{"number": "5550142", "source": "store"}]
    assert [e["id"] for e in shown["extensions"]] == ["100"] and shown["sounds"] == []


async def test_given_a_limit_lowered_in_the_store_then_admission_uses_it_at_once(built):
    await built.store.put_client("acme", {"max_concurrent_calls": 1}, 1.0)
    async with client(built.app, headers=KEY) as api:
        await api.get("/v1/client")   # any read of the directory brings it up to date
        first = await api.post("/v1/callbacks", json=GOOD)
        second = await api.post("/v1/callbacks", json=GOOD)
    assert first.status_code == 201 and second.status_code == 429, second.text


async def test_given_another_clients_key_then_it_has_its_own_directory(built):
    async with client(built.app, headers=KEY) as acme, client(built.app, headers={"X-API-Key": OTHER_KEY}) as other:
        await acme.put("/v1/extensions/200", json={"number": "1200"})
        theirs = (await other.get("/v1/extensions")).json()
        gone = await other.delete("/v1/extensions/200")
        mine = (await acme.get("/v1/extensions")).json()
    assert theirs == [] and gone.status_code == 404 and [e["id"] for e in mine] == ["100", "200"]


async def test_given_a_second_instance_then_it_sees_an_api_change_after_its_poll(built, tmp_path):
    from ari_callback.config import Settings
    other = Settings(clients={"acme": {}}, data_dir=tmp_path)
    second = Directory(other, built.store)
    async with client(built.app, headers=KEY) as api:
        await api.put("/v1/sounds/3", json={"media": ["tone:ring"]})
    assert await second.refresh() and other.clients["acme"].sounds == {3: ["tone:ring"]}


@pytest.mark.parametrize("name", ['Bob" <666>', "tab\there", "x" * 65])
async def test_given_a_caller_name_that_would_break_the_caller_id_then_422(built, name):
    async with client(built.app, headers=KEY) as api:
        refused = await api.put("/v1/extensions/200", json={"number": "1200", "name": name})
    assert (refused.status_code, refused.json()["error_id"]) == (422, "invalid_name")
