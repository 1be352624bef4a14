"""``ari-callback profiles|options|waitlist|schedule|callbacks``: customer callbacks from the
command line, through the running server's native API (so every check of the API applies)."""

from __future__ import annotations

import json

import click
import yaml

from .cli import _api, _parse_vars, with_api


def _show(data, as_json: bool, lines) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        for line in lines(data):
            click.echo(line)


@click.command()
@click.argument("sid", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the whole profile(s) as JSON.")
@click.option("--put", "put", type=click.File("r"), metavar="FILE",
              help="Create or replace profile SID from a YAML or JSON file (the config's profiles.<sid> shape).")
@click.option("--delete", is_flag=True, help="Delete profile SID.")
@with_api
@click.pass_context
def profiles(ctx, sid, as_json, put, delete, api_url, api_key):
    """List the call-back profiles, show profile SID, or create, replace or delete it."""
    api = _api(ctx, api_url, api_key)
    if (put or delete) and not sid:
        raise click.UsageError("--put and --delete need the profile's SID")
    if delete:
        api.call("DELETE", f"/v1/profiles/{sid}")
        click.echo(f"{sid}: deleted")
        return
    if put:
        try:
            body = yaml.safe_load(put)
        except yaml.YAMLError as exc:
            raise click.BadParameter(f"not YAML or JSON: {exc}", param_hint="--put") from None
        api.call("PUT", f"/v1/profiles/{sid}", json=body)
    found = [api.call("GET", f"/v1/profiles/{sid}")] if sid else api.call("GET", "/v1/profiles")
    _show(found, as_json, lambda ps: (
        f"{p['sid']}  {p['status']:<6}  {p['name']}  options={len(p['options'])} questions={len(p['questions'])} "
        f"sms={p['sms']} scheduling={p['scheduling']} tz={p['timezone']}" for p in ps))


@click.command()
@click.argument("profile")
@click.option("--pause", "pause", metavar="OPTION", help="Pause an option: no new requests, its waitlist waits.")
@click.option("--close", "close", metavar="OPTION", help="Close an option.")
@click.option("--open", "reopen", metavar="OPTION", help="Make an option active again.")
@with_api
@click.pass_context
def options(ctx, profile, pause, close, reopen, api_url, api_key):
    """List PROFILE's call options (queues), or change one's status."""
    api = _api(ctx, api_url, api_key)
    for option, status in ((pause, "paused"), (close, "closed"), (reopen, "active")):
        if option:
            api.call("PUT", f"/v1/options/{option}/status", json={"status": status})
            click.echo(f"{option}: {status}")
    found = api.call("GET", f"/v1/profiles/{profile}")["options"]
    for sid, o in sorted(found.items(), key=lambda item: (item[1]["position"], item[0])):
        click.echo(f"{sid}  {o['status']:<6}  {o['name']}  queue={o['queue']} mode={o['mode']} "
                   f"capacity={o['capacity']} hours={json.dumps(o['hours'])}")


@click.command()
@click.argument("profile")
@click.argument("option")
@click.option("--json", "as_json", is_flag=True)
@with_api
@click.pass_context
def waitlist(ctx, profile, option, as_json, api_url, api_key):
    """The callbacks waiting for OPTION, in order, with position and estimated wait."""
    entries = _api(ctx, api_url, api_key).call("GET", f"/v1/profiles/{profile}/options/{option}/waitlist")
    _show(entries, as_json, lambda es: (
        f"{e['position'] or '-':>3}  {e['id']}  {e['number']:<16} {e['status']:<9} "
        f"wait={e['estimated_wait'] if e['estimated_wait'] is not None else '-'}s due={e['due_at']}" for e in es))


@click.command()
@click.argument("profile")
@click.argument("option")
@click.option("--json", "as_json", is_flag=True)
@with_api
@click.pass_context
def schedule(ctx, profile, option, as_json, api_url, api_key):
    """The slots a scheduled callback on OPTION can be booked for."""
    slots = _api(ctx, api_url, api_key).call("GET", f"/v1/profiles/{profile}/options/{option}/schedule")
    _show(slots, as_json, lambda ss: (f"{s['start']} - {s['end']}  available={s['available']}" for s in ss))


@click.group()
def callbacks() -> None:
    """Callbacks: request a customer callback, find a number's, list, show or cancel any."""


@callbacks.command("request")
@click.argument("option")
@click.argument("number")
@click.option("--answer", "answers", multiple=True, help="QUESTION=ANSWER (repeatable).")
@click.option("--sms", is_flag=True, help="The customer opts into SMS updates.")
@click.option("--at", "start_at", help="Schedule it: ISO 8601 start with an offset (see `schedule`).")
@click.option("--timezone", help="The customer's IANA time zone.")
@with_api
@click.pass_context
def request_callback(ctx, option, number, answers, sms, start_at, timezone, api_url, api_key):
    """Ask for a callback to NUMBER on call option OPTION; prints its id, position and wait."""
    body = {"option": option, "number": number, "answers": _parse_vars(answers, "--answer"), "sms": sms}
    body.update({k: v for k, v in {"start_at": start_at, "timezone": timezone}.items() if v})
    made = _api(ctx, api_url, api_key).call("POST", "/v1/customer-callbacks", json=body)
    note = "" if made["created"] else "  (already pending)"
    click.echo(f"{made['id']}  {made['status']}  position={made['position'] or '-'} "
               f"wait={made['estimated_wait'] if made['estimated_wait'] is not None else '-'}s{note}")


@callbacks.command("find")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@with_api
@click.pass_context
def find(ctx, number, as_json, api_url, api_key):
    """A customer's callbacks, newest first."""
    found = _api(ctx, api_url, api_key).call("GET", "/v1/customer-callbacks", params={"number": number})
    _show(found, as_json, lambda es: (
        f"{e['id']}  {e['status']:<9}  position={e['position'] or '-'} due={e['due_at']}" for e in es))


COMMANDS = (profiles, options, waitlist, schedule, callbacks)
