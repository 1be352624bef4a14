"""``ari-callback clients|extensions|numbers|sounds``: the directory, on the store directly (the
operator's own tool: the server need not run, and it is the only way to change limits and
DIDs). Running instances see a change within ``instance.directory_poll_interval``.

What the configuration defines stays there: these commands store changes over it (a stored
item with the same id wins) and remove only what the store holds (ari_callback/directory.py).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from .api.directory import ExtensionBody, SoundBody
from .cli import _settings
from .cli_keys import _on_store
from .cli_keys import merged_directory as _merged
from .config import NAME
from .directory import ClientChanges, Directory
from .domain.request import NUMBER_RE


def _client(directory: Directory, client: str) -> Any:
    found = directory.settings.clients.get(client)
    if found is None:
        raise click.ClickException(f"no client {client!r} (make one with: ari-callback clients set {client})")
    return found


def _print(rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*("-" if row[c] is None else str(row[c]) for c in columns))
    Console(file=sys.stdout, width=160 if not sys.stdout.isatty() else None).print(table)


def _remove(ctx: click.Context, client: str, noun: str, item: Any, deleting: Callable[[Any], Any]) -> None:
    """Remove a stored item of CLIENT's directory; the configuration's are changed in its file."""
    if not _on_store(_settings(ctx), lambda store: deleting(store)(client, item)):
        raise click.ClickException(f"the store holds no {noun} {item!r} of {client!r}"
                                   " (one from the configuration file is changed there)")
    click.echo(f"{client}: {noun} {item} removed", err=True)


def _invalid(exc: ValidationError, hint: str) -> click.BadParameter:
    return click.BadParameter("; ".join(e["msg"] for e in exc.errors()), param_hint=hint)


# ------------------------------------------------------------------------------ clients
@click.group()
def clients() -> None:
    """Clients (tenants) and their limits: list, show, set, remove."""


def _client_row(client_id: str, own: Any, directory: Directory) -> dict[str, Any]:
    return {"id": client_id, "source": "store" if client_id in directory.stored.clients else "config",
            "max_concurrent_calls": own.max_concurrent_calls, "max_calls_per_second": own.max_calls_per_second,
            "asterisk": own.asterisk, "caller_id": own.caller_id.model_dump(),
            "destinations": own.destinations.model_dump(), "extensions": len(own.extensions),
            "external_numbers": len(own.external_numbers), "sounds": len(own.sounds)}


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_clients(ctx, as_json):
    """Every client, configured or stored, with its limits."""
    directory = _merged(_settings(ctx))
    rows = [_client_row(cid, own, directory) for cid, own in sorted(directory.settings.clients.items())]
    _print(rows, ["id", "source", "max_concurrent_calls", "max_calls_per_second", "asterisk", "extensions",
                  "external_numbers", "sounds"], as_json)


@clients.command("show")
@click.argument("client")
@click.pass_context
def show_client(ctx, client):
    """One client's settings as every instance sees them, as JSON."""
    directory = _merged(_settings(ctx))
    own = _client(directory, client)
    click.echo(json.dumps({**_client_row(client, own, directory), "extensions": {
        k: v.model_dump() for k, v in own.extensions.items()}, "external_numbers": own.external_numbers,
        "sounds": {str(k): v for k, v in own.sounds.items()}}, indent=2))


def _none_or(value: str | None) -> Any:
    return None if value is None or value.lower() == "none" else value


@clients.command("set")
@click.argument("client")
@click.option("--max-concurrent-calls", type=int, help="Callbacks unfinished at once.")
@click.option("--max-calls-per-second", help="Callbacks started per second over all instances; 'none': no limit.")
@click.option("--asterisk", help="Pin to the instances serving this Asterisk; 'none': any.")
@click.option("--caller-id-name")
@click.option("--caller-id-number")
@click.option("--allow", multiple=True, help="A destination pattern allowed (repeat; replaces the list).")
@click.option("--deny", multiple=True, help="A destination pattern denied (repeat; replaces the list).")
@click.pass_context
def set_client(ctx, client, max_concurrent_calls, max_calls_per_second, asterisk, caller_id_name,
               caller_id_number, allow, deny):
    """Make CLIENT, or change its settings: only the options given change."""
    if not re.fullmatch(NAME, client):
        raise click.BadParameter("a client id is 1-64 letters, digits or _.:@-", param_hint="CLIENT")
    settings = _settings(ctx)
    directory = _merged(settings)
    own = directory.settings.clients.get(client)
    given: dict[str, Any] = dict(directory.stored.clients.get(client, {}))
    if max_concurrent_calls is not None:
        given["max_concurrent_calls"] = max_concurrent_calls
    if max_calls_per_second is not None:
        given["max_calls_per_second"] = _none_or(max_calls_per_second)
    if asterisk is not None:
        given["asterisk"] = _none_or(asterisk)
    if caller_id_name is not None or caller_id_number is not None:
        before = own.caller_id if own is not None else None
        given["caller_id"] = {"name": caller_id_name if caller_id_name is not None else getattr(before, "name", ""),
                              "number": caller_id_number if caller_id_number is not None
                              else getattr(before, "number", "")}
    if allow or deny:
        given["destinations"] = {"allow": list(allow), "deny": list(deny)}
    try:
        changes = ClientChanges.model_validate(given)
    except ValidationError as exc:
        raise _invalid(exc, "options") from None
    stored = changes.model_dump(mode="json", exclude_unset=True)
    _on_store(settings, lambda store: store.put_client(client, stored, time.time()))
    click.echo(f"{client}: {'changed' if own is not None else 'made'}; running instances see it within "
               f"{settings.instance.directory_poll_interval:g} s", err=True)


