"""docker-compose.yml as an operator runs it (Debian's docker-compose): the app's image, the
bundled Asterisk and PostgreSQL, each on 127.0.0.1, come up; the app migrates PostgreSQL, gets
ready and completes a real callback; everything goes away with ``down -v``."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time

import httpx

from ari_callback.bundled import REPO

PROJECT = "aricb-compose-test"
PORTS = {"ARI_CB_ASTERISK_HTTP_PORT": "38488", "ARI_CB_ASTERISK_SIP_PORT": "35460", "ARI_CB_PG_PORT": "38432",
         "ARI_CB_HTTP_PORT": "38480"}
API = f"http://127.0.0.1:{PORTS['ARI_CB_HTTP_PORT']}"


def _compose(*args: str, timeout: float = 300) -> str:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: make setup installs Debian's"
    done = subprocess.run([binary, "-p", PROJECT, "-f", str(REPO / "docker-compose.yml"), *args], cwd=REPO,
                          env={**os.environ, **PORTS}, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"docker-compose {args[0]}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def _build_images() -> None:
    for script in ("build-app-image.sh", "build-postgres-image.sh"):
        done = subprocess.run(["bash", str(REPO / "docker" / script)], capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{script}: {done.stdout[-1500:]}\n{done.stderr[-1500:]}"


async def _ready(http: httpx.AsyncClient, timeout: float = 120) -> None:
    deadline, last = time.monotonic() + timeout, "no answer"
    while time.monotonic() < deadline:
        try:
            answer = await http.get("/readyz")
            if answer.status_code == 200:
                return
            last = answer.text
        except httpx.TransportError as exc:
            last = repr(exc)
        await asyncio.sleep(1)
    raise AssertionError(f"the composed app was not ready in {timeout} s: {last}\n{_compose('logs', '--tail=40')}")


async def test_given_the_compose_file_then_asterisk_postgresql_and_the_app_serve_a_callback():
    _build_images()
    _compose("down", "-v", "--remove-orphans")   # what a killed run may have left
    try:
        _compose("up", "-d")
        async with httpx.AsyncClient(base_url=API, headers={"X-API-Key": "demo-key"}, timeout=10) as http:
            await _ready(http)
            made = await http.post("/v1/callbacks", json={"src": ["1001"], "dst": "6001"})
            assert made.status_code == 201, made.text
            deadline = time.monotonic() + 30
            while not (record := (await http.get(f"/v1/callbacks/{made.json()['id']}")).json())["finished"]:
                assert time.monotonic() < deadline, record
                await asyncio.sleep(0.3)
            health = (await http.get("/health")).json()
        services = _compose("ps", "--services", "--filter", "status=running").split()
    finally:
        _compose("down", "-v", "--remove-orphans")
    assert (record["status"], record["status_detail"]) == ("completed", "answered"), record
    assert health["store_ok"] and sorted(services) == ["app", "asterisk", "postgres"]
