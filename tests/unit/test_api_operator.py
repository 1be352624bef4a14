"""The operator's API (/v1/clients) with an operator key: clients made and changed, DIDs,
extensions and sounds of any client, the configuration's defaults kept; what the changes do to
the clients' own calls at once; in process on a real SQLite store (tenants_app)."""

from __future__ import annotations

import pytest

from ari_callback.config import ConfigError, Settings

from .tenants_app import client, tenants


@pytest.fixture
async def t(tmp_path):
    async with tenants(tmp_path / "data") as made:   # acme (extensions a100, a200) and other
        yield made


async def test_given_a_new_client_then_201_listed_and_a_key_of_it_places_calls_within_its_limit(t):
    async with client(t.app, headers=t.headers("operator")) as op:
        made = await op.put("/v1/clients/newco", json={"max_concurrent_calls": 1, "caller_id": {"number": "5550199"}})
        again = await op.put("/v1/clients/newco", json={"max_concurrent_calls": 1, "caller_id": {"number": "5550199"}})
        number = await op.put("/v1/clients/newco/numbers/5550199")
        listed = (await op.get("/v1/clients")).json()["clients"]
    assert (made.status_code, again.status_code, number.status_code) == (201, 200, 200), made.text
    assert made.json()["max_concurrent_calls"] == 1 and made.json()["caller_id"]["number"] == "5550199"
    assert [c["id"] for c in listed] == ["acme", "newco", "other"]
    from ari_callback.keys import make_key
    key = make_key("newco", 0.0)
    await t.store.add_api_key(key.stored)
    async with client(t.app, headers={"X-API-Key": key.secret}) as newco:
        first = await newco.post("/v1/callbacks", json={"src": ["1001"], "dst": "6001"})
        second = await newco.post("/v1/callbacks", json={"src": ["1001"], "dst": "6002"})
        own = (await newco.get("/v1/client")).json()
    assert first.status_code == 201 and (second.status_code, second.json()["error_id"]) == (
        429, "concurrent_call_limit_exceeded")
    assert own["external_numbers"] == [{"number": "5550199", "source": "store"}]


async def test_given_a_clients_settings_put_then_only_the_fields_given_win_over_the_configuration(t):
    async with client(t.app, headers=t.headers("operator")) as op:
        await op.put("/v1/clients/acme", json={"max_calls_per_second": 2, "destinations": {"deny": ["6.*"]}})
        shown = (await op.get("/v1/clients/acme")).json()
        refused_config = await op.delete("/v1/clients/other")
        removed = await op.delete("/v1/clients/acme")
        back = (await op.get("/v1/clients/acme")).json()
    async with client(t.app, headers=t.headers("a_full")) as a:
        allowed = await a.post("/v1/callbacks", json={"src": ["1001"], "dst": "6001"})
    assert (shown["max_calls_per_second"], shown["max_concurrent_calls"], shown["destinations"]["deny"]) == (
        2.0, 10, ["6.*"])
    assert [e["id"] for e in shown["extensions"]] == ["a100", "a200"]
    assert (refused_config.status_code, refused_config.json()["error_id"]) == (409, "client_in_config")
    assert removed.status_code == 204 and back["max_calls_per_second"] is None and back["destinations"]["deny"] == []
    assert allowed.status_code == 201, allowed.text   # the deny pattern went with the stored settings


async def test_given_any_clients_extensions_and_sounds_then_the_operator_manages_them(t):
    async with client(t.app, headers=t.headers("operator")) as op:
        ext = await op.put("/v1/clients/other/extensions/b200", json={"number": "2002"})
        sound = await op.put("/v1/clients/other/sounds/5", json={"media": ["tone:ring"]})
        in_config = await op.delete("/v1/clients/acme/extensions/a100")
        gone_sound = await op.delete("/v1/clients/other/sounds/5")
        no_number = await op.delete("/v1/clients/other/numbers/5550000")
        nobody = await op.put("/v1/clients/nobody/numbers/5550000")
        bad_number = await op.put("/v1/clients/other/numbers/call-me")
        bad_id = await op.put("/v1/clients/bad%20id", json={})
        bad_limit = await op.put("/v1/clients/other", json={"max_concurrent_calls": 0})
    async with client(t.app, headers=t.headers("b_full")) as b:
        theirs = [e["id"] for e in (await b.get("/v1/extensions")).json()]
    assert ext.status_code == 200 and sound.status_code == 200 and theirs == ["b100", "b200"]
    assert (in_config.status_code, in_config.json()["error_id"]) == (409, "extension_in_config")
    assert gone_sound.status_code == 204
    assert (no_number.status_code, no_number.json()["error_id"]) == (404, "number_not_found")
    assert (nobody.status_code, nobody.json()["error_id"]) == (404, "client_not_found")
    assert (bad_number.status_code, bad_number.json()["error_id"]) == (422, "invalid_number")
    assert (bad_id.status_code, bad_id.json()["error_id"]) == (422, "invalid_client_id")
    assert (bad_limit.status_code, bad_limit.json()["error_id"]) == (422, "invalid_max_concurrent_calls")