@clients.command("remove")
@click.argument("client")
@click.pass_context
def remove_client(ctx, client):
    """Remove what the store holds of CLIENT (settings, extensions, numbers, sounds). A client of
    the configuration file keeps what the file says; any other is gone, and its keys revoked."""
    settings = _settings(ctx)
    gone_at = None if client in settings.clients else time.time()
    if not _on_store(settings, lambda store: store.delete_client(client, gone_at)):
        raise click.ClickException(f"the store holds nothing of client {client!r}")
    left = "keeps its configuration" if client in settings.clients else "is gone, and its keys are revoked"
    click.echo(f"{client}: stored settings removed; it {left}", err=True)


# --------------------------------------------------------------------------- extensions
@click.group()
def extensions() -> None:
    """A client's extensions: list, set, remove."""


@extensions.command("list")
@click.argument("client")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_extensions(ctx, client, as_json):
    directory = _merged(_settings(ctx))
    rows = [{"id": eid, **e.model_dump(), "source": directory.source(client, "extensions", eid)}
            for eid, e in sorted(_client(directory, client).extensions.items())]
    _print(rows, ["id", "number", "name", "type", "source"], as_json)


@extensions.command("set")
@click.argument("client")
@click.argument("extension_id")
@click.option("--number", required=True, help="Its number (caller id of its calls).")
@click.option("--name", default="", help="Its caller name.")
@click.option("--type", "kind", default="phone", show_default=True,
              type=click.Choice(["phone", "ivr", "queue", "group"]))
@click.pass_context
def set_extension(ctx, client, extension_id, number, name, kind):
    """Add or change extension EXTENSION_ID of CLIENT."""
    settings = _settings(ctx)
    _client(_merged(settings), client)
    if not re.fullmatch(NAME, extension_id):
        raise click.BadParameter("1-64 letters, digits or _.:@-", param_hint="EXTENSION_ID")
    try:
        body = ExtensionBody(number=number, name=name, type=kind)
    except ValidationError as exc:
        raise _invalid(exc, "--number/--name") from None
    _on_store(settings, lambda store: store.put_extension(client, extension_id, body.number, body.name, body.type,
                                                          time.time()))
    click.echo(f"{client}: extension {extension_id} stored", err=True)


@extensions.command("remove")
@click.argument("client")
@click.argument("extension_id")
@click.pass_context
def remove_extension(ctx, client, extension_id):
    _remove(ctx, client, "extension", extension_id, lambda store: store.delete_extension)


# ------------------------------------------------------------------------------ numbers
@click.group()
def numbers() -> None:
    """A client's external numbers (DIDs): list, add, remove."""


@numbers.command("list")
@click.argument("client")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_numbers(ctx, client, as_json):
    directory = _merged(_settings(ctx))
    rows = [{"number": n, "source": directory.source(client, "numbers", n)}
            for n in _client(directory, client).external_numbers]
    _print(rows, ["number", "source"], as_json)


@numbers.command("add")
@click.argument("client")
@click.argument("number")
@click.pass_context
def add_number(ctx, client, number):
    """Give CLIENT the DID NUMBER: its callbacks may show it as caller id."""
    settings = _settings(ctx)
    _client(_merged(settings), client)
    if not NUMBER_RE.fullmatch(number):
        raise click.BadParameter("digits, *, # and an optional leading +", param_hint="NUMBER")
    _on_store(settings, lambda store: store.add_number(client, number, time.time()))
    click.echo(f"{client}: number {number} stored", err=True)


@numbers.command("remove")
@click.argument("client")
@click.argument("number")
@click.pass_context
def remove_number(ctx, client, number):
    _remove(ctx, client, "number", number, lambda store: store.delete_number)


# ------------------------------------------------------------------------------- sounds
@click.group()
def sounds() -> None:
    """A client's sound library: list, set, remove."""


@sounds.command("list")
@click.argument("client")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_sounds(ctx, client, as_json):
    directory = _merged(_settings(ctx))
    rows = [{"id": sid, "media": " ".join(media) if not as_json else media,
             "source": directory.source(client, "sounds", sid)}
            for sid, media in sorted(_client(directory, client).sounds.items())]
    _print(rows, ["id", "media", "source"], as_json)


@sounds.command("set")
@click.argument("client")
@click.argument("sound_id", type=click.IntRange(1, 2**53 - 1))
@click.argument("media", nargs=-1, required=True)
@click.pass_context
def set_sound(ctx, client, sound_id, media):
    """Add or change sound SOUND_ID of CLIENT: the MEDIA URIs it plays, in turn."""
    settings = _settings(ctx)
    _client(_merged(settings), client)
    try:
        body = SoundBody(media=list(media))
    except ValidationError as exc:
        raise _invalid(exc, "MEDIA") from None
    _on_store(settings, lambda store: store.put_sound(client, sound_id, body.media, time.time()))
    click.echo(f"{client}: sound {sound_id} stored", err=True)


@sounds.command("remove")
@click.argument("client")
@click.argument("sound_id", type=click.IntRange(1, 2**53 - 1))
@click.pass_context
def remove_sound(ctx, client, sound_id):
    _remove(ctx, client, "sound", sound_id, lambda store: store.delete_sound)
