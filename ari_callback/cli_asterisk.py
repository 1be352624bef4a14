"""The commands that drive the bundled Asterisk: ``asterisk up|down|status|logs`` and ``demo``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from .bundled import DATA, BundledAsterisk, BundledError
from .config import ConfigError, load_settings

DEMO_CONFIG = DATA / "docker" / "demo.yaml"


def _bundled(name: str, http_port: int, sip_port: int) -> BundledAsterisk:
    return BundledAsterisk(name=name, http_port=http_port, sip_port=sip_port)


@click.group()
@click.option("--name", default="ari-callback-asterisk", show_default=True, help="Container name.")
@click.option("--http-port", default=8088, show_default=True, help="ARI/HTTP port on 127.0.0.1.")
@click.option("--sip-port", default=5060, show_default=True, help="PJSIP UDP port on 127.0.0.1.")
@click.pass_context
def asterisk(ctx: click.Context, name: str, http_port: int, sip_port: int) -> None:
    """The bundled Asterisk 22 in Docker (host network, 127.0.0.1 only)."""
    ctx.obj["bundled"] = _bundled(name, http_port, sip_port)


def _run(action) -> None:
    try:
        action()
    except BundledError as exc:
        raise click.ClickException(str(exc)) from None


@asterisk.command()
@click.pass_context
def up(ctx: click.Context) -> None:
    """Start (or restart) it and wait until ARI answers."""
    bundled: BundledAsterisk = ctx.obj["bundled"]
    _run(bundled.up)
    click.echo(f"Asterisk is up: ARI at {bundled.url} (user {bundled.username!r})")


@asterisk.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop and remove it."""
    _run(ctx.obj["bundled"].down)
    click.echo("Asterisk is down")


@asterisk.command("status")
@click.pass_context
def status_(ctx: click.Context) -> None:
    """Say whether it runs."""
    try:
        click.echo(ctx.obj["bundled"].status())
    except BundledError as exc:
        raise click.ClickException(str(exc)) from None


@asterisk.command()
@click.option("--tail", default=100, show_default=True)
@click.pass_context
def logs(ctx: click.Context, tail: int) -> None:
    """Print its console log."""
    try:
        click.echo(ctx.obj["bundled"].logs(tail=tail))
    except BundledError as exc:
        raise click.ClickException(str(exc)) from None


@asterisk.command("conf")
@click.option("--to", "target", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write the drop-in to (made if missing; existing files are kept).")
@click.option("--force", is_flag=True, help="Overwrite files that exist already.")
def conf(target: Path, force: bool) -> None:
    """Write the Asterisk drop-in configuration (asterisk-conf/, without the test-only files) to
    merge into your own Asterisk: what an installed package offers instead of a checkout."""
    source = DATA / "asterisk-conf"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if "_test" in path.name or not path.is_file():
            continue   # the bundled test Asterisk's phones and queues: not for production
        destination = target / path.name
        if destination.exists() and not force:
            click.echo(f"kept     {destination} (exists; --force overwrites)")
            continue
        destination.write_bytes(path.read_bytes())
        click.echo(f"written  {destination}")


@click.command()
@click.option("--src", default="1001", show_default=True, help="Origin: a 1NNN phone answers at once.")
@click.option("--dst", default="6003", show_default=True, help="Destination: 6NNS answers, hangs up after S s.")
@click.option("--keep", is_flag=True, help="Leave the bundled Asterisk running afterwards.")
@click.pass_context
def demo(ctx: click.Context, src: str, dst: str, keep: bool) -> None:
    """Start the bundled Asterisk and the app, place one callback, show its timeline."""
    from .demo import run_demo
    try:
        settings = load_settings(ctx.obj.get("config") or DEMO_CONFIG)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    bundled = _bundled("ari-callback-asterisk", 8088, 5060)
    click.echo("== starting the bundled Asterisk (Docker, host network, 127.0.0.1)")
    _run(bundled.up)
    try:
        ok = asyncio.run(run_demo(settings, src, dst))
    finally:
        if not keep:
            _run(bundled.down)
            click.echo("== Asterisk stopped")
    sys.exit(0 if ok else 1)
