"""``ari-callback demo``: one callback on the bundled Asterisk, its timeline shown as it happens.

It runs the real server in this process (ARI + REST on one loop), talks to it over HTTP
like any client, and checks the outcome: the origin answered, the destination answered and
hung up, the origin was hung up, the bridge is gone.
"""

from __future__ import annotations

import asyncio
import time

import click
import httpx
import uvicorn

from .api.app import create_app
from .config import Settings
from .service import _Server, runtime
from .timeline_text import format_entry


async def _start_server(settings: Settings) -> tuple[_Server, asyncio.Task]:
    app = create_app(settings, runtime)
    server = _Server(uvicorn.Config(app, host=settings.http.host, port=settings.http.port,
                                    log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise click.ClickException(f"the server did not start on {settings.http.host}:{settings.http.port}")
        await asyncio.sleep(0.1)
    return server, task


async def _wait_connected(http: httpx.AsyncClient) -> None:
    for _ in range(100):
        health = (await http.get("/health")).json()
        if health["asterisk_connected"]:
            return
        await asyncio.sleep(0.1)
    raise click.ClickException("the app did not connect to Asterisk's ARI")


async def _follow(http: httpx.AsyncClient, call_id: str) -> dict:
    shown = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        view = (await http.get(f"/v1/callbacks/{call_id}")).json()
        for entry in view["timeline"][shown:]:
            click.echo(format_entry(entry))
        shown = len(view["timeline"])
        if view["finished"]:
            return view
        await asyncio.sleep(0.2)
    raise click.ClickException("the callback did not finish within 120 s")


def _verdict(view: dict) -> list[str]:
    """What was expected of the demo call and did not happen."""
    problems = []
    if view["status"] != "completed":
        problems.append(f"status {view['status']} ({view['status_detail']}), expected completed")
    roles = {leg["role"]: leg for leg in view["legs"] if leg["answered_at"]}
    for role in ("src", "dst"):
        if role not in roles:
            problems.append(f"no {role} leg answered")
    if view["ended_by"] != "dst":
        problems.append(f"ended by {view['ended_by'] or 'nobody'}, expected the destination")
    if any(leg["ended_at"] is None for leg in view["legs"]):
        problems.append("a leg was never destroyed")
    return problems


async def run_demo(settings: Settings, src: str, dst: str) -> bool:
    server, task = await _start_server(settings)
    key = next(iter(settings.keys()))
    base = f"http://{settings.http.host}:{settings.http.port}"
    try:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
            await _wait_connected(http)
            click.echo(f"== app connected; POST /v1/callbacks src=[{src}] dst={dst}")
            created = await http.post("/v1/callbacks", json={"src": [src], "dst": dst})
            if created.status_code != 201:
                raise click.ClickException(f"callback refused: {created.status_code} {created.text}")
            call_id = created.json()["id"]
            click.echo(f"== callback {call_id}")
            view = await _follow(http, call_id)
    finally:
        server.should_exit = True
        await task
    click.echo(f"== {view['status']} ({view['status_detail']}), ended by {view['ended_by']}, "
               f"talk time {view['duration']} s")
    for leg in view["legs"]:
        click.echo(f"   {leg['role']:<4} {leg['number']:<6} cause {leg['cause']} ({leg['cause_txt']})")
    problems = _verdict(view)
    for problem in problems:
        click.echo(f"!! {problem}", err=True)
    click.echo("== demo OK" if not problems else "== demo FAILED")
    return not problems
