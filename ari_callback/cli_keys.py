"""``ari-callback keys create|list|revoke``: API keys, on the store directly (the server need not
run, and no key is needed to make the first one). A new key is printed once; keep it then."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from .cli import _settings
from .config import Settings
from .directory import Directory
from .keys import OPERATOR, OPERATOR_CLIENT, SCOPES, NewKey, StoredKey, make_key
from .store import CallbackStore, StoreError

T = TypeVar("T")


def _on_store(settings: Settings, work: Callable[[CallbackStore], Awaitable[T]]) -> T:
    async def run() -> T:
        store = await CallbackStore.open(settings.db_url)
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except StoreError as exc:
        raise click.ClickException(f"the store: {exc}") from None


def merged_directory(settings: Settings) -> Directory:
    """The directory as every instance sees it: the configuration with the store's changes
    (``settings.clients`` becomes that merged view)."""
    directory = Directory(settings, None)

    async def read(store: CallbackStore) -> None:
        directory.store = store
        await directory.refresh()

    _on_store(settings, read)
    return directory


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) if epoch is not None else "-"


def _as_dict(key: StoredKey) -> dict[str, Any]:
    return {"id": key.id, "client": key.client_id, "name": key.name, "prefix": key.prefix, "scope": key.scope,
            "extension": key.extension, "source": key.source, "created_at": key.created_at,
            "last_used_at": key.last_used_at, "revoked_at": key.revoked_at}


def _line(key: StoredKey) -> str:
    limits = key.scope + (f" ext={key.extension}" if key.extension else "")
    state = f"revoked {_when(key.revoked_at)}" if key.revoked_at else f"last used {_when(key.last_used_at)}"
    return f"{key.id:<22} {key.client_id:<12} {key.prefix:<14} {limits:<20} {state:<28} {key.name}"


@click.group()
def keys() -> None:
    """API keys: create (shown once), list, revoke."""


@keys.command("create")
@click.option("--client", "client", default="default", show_default=True, help="The client the key acts for.")
@click.option("--name", default="", help="What the key is for.")
@click.option("--read-only", is_flag=True, help="Reads only: 403 forbidden on writes.")
@click.option("--extension", help="An extension user's key: seed 002's routes of this extension only.")
@click.option("--operator", is_flag=True, help="The operator's key: manages every client (/v1/clients), acts for none.")
@click.option("--json", "as_json", is_flag=True, help="Print the key and its record as JSON.")
@click.pass_context
def create(ctx, client, name, read_only, extension, operator, as_json):
    """Make a key for CLIENT (or the operator's) and print it: shown this once, stored only hashed."""
    settings = _settings(ctx)
    if operator:
        if read_only or extension is not None or ctx.get_parameter_source("client").name != "DEFAULT":
            raise click.BadParameter("an operator key has no client, extension or read-only limit",
                                     param_hint="--operator")
        _show(make_key(OPERATOR_CLIENT, time.time(), name=name, scope=OPERATOR), settings, as_json)
        return
    merged_directory(settings)
    if client not in settings.clients:
        raise click.BadParameter(f"no client {client!r} in the configuration or the store", param_hint="--client")
    if extension is not None and extension not in settings.clients[client].extensions:
        raise click.BadParameter(f"client {client!r} has no extension {extension!r}", param_hint="--extension")
    made = make_key(client, time.time(), name=name, scope=SCOPES[1] if read_only else SCOPES[0], extension=extension)
    _show(made, settings, as_json)


def _show(made: NewKey, settings: Settings, as_json: bool) -> None:
    """Store the new key, then print it: this once."""
    _on_store(settings, lambda store: store.add_api_key(made.stored))
    if as_json:
        click.echo(json.dumps({**_as_dict(made.stored), "key": made.secret}, indent=2))
        return
    click.echo(made.secret)
    whose = "the operator" if made.stored.scope == OPERATOR else made.stored.client_id
    click.echo(f"{made.stored.id}: {made.stored.scope} key of {whose}; it is not shown again", err=True)


@keys.command("list")
@click.option("--client", "client", help="Only this client's keys.")
@click.option("--revoked", is_flag=True, help="Include revoked keys.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_keys(ctx, client, revoked, as_json):
    """The keys in the store (never their secrets); the configuration's are in its api_keys."""
    settings = _settings(ctx)
    found = _on_store(settings, lambda store: store.list_api_keys(client, revoked=revoked))
    if as_json:
        click.echo(json.dumps([_as_dict(k) for k in found], indent=2))
        return
    for key in found:
        click.echo(_line(key))


@keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def revoke(ctx, key_id):
    """Revoke key KEY_ID: every instance refuses it from its next request."""
    settings = _settings(ctx)
    revoked = _on_store(settings, lambda store: store.revoke_api_key(key_id, time.time()))
    if revoked is None:
        raise click.ClickException(f"no API key {key_id!r} in the store")
    click.echo(f"{key_id}: revoked {_when(revoked.revoked_at)}")
