"""``ari-callback keys``: on the store directly, the secret printed once, then only its prefix."""

from __future__ import annotations

import asyncio
import json

import pytest
import yaml
from click.testing import CliRunner

from ari_callback.cli import main
from ari_callback.keys import key_hash
from ari_callback.store import CallbackStore


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "clients": {
        "default": {}, "acme": {"extensions": {"100": {"number": "1001"}}}}}))
    return path


def run(config, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), "keys", *args], catch_exceptions=False)


def stored(config, secret: str):
    url = f"sqlite+aiosqlite:///{config.parent / 'data' / 'ari-callback.db'}"

    async def find():
        store = await CallbackStore.open(url)
        try:
            return await store.find_api_key(key_hash(secret))
        finally:
            await store.close()

    return asyncio.run(find())


def test_given_keys_create_then_the_secret_is_printed_once_and_stored_hashed(config):
    made = run(config, "create", "--client", "acme", "--name", "crm")
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("acb_") and stored(config, secret).client_id == "acme"
    listed = run(config, "list")
    assert "crm" in listed.stdout and secret[:12] in listed.stdout and secret not in listed.stdout


def test_given_a_read_only_extension_key_then_listed_as_json_with_its_limits(config):
    made = json.loads(run(config, "create", "--client", "acme", "--read-only", "--extension", "100", "--json").stdout)
    assert (made["scope"], made["extension"]) == ("read_only", "100") and made["key"].startswith("acb_")
    listed = json.loads(run(config, "list", "--client", "acme", "--json").stdout)
    assert [k["id"] for k in listed] == [made["id"]] and "key" not in listed[0]


def test_given_keys_revoke_then_the_key_is_refused_and_listed_only_with_revoked(config):
    made = json.loads(run(config, "create", "--json").stdout)
    revoked = run(config, "revoke", made["id"])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert stored(config, made["key"]) is None
    assert made["id"] not in run(config, "list").stdout and made["id"] in run(config, "list", "--revoked").stdout
    assert run(config, "revoke", "key_nope").exit_code == 1


@pytest.mark.parametrize("args", [["--client", "nobody"], ["--client", "acme", "--extension", "999"]])
def test_given_an_unknown_client_or_extension_then_no_key_and_exit_2(config, args):
    assert run(config, "create", *args).exit_code == 2
    assert run(config, "list", "--json").stdout.strip() == "[]"


def test_given_keys_create_operator_then_an_operator_key_of_no_client_and_limits_refused(config):
    made = run(config, "create", "--operator", "--name", "panel")
    key = stored(config, made.stdout.strip())
    assert made.exit_code == 0 and (key.scope, key.client_id) == ("operator", "*"), made.output
    assert "key of the operator" in made.stderr
    for limits in (["--client", "acme"], ["--read-only"], ["--extension", "100"]):
        refused = run(config, "create", "--operator", *limits)
        assert refused.exit_code == 2 and "operator key has no client" in refused.output
