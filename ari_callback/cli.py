"""``ari-callback``: serve, place and follow callbacks, check the setup, run the bundled Asterisk."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import click
import httpx

from .config import ConfigError, Settings, load_settings
from .timeline_text import format_entry

FINISHED = {"completed", "failed", "cancelled"}


def _settings(ctx: click.Context) -> Settings:
    try:
        return load_settings(ctx.obj["config"])
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              envvar="ARI_CALLBACK_CONFIG", help="YAML configuration file (env ARI_CALLBACK_CONFIG).")
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """A callback server for Asterisk, driven over ARI."""
    ctx.ensure_object(dict)["config"] = config


@main.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run the Stasis app and the REST API in one process (SIGTERM ends calls cleanly)."""
    from .logs import setup_logging
    from .service import serve as run
    settings = _settings(ctx)
    setup_logging(settings.log_level, settings.log_format, settings.secrets())
    sys.exit(asyncio.run(run(settings)))


# ----------------------------------------------------------------------------- API client
class Api:
    def __init__(self, url: str, key: str):
        self.http = httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=10)

    def call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach the API at {self.http.base_url}: {exc}") from None
        body = response.json() if response.content else {}
        if response.status_code >= 400:
            error_id, message = body.get("error_id", ""), body.get("message", body)
            raise click.ClickException(f"{response.status_code} {error_id}: {message}")
        return body


def _api(ctx: click.Context, url: str | None, key: str | None) -> Api:
    settings = _settings(ctx)
    keys = list(settings.keys())
    key = key or os.environ.get("ARI_CALLBACK_API_KEY") or (keys[0] if keys else None)
    if not key:
        raise click.ClickException("no API key: pass --api-key or set ARI_CALLBACK_API_KEY")
    return Api(url or f"http://{settings.http.host}:{settings.http.port}", key)


api_options = [click.option("--api-url", help="REST API base URL (default: from the config)."),
               click.option("--api-key", help="API key (default: env ARI_CALLBACK_API_KEY or the config's).")]


def with_api(f):
    for option in reversed(api_options):
        f = option(f)
    return f


def _parse_vars(pairs: tuple[str, ...], hint: str = "--var") -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint=hint)
        out[name] = value
    return out


@main.command()
@click.argument("numbers", nargs=-1, required=True)
@click.option("--wait", is_flag=True, help="Follow the call and print its timeline; exit 0 only if completed.")
@click.option("--wait-for-pickup", type=int, help="Ring limit in seconds.")
@click.option("--call-duration", type=int, help="Maximum call duration in seconds.")
@click.option("--dtmf", "dst_dtmf", help="Digits sent to the destination on answer (0-9*#wW).")
@click.option("--var", "variables", multiple=True, help="Channel variable NAME=VALUE (repeatable).")
@click.option("--options", "extra", help="More options as a JSON object (any field of the API).")
@with_api
@click.pass_context
def call(ctx, numbers, wait, wait_for_pickup, call_duration, dst_dtmf, variables, extra, api_url, api_key):
    """Place a callback: NUMBERS are the origins, then the destination (SRC... DST)."""
    if len(numbers) < 2:
        raise click.UsageError("give at least one origin and the destination: SRC... DST")
    body: dict = {"src": list(numbers[:-1]), "dst": numbers[-1]}
    options = {"wait_for_pickup": wait_for_pickup, "call_duration": call_duration, "dst_dtmf": dst_dtmf}
    body.update({k: v for k, v in options.items() if v is not None})
    if variables:
        body["variables"] = _parse_vars(variables)
    if extra:
        try:
            body.update(json.loads(extra))
        except (json.JSONDecodeError, TypeError, ValueError) as exc:
            raise click.BadParameter(f"not a JSON object: {exc}", param_hint="--options") from None
    api = _api(ctx, api_url, api_key)
    created = api.call("POST", "/v1/callbacks", json=body)
    click.echo(created["id"])
    if wait:
        sys.exit(0 if follow(api, created["id"]) == "completed" else 2)


def follow(api: Api, call_id: str, timeout: float = 900.0, echo=click.echo) -> str:
    """Print the call's timeline as it grows; returns the final status."""
    shown, deadline = 0, time.monotonic() + timeout
    while True:
        view = api.call("GET", f"/v1/callbacks/{call_id}")
        for entry in view["timeline"][shown:]:
            echo(format_entry(entry))
        shown = len(view["timeline"])
        if view["finished"] or time.monotonic() > deadline:
            echo(f"status: {view['status']} ({view['status_detail'] or '-'})"
                 + (f", ended by {view['ended_by']}" if view["ended_by"] else "")
                 + (f", talk time {view['duration']:.1f} s" if view.get("duration") is not None else ""))
            return view["status"]
        time.sleep(0.25)


@main.command()
@click.argument("call_id")
@click.option("--json", "as_json", is_flag=True, help="Print the whole record as JSON.")
@with_api
@click.pass_context
def status(ctx, call_id, as_json, api_url, api_key):
    """Show a callback's status, legs and timeline."""
    view = _api(ctx, api_url, api_key).call("GET", f"/v1/callbacks/{call_id}")
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    click.echo(f"{view['id']}  {view['status']}  {view['status_detail']}")
    for leg in view["legs"]:
        click.echo(f"  {leg['role']:<4} {leg['number']:<12} answered={leg['answered_at'] or '-'} "
                   f"cause={leg['cause']} {leg['cause_txt']} sip={leg['sip_code'] or '-'}")
    for entry in view["timeline"]:
        click.echo(format_entry(entry))


@main.command()
@click.argument("call_id")
@with_api
@click.pass_context
def cancel(ctx, call_id, api_url, api_key):
    """Cancel a callback that is still ringing or connected."""
    click.echo(_api(ctx, api_url, api_key).call("POST", f"/v1/callbacks/{call_id}/cancel")["status"])


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the configuration and reach ARI with it."""
    settings = _settings(ctx)
    click.echo(f"config: ok ({len(settings.clients)} client(s), {len(settings.keys())} API key(s))")
    from .checks import check_ari
    ok, message = asyncio.run(check_ari(settings))
    click.echo(message)
    if not ok:
        sys.exit(1)


from .cli_asterisk import asterisk, demo  # noqa: E402  (the commands that need the bundled Asterisk)

main.add_command(asterisk)
main.add_command(demo)

from .cli_customers import COMMANDS  # noqa: E402  (customer callbacks, through the API)

for command in COMMANDS:
    main.add_command(command)

from .cli_keys import keys  # noqa: E402  (API keys, on the store directly)

main.add_command(keys)

from .cli_directory import clients, extensions, numbers, sounds  # noqa: E402  (the directory, on the store)

for command in (clients, extensions, numbers, sounds):
    main.add_command(command)

from .cli_history import history  # noqa: E402  (the call history, through the API)

main.add_command(history)

from .cli_webhooks import webhooks  # noqa: E402  (webhook deliveries, through the API)

main.add_command(webhooks)

# The operator's callbacks group holds the whole life of a callback: request, find, and these.
from .cli_customers import callbacks as callbacks_group  # noqa: E402

callbacks_group.add_command(history, name="list")
callbacks_group.add_command(status, name="show")
callbacks_group.add_command(cancel, name="cancel")
