"""``ari-callback webhooks``: a callback's webhook delivery log, and replaying a delivery, through
the API (``/v1/callbacks/{id}/deliveries``, ``/v1/deliveries/{id}/replay``)."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from .cli import _api, with_api


@click.group()
def webhooks() -> None:
    """Webhook deliveries: a callback's log, or replay one."""


@webhooks.command("deliveries")
@click.argument("callback_id")
@click.option("--json", "as_json", is_flag=True, help="The log as the API gives it.")
@with_api
@click.pass_context
def deliveries(ctx, callback_id, as_json, api_url, api_key):
    """The deliveries of CALLBACK_ID's events to the client's webhooks, oldest event first."""
    log = _api(ctx, api_url, api_key).call("GET", f"/v1/callbacks/{callback_id}/deliveries")
    if as_json:
        click.echo(json.dumps(log, indent=2))
        return
    table = Table("id", "event", "type", "webhook", "status", "tries", "last", box=None, header_style="bold")
    for d in log["deliveries"]:
        last = str(d["last_status_code"] or d["last_error"] or "-")
        table.add_row(str(d["id"]), str(d["event_id"]), d["event_type"], d["webhook_id"], d["status"],
                      str(d["attempts"]), last)
    Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160).print(table)


@webhooks.command("replay")
@click.argument("delivery_id", type=int)
@with_api
@click.pass_context
def replay(ctx, delivery_id, api_url, api_key):
    """Send delivery DELIVERY_ID again (the same body, a new signature)."""
    again = _api(ctx, api_url, api_key).call("POST", f"/v1/deliveries/{delivery_id}/replay")
    click.echo(f"{again['id']}  {again['status']}  next try {again['next_try_at'] or 'now'}")
