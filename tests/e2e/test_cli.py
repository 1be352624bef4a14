"""The command line as a user runs it: `ari-callback serve` in its own process, `call --wait`,
`status`, `check`, and a clean exit on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .conftest import API_KEY, make_settings

BIN = Path(sys.executable).with_name("ari-callback")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(asterisk, tmp_path: Path, port: int) -> Path:
    settings = make_settings(asterisk, tmp_path / "data")
    data = settings.model_dump(mode="json", exclude={"api_key", "fonolo_accounts"})   # secrets dump masked
    data["ari"].update(app="cb-cli", password="callback-secret")
    data["api_keys"] = [{"key": API_KEY, "client": "default"}, {"key": "other-client-key", "client": "other"}]
    data["http"]["port"] = port
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _cli(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), "--config", str(config), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


async def _wait_listening(port: int, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read() if server.stderr else "the server exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        await asyncio.sleep(0.2)
    raise AssertionError("the server did not listen")


async def test_given_serve_when_calling_with_wait_then_timeline_printed_and_sigterm_exits_0(asterisk, tmp_path):
    port = _free_port()
    config = _config(asterisk, tmp_path, port)
    check = _cli(config, "check")
    assert check.returncode == 0 and "ari: ok, Asterisk 22" in check.stdout, check.stdout + check.stderr
    server = subprocess.Popen([str(BIN), "--config", str(config), "serve"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        await _wait_listening(port, server)
        await asyncio.sleep(1.0)   # connected and reconciled
        placed = await asyncio.to_thread(_cli, config, "call", "1001", "6002", "--wait")
        assert placed.returncode == 0, placed.stdout + placed.stderr
        call_id = placed.stdout.splitlines()[0]
        assert "status: completed (answered), ended by dst" in placed.stdout
        assert "answered" in placed.stdout and "ended" in placed.stdout
        shown = await asyncio.to_thread(_cli, config, "status", call_id)
        assert shown.returncode == 0 and "completed" in shown.stdout and "cause=16" in shown.stdout
        await _a_key_made_while_serving_works_until_revoked(config, call_id)
        bad = await asyncio.to_thread(_cli, config, "call", "10x1", "6002")
        assert bad.returncode != 0 and "invalid_src" in bad.stderr
        ringing = await asyncio.to_thread(_cli, config, "call", "2001", "1001")
        assert ringing.returncode == 0
        # A second serve on the same config cannot listen: it says so and exits 1 before it
        # connects to ARI, so the running one keeps its Stasis app and its calls.
        second = await asyncio.to_thread(_cli, config, "serve", timeout=20)
        assert second.returncode == 1 and "cannot listen" in second.stderr, second.stderr
        await asyncio.sleep(1.0)
        assert _cli(config, "status", ringing.stdout.split()[0]).stdout.split()[1] == "dialling"
    finally:
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=20)
    assert code == 0, server.stderr.read()
    assert time.monotonic() - started < 10   # R17: the ringing call was ended within the grace period


async def _a_key_made_while_serving_works_until_revoked(config: Path, call_id: str) -> None:
    """``keys create`` writes the store the running server reads: no restart, and a revoke
    is refused at the next request."""
    made = await asyncio.to_thread(_cli, config, "keys", "create", "--name", "e2e", "--read-only")
    assert made.returncode == 0, made.stderr
    key, key_id = made.stdout.strip(), made.stderr.split(":")[0]
    shown = await asyncio.to_thread(_cli, config, "status", call_id, "--api-key", key)
    assert shown.returncode == 0 and "completed" in shown.stdout, shown.stderr
    refused = await asyncio.to_thread(_cli, config, "cancel", call_id, "--api-key", key)
    assert refused.returncode != 0 and "403 forbidden" in refused.stderr
    assert (await asyncio.to_thread(_cli, config, "keys", "revoke", key_id)).returncode == 0
    gone = await asyncio.to_thread(_cli, config, "status", call_id, "--api-key", key)
    assert gone.returncode != 0 and "401 unauthorized" in gone.stderr


def test_given_bad_config_then_check_names_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("ari:\n  url: 8088\n  bogus: 1\n")
    result = _cli(path, "check")
    assert result.returncode != 0
    assert "ari.url" in result.stderr and "ari.bogus" in result.stderr


async def test_given_finished_callbacks_then_history_exports_them_as_csv_json_and_a_table(asterisk, tmp_path):
    import csv
    import json

    from .test_restart import Server
    port = _free_port()
    config = _config(asterisk, tmp_path, port)
    server = Server(config, port)
    await server.start()
    try:
        ids = []
        for dst in ("6001", "6002", "3001"):   # two answer and hang up, one destination is busy
            made = await server.http.post("/v1/callbacks", json={"src": ["1001"], "dst": dst})
            ids.append(made.json()["id"])
        for callback_id in ids:
            await server.until(callback_id, lambda r: r["finished"], timeout=30)
        url = f"http://127.0.0.1:{port}"
        exported = _cli(config, "history", "--csv", str(tmp_path / "h.csv"), "--limit", "0", "--api-url", url)
        completed = _cli(config, "history", "--json", "--status", "completed", "--number", "1001", "--api-url", url)
        table = _cli(config, "history", "--api-url", url)
        refused = _cli(config, "history", "--since", "yesterday", "--api-url", url)
        listed = _cli(config, "callbacks", "list", "--json", "--status", "failed", "--api-url", url)
        shown = _cli(config, "callbacks", "show", ids[0], "--json", "--api-url", url)
        log = _cli(config, "webhooks", "deliveries", ids[0], "--json", "--api-url", url)
        missing = _cli(config, "webhooks", "deliveries", "no-such-callback", "--api-url", url)
    finally:
        await server.stop()
    assert exported.returncode == 0 and exported.stderr.strip().endswith("3 callbacks"), exported.stderr
    rows = list(csv.DictReader((tmp_path / "h.csv").open()))
    assert sorted(r["id"] for r in rows) == sorted(ids) and {r["src"] for r in rows} == {"1001"}
    assert sorted(r["status"] for r in rows) == ["completed", "completed", "failed"]
    assert sorted(json.loads(line)["dst"] for line in completed.stdout.splitlines()) == ["6001", "6002"]
    assert table.returncode == 0 and "dst_busy" in table.stdout
    assert refused.returncode == 1 and "422 invalid_since" in refused.stderr
    assert [json.loads(line)["dst"] for line in listed.stdout.splitlines()] == ["3001"]
    assert json.loads(shown.stdout)["id"] == ids[0] and json.loads(shown.stdout)["status"] == "completed"
    assert log.returncode == 0 and json.loads(log.stdout) == {"callback_id": ids[0], "deliveries": []}
    assert missing.returncode == 1 and "404 callback_not_found" in missing.stderr
