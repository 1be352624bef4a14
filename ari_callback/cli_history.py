"""``ari-callback history``: the call history from ``GET /v1/callbacks``, as a table for people,
JSON lines for scripts, or CSV for a spreadsheet, every page of it.

Exit codes (as for every command): 0 done, 1 the API or the configuration refused (the message
says why), 2 a wrong option.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

import click
from rich.console import Console
from rich.table import Table

from .cli import Api, _api, with_api

STATUSES = ("queued", "scheduled", "dialling", "completed", "failed", "cancelled")
COLUMNS = ("id", "created_at", "status", "status_detail", "ended_by", "src", "dst", "option", "extension",
           "connected_at", "ended_at", "duration", "attempts", "api")


def _pages(api: Api, params: dict[str, Any], most: int) -> Iterator[dict]:
    """Each callback of the query, newest first, at most ``most`` (0: all), page after page."""
    given = 0
    while True:
        page = api.call("GET", "/v1/callbacks", params={**params, "limit": min(500, most - given) if most else 500})
        for row in page["callbacks"]:
            yield row
            given += 1
        if not page["next"] or (most and given >= most):
            return
        params = {**params, "cursor": page["next"]}


def _cell(row: dict, column: str) -> str:
    value = row.get(column)
    if isinstance(value, list):
        return " ".join(value)
    return "" if value is None else str(value)


def _write_csv(rows: Iterator[dict], out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for count, row in enumerate(rows, start=1):
        writer.writerow([_cell(row, column) for column in COLUMNS])
        if count % 500 == 0:
            click.echo(f"  {count} callbacks exported...", err=True)
    return count


def _table(rows: list[dict]) -> Table:
    table = Table("created (UTC)", "id", "status", "outcome", "origins", "destination", "talk s", "tries",
                  box=None, header_style="bold")
    for row in rows:
        table.add_row((row["created_at"] or "")[:19].replace("T", " "), row["id"][:8], row["status"],
                      row["status_detail"], _cell(row, "src"), _cell(row, "dst"), _cell(row, "duration"),
                      str(row["attempts"]))
    return table


@click.command()
@click.option("--since", help="Created at or after: ISO 8601 with an offset (2026-12-01T00:00:00Z).")
@click.option("--until", help="Created before (same form).")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES), help="Repeatable.")
@click.option("--number", help="A number that was rung (or a customer callback's number).")
@click.option("--extension", help="Made through this extension (seed 002).")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True, help="At most this many; 0: all.")
@click.option("--csv", "csv_to", type=click.File("w"), help="Write CSV to FILE ('-': standard output).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, for scripts.")
@with_api
@click.pass_context
def history(ctx, since, until, statuses, number, extension, limit, csv_to, as_json, api_url, api_key):
    """The call history: newest first, filtered by time, status, number and extension."""
    params = {k: v for k, v in {"since": since, "until": until, "number": number, "extension": extension}.items() if v}
    if statuses:
        params["status"] = ",".join(statuses)
    rows = _pages(_api(ctx, api_url, api_key), params, limit)
    if csv_to is not None:
        count = _write_csv(rows, csv_to)
        click.echo(f"{count} callbacks", err=True)
    elif as_json:
        for row in rows:
            click.echo(json.dumps(row))
    else:
        found = list(rows)
        Console(file=sys.stdout, width=160 if not sys.stdout.isatty() else None).print(_table(found))
        click.echo(f"{len(found)} callbacks", err=True)
