"""The directory: the configuration's clients with the store's changes over them. The merge is
pure; the store's part runs on SQLite and on a real PostgreSQL, and two directories on one store
stand for two instances."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ari_callback.config import ClientSettings, ExtensionSettings, Settings
from ari_callback.directory import Directory, merged
from ari_callback.store.directory import StoredDirectory

from .test_store import db_url, store  # noqa: F401  (fixtures: each backend, a fresh database)

BASE = {"acme": ClientSettings(max_concurrent_calls=5, external_numbers=["5550100"], sounds={1: ["sound:hello"]},
                               extensions={"100": ExtensionSettings(number="100", name="Desk")})}


def test_given_nothing_stored_then_the_configuration_as_it_is():
    assert merged(BASE, StoredDirectory()) == BASE


def test_given_stored_changes_then_they_win_and_the_rest_stays_the_configurations():
    stored = StoredDirectory(clients={"acme": {"max_calls_per_second": 2.5}},
                             extensions={"acme": {"100": {"number": "101", "name": "New", "type": "phone"},
                                                  "200": {"number": "200", "name": "", "type": "queue"}}},
                             numbers={"acme": {"5550199", "5550100"}}, sounds={"acme": {1: ["tone:ring"], 2: ["beep"]}})
    acme = merged(BASE, stored)["acme"]
    assert (acme.max_concurrent_calls, acme.max_calls_per_second) == (5, 2.5)
    assert {k: (e.number, e.type) for k, e in acme.extensions.items()} == {"100": ("101", "phone"),
                                                                          "200": ("200", "queue")}
    assert acme.external_numbers == ["5550100", "5550199"]
    assert acme.sounds == {1: ["tone:ring"], 2: ["beep"]}
    assert BASE["acme"].sounds == {1: ["sound:hello"]}   # the configuration's own objects are untouched


def test_given_a_client_only_in_the_store_then_it_has_the_defaults_and_its_changes():
    stored = StoredDirectory(clients={"newco": {"max_concurrent_calls": 3}}, numbers={"ghost": {"1"}})
    found = merged(BASE, stored)
    assert set(found) == {"acme", "newco"}   # rows of a client that is in neither are ignored
    assert found["newco"].max_concurrent_calls == 3 and found["newco"].extensions == {}


def test_given_a_stored_change_the_rules_refuse_then_the_merge_refuses_it():
    with pytest.raises(ValidationError):
        merged(BASE, StoredDirectory(clients={"acme": {"max_concurrent_calls": 0}}))


async def test_given_two_instances_when_one_writes_then_the_other_sees_it_after_its_refresh(store, tmp_path):
    one = Settings(clients={"acme": BASE["acme"].model_copy()}, data_dir=tmp_path)
    two = Settings(clients={"acme": BASE["acme"].model_copy()}, data_dir=tmp_path)
    first, second = Directory(one, store), Directory(two, store)
    assert not await first.refresh() and not await second.refresh()   # nothing stored yet
    await store.put_client("acme", {"max_concurrent_calls": 9}, 1.0)
    await store.put_client("newco", {}, 1.0)
    await store.put_extension("acme", "300", "300", "Lab", "phone", 1.0)
    await store.add_number("acme", "5550142", 1.0)
    await store.put_sound("acme", 9_007_199_254_740_991, ["sound:beep", "digits:12"], 1.0)
    assert await second.refresh() and not await second.refresh()
    acme = two.clients["acme"]
    assert acme.max_concurrent_calls == 9 and "newco" in two.clients and acme.extensions["300"].name == "Lab"
    assert acme.external_numbers == ["5550100", "5550142"] and acme.sounds[9_007_199_254_740_991][1] == "digits:12"
    assert (second.source("acme", "extensions", "300"), second.source("acme", "extensions", "100")) == (
        "store", "config")
    assert one.clients["acme"].max_concurrent_calls == 5   # until the first refreshes too
    await store.delete_extension("acme", "300")
    assert await store.delete_client("newco") and not await store.delete_client("newco")
    await second.refresh()
    assert "300" not in two.clients["acme"].extensions and "newco" not in two.clients
    assert not await store.delete_sound("acme", 1) and not await store.delete_number("acme", "5550100")


async def test_given_a_poll_that_read_before_a_write_then_it_cannot_put_the_older_view_back(store, tmp_path):
    import asyncio
    settings = Settings(clients={"acme": BASE["acme"].model_copy()}, data_dir=tmp_path)
    directory = Directory(settings, store)
    read, entered, release = store.read_directory, asyncio.Event(), asyncio.Event()

    async def slow_first_read():
        found = await read()
        if not entered.is_set():
            entered.set()
            await release.wait()
        return found

    store.read_directory = slow_first_read
    poll = asyncio.ensure_future(directory.refresh())
    await entered.wait()                                   # the poll has read the old directory
    await store.put_extension("acme", "300", "300", "", "phone", 1.0)
    writer = asyncio.ensure_future(directory.refresh())    # the writer's own refresh
    release.set()
    await asyncio.gather(poll, writer)
    assert "300" in settings.clients["acme"].extensions