async def test_given_an_operator_key_then_it_places_no_call_and_tenants_cannot_list_it(t):
    async with client(t.app, headers=t.headers("operator")) as op:
        refused = await op.post("/v1/callbacks", json={"src": ["1001"], "dst": "6001"})
    async with client(t.app, headers=t.headers("a_full")) as a:
        keys = (await a.get("/v1/keys")).json()
        made = await a.post("/v1/keys", json={"scope": "operator"})
    assert (refused.status_code, refused.json()["error_id"]) == (403, "forbidden")
    assert t.key_ids["operator"] not in {k["id"] for k in keys}
    assert (made.status_code, made.json()["error_id"]) == (422, "invalid_scope")   # a tenant cannot make one


def test_given_an_operator_key_in_the_configuration_then_it_names_no_client(tmp_path):
    fine = Settings(api_keys=[{"key": "op-secret", "scope": "operator"}, {"key": "k", "client": "default"}],
                    data_dir=tmp_path)
    fine.check()
    assert fine.keys() == {"k": "default"} and "op-secret" in fine.secrets()
    with pytest.raises(ConfigError, match="api_keys.0: an operator key acts for no client"):
        Settings(api_keys=[{"key": "op", "scope": "operator", "client": "default"}], data_dir=tmp_path).check()


@pytest.mark.parametrize("caller_id", [{"name": 'a" <1>'}, {"number": "12ab"}])
async def test_given_a_caller_id_that_would_break_the_originate_then_422_and_nothing_stored(t, caller_id):
    async with client(t.app, headers=t.headers("operator")) as op:
        refused = await op.put("/v1/clients/other", json={"caller_id": caller_id})
    assert (refused.status_code, refused.json()["error_id"]) == (422, "invalid_caller_id"), refused.text
    assert (await t.store.read_directory()).clients == {}


async def test_given_a_stored_client_removed_then_its_keys_are_revoked_and_not_inherited_by_a_new_one(t):
    from ari_callback.keys import make_key
    key, ghost = make_key("newco", 0.0), make_key("ghost", 0.0)   # ghost: a client no one has
    await t.store.add_api_key(ghost.stored)
    async with client(t.app, headers=t.headers("operator")) as op:
        await op.put("/v1/clients/newco", json={})
        await t.store.add_api_key(key.stored)
        async with client(t.app, headers={"X-API-Key": key.secret}) as newco:
            before = await newco.get("/v1/keys")
            await op.delete("/v1/clients/newco")
            after = await newco.put("/v1/variables/X", json={"value": "1"})
            await op.put("/v1/clients/newco", json={})
            reborn = await newco.get("/v1/keys")
    async with client(t.app, headers={"X-API-Key": ghost.secret}) as g:
        orphan = [await g.get("/v1/keys"), await g.put("/v1/extensions/1", json={"number": "1"})]
    assert before.status_code == 200
    assert [(r.status_code, r.json()["error_id"]) for r in (after, reborn)] == [(401, "unauthorized")] * 2
    assert [(r.status_code, r.json()["error_id"]) for r in orphan] == [(403, "unknown_client")] * 2
    assert (await t.store.read_directory()).extensions == {}


async def test_given_a_sound_id_beyond_range_then_422_on_every_route(t):
    async with client(t.app, headers=t.headers("operator")) as op, client(t.app, headers=t.headers("a_full")) as a:
        answers = [await op.delete("/v1/clients/acme/sounds/100000000000000000000"),
                   await a.delete("/v1/sounds/100000000000000000000"), await a.delete("/v1/sounds/-1")]
        long_number = await a.put("/v1/extensions/x", json={"number": "+" + "1" * 32})
    assert [(r.status_code, r.json()["error_id"]) for r in answers] == [(422, "invalid_sound_id")] * 3
    assert long_number.status_code == 200, long_number.text
