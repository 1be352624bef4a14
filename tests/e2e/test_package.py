"""The package as a user gets it: a wheel built from this tree and installed into a fresh virtual
environment, run from a directory with no checkout in sight. It carries the Asterisk drop-in,
migrates its own database and serves a real callback on the real Asterisk."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ari_callback.bundled import REPO

from .conftest import API_KEY
from .test_cli import _config, _free_port, _wait_listening


def _run(*args: str | Path, cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def _wheel(tmp_path: Path) -> Path:
    """Build from the tracked files only (what a release would contain), in a copy, so the
    build leaves nothing in the checkout."""
    source = tmp_path / "source"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((REPO / name).read_bytes())
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", source, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("ari_callback-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    _run(venv / "bin" / "pip", "install", "-q", f"{wheel}[postgres]", cwd=tmp_path)
    return venv / "bin"


async def test_given_the_wheel_in_a_fresh_venv_then_it_writes_the_drop_in_and_serves_a_callback(
        asterisk, tmp_path):
    bin_dir = _fresh_venv(tmp_path, _wheel(tmp_path))
    where = _run(bin_dir / "python", "-c", "import ari_callback, ari_callback.bundled as b; "
                 "print(ari_callback.__file__); print(b.DATA)", cwd=tmp_path).split()
    assert where[0].startswith(str(tmp_path / "venv")) and where[1] == str(tmp_path / "venv" / "share" / "ari-callback")

    written = _run(bin_dir / "ari-callback", "asterisk", "conf", "--to", tmp_path / "conf", cwd=tmp_path)
    names = sorted(p.name for p in (tmp_path / "conf").iterdir())
    assert "extensions.conf" in names and "ari.conf" in names and not [n for n in names if "_test" in n], written
    assert "[cb-origin]" in (tmp_path / "conf" / "extensions.conf").read_text()

    port = _free_port()
    config = _config(asterisk, tmp_path, port)
    with (tmp_path / "serve.log").open("w") as log:
        server = subprocess.Popen([str(bin_dir / "ari-callback"), "--config", str(config), "serve"], cwd=tmp_path,
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        await _wait_listening(port, server)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": API_KEY}) as http:
            record = await _one_callback(http)
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(20) == 0, (tmp_path / "serve.log").read_text()[-3000:]
    assert (record["status"], record["status_detail"]) == ("completed", "answered"), record


async def _one_callback(http: httpx.AsyncClient) -> dict:
    deadline = time.monotonic() + 30
    while not (await http.get("/health")).json().get("asterisk_connected"):
        assert time.monotonic() < deadline, "the installed server did not connect to Asterisk"
        await asyncio.sleep(0.2)
    made = await http.post("/v1/callbacks", json={"src": ["1001"], "dst": "6001"})
    assert made.status_code == 201, made.text
    while True:
        record = (await http.get(f"/v1/callbacks/{made.json()['id']}")).json()
        if record["finished"]:
            return record
        assert time.monotonic() < deadline + 30, record
        await asyncio.sleep(0.2)
