"""``ari-callback clients|extensions|numbers|sounds``: on the store directly, over the
configuration's defaults; a running server (here: a Directory on the same database) sees the
change at its next poll; bad input exits 2 and stores nothing."""

from __future__ import annotations

import asyncio
import json

import pytest
import yaml
from click.testing import CliRunner

from ari_callback.cli import main
from ari_callback.config import load_settings
from ari_callback.directory import Directory
from ari_callback.store import CallbackStore


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "clients": {
        "default": {}, "acme": {"extensions": {"100": {"number": "1001"}}, "external_numbers": ["5550100"],
                                "sounds": {1: ["sound:hello"]}}}}))
    return path


def run(config, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def as_a_server_sees_it(config):
    settings = load_settings(config)

    async def read():
        store = await CallbackStore.open(settings.db_url)
        try:
            await Directory(settings, store).refresh()
        finally:
            await store.close()

    asyncio.run(read())
    return settings.clients


def test_given_a_new_client_with_limits_then_every_instance_sees_it_and_the_list_shows_it(config):
    made = run(config, "clients", "set", "newco", "--max-concurrent-calls", "3", "--max-calls-per-second", "1.5",
               "--deny", "00.*", "--deny", "0900.*", "--caller-id-number", "5550199")
    changed = run(config, "clients", "set", "acme", "--max-concurrent-calls", "25")
    listed = json.loads(run(config, "clients", "list", "--json").stdout)
    assert made.exit_code == 0 and changed.exit_code == 0, made.output + changed.output
    seen = as_a_server_sees_it(config)
    assert (seen["newco"].max_concurrent_calls, seen["newco"].max_calls_per_second) == (3, 1.5)
    assert seen["newco"].destinations.deny == ["00.*", "0900.*"] and seen["newco"].caller_id.number == "5550199"
    assert seen["acme"].max_concurrent_calls == 25 and seen["acme"].extensions["100"].number == "1001"
    assert [(c["id"], c["source"], c["max_concurrent_calls"]) for c in listed] == [
        ("acme", "store", 25), ("default", "config", 10), ("newco", "store", 3)]
    table = run(config, "clients", "list").stdout
    assert "newco" in table and "acme" in table


def test_given_extensions_numbers_and_sounds_then_stored_over_the_configuration(config):
    for args in (["extensions", "set", "acme", "200", "--number", "1200", "--name", "Lab"],
                 ["numbers", "add", "acme", "5550142"], ["sounds", "set", "acme", "1", "tone:ring", "digits:1"]):
        done = run(config, *args)
        assert done.exit_code == 0, done.output
    acme = as_a_server_sees_it(config)["acme"]
    assert set(acme.extensions) == {"100", "200"} and acme.external_numbers == ["5550100", "5550142"]
    assert acme.sounds == {1: ["tone:ring", "digits:1"]}
    sounds = json.loads(run(config, "sounds", "list", "acme", "--json").stdout)
    assert sounds == [{"id": 1, "media": ["tone:ring", "digits:1"], "source": "store"}]
    numbers = json.loads(run(config, "numbers", "list", "acme", "--json").stdout)
    assert [(n["number"], n["source"]) for n in numbers] == [("5550100", "config"), ("5550142", "store")]
    assert run(config, "sounds", "remove", "acme", "1").exit_code == 0
    assert as_a_server_sees_it(config)["acme"].sounds == {1: ["sound:hello"]}   # the configuration's again


@pytest.mark.parametrize(("args", "says"), [
    (["clients", "set", "acme", "--max-concurrent-calls", "0"], "greater than or equal to 1"),
    (["clients", "set", "bad id"], "client id"),
    (["clients", "set", "acme", "--deny", "("], "not a regular expression"),
    (["extensions", "set", "acme", "200", "--number", "12a"], "digits"),
    (["extensions", "set", "nobody", "200", "--number", "120"], "no client 'nobody'"),
    (["numbers", "add", "acme", "call-me"], "digits"),
    (["sounds", "set", "acme", "2", "file:/etc/passwd"], "not a media URI"),
    (["sounds", "set", "acme", "0", "sound:beep"], "is not in the range"),
    (["extensions", "remove", "acme", "100"], "configuration file"),
    (["numbers", "remove", "acme", "5550100"], "configuration file"),
    (["clients", "remove", "acme"], "holds nothing"),
])
def test_given_bad_input_then_a_message_a_failing_exit_and_nothing_stored(config, args, says):
    before = as_a_server_sees_it(config)
    refused = run(config, *args)
    assert refused.exit_code in (1, 2) and says in refused.output, refused.output
    assert as_a_server_sees_it(config) == before


def test_given_a_stored_client_removed_then_a_configured_one_keeps_its_configuration(config):
    run(config, "clients", "set", "acme", "--max-concurrent-calls", "2")
    run(config, "extensions", "set", "acme", "200", "--number", "1200")
    removed = run(config, "clients", "remove", "acme")
    acme = as_a_server_sees_it(config)["acme"]
    assert removed.exit_code == 0 and "keeps its configuration" in removed.output
    assert acme.max_concurrent_calls == 10 and set(acme.extensions) == {"100"}


def test_given_a_client_made_in_the_store_then_keys_create_accepts_it(config):
    run(config, "clients", "set", "newco")
    run(config, "extensions", "set", "newco", "700", "--number", "700")
    made = run(config, "keys", "create", "--client", "newco", "--extension", "700")
    assert made.exit_code == 0 and made.stdout.startswith("acb_"), made.output
