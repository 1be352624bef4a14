"""Several ``ari-callback serve`` processes sharing one database: the multi-instance harness.

Each instance is a real server in its own process, with its own Stasis app, instance id and
HTTP port, pointed at a real PostgreSQL and at the bundled Asterisk (or a second one).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import yaml

from .conftest import API_KEY, make_settings
from .test_cli import _free_port
from .test_restart import Server

LEASE_SECONDS = 3.0


def instance_config(asterisk, tmp_path: Path, name: str, database_url: str, *,
                    asterisk_name: str = "default", clients: dict | None = None) -> tuple[Path, int]:
    """A config file for instance ``name``; returns it and the instance's HTTP port."""
    port = _free_port()
    data = make_settings(asterisk, tmp_path / name).model_dump(mode="json", exclude={"api_key", "fonolo_accounts"})
    data["ari"].update(app=f"cb-{name}", password="callback-secret")
    data["api_keys"] = [{"key": API_KEY, "client": "default"}, {"key": "other-client-key", "client": "other"}]
    data["http"]["port"] = port
    data["database_url"] = database_url
    data["instance"] = {"id": name, "asterisk": asterisk_name, "lease_seconds": LEASE_SECONDS}
    for client, overrides in (clients or {}).items():
        data["clients"].setdefault(client, {}).update(overrides)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, port


async def start_instance(asterisk, tmp_path: Path, name: str, database_url: str, **options) -> Server:
    config, port = instance_config(asterisk, tmp_path, name, database_url, **options)
    server = Server(config, port)
    await server.start()
    return server


async def place(server: Server, headers: dict | None = None, **body) -> httpx.Response:
    return await server.http.post("/v1/callbacks", json=body, headers=headers)


async def all_final(server: Server, callback_ids: list[str], timeout: float,
                    headers: dict | None = None) -> dict[str, dict]:
    """Every callback's record once all are finished; fails with the stragglers' states."""
    deadline = time.monotonic() + timeout

    async def fetch(callback_id: str) -> dict:
        return (await server.http.get(f"/v1/callbacks/{callback_id}", headers=headers)).json()

    pending, done = list(callback_ids), {}
    while pending:
        records = await asyncio.gather(*(fetch(cid) for cid in pending))
        for cid, record in zip(pending, records, strict=True):
            if record.get("finished"):
                done[cid] = record
        pending = [cid for cid in pending if cid not in done]
        if pending and time.monotonic() > deadline:
            states = {cid: (await fetch(cid)).get("state") for cid in pending[:10]}
            raise AssertionError(f"{len(pending)} callbacks not finished after {timeout} s: {states}")
        await asyncio.sleep(0.25)
    return done
