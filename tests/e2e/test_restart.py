"""The app killed mid-call (SIGKILL: no clean-up at all) and started again: it finds its calls
on Asterisk, catches up on what it missed while away, and leaves nothing behind (R2, R3)."""

from __future__ import annotations

import asyncio
import random
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import yaml

from ari_callback.bundled import BundledAsterisk

from .conftest import API_KEY
from .test_cli import BIN, _config, _free_port, _wait_listening


class Server:
    """One ``ari-callback serve`` process. Its log goes to a file beside its config: a pipe
    nobody reads fills up at 64 KB and then blocks the server's event loop on its next line."""

    def __init__(self, config, port):
        self.config, self.port, self.proc = config, port, None
        self.log = Path(config).with_suffix(".log")
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": API_KEY})

    async def start(self):
        with self.log.open("a") as log:
            self.proc = subprocess.Popen([str(BIN), "--config", str(self.config), "serve"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        try:
            await _wait_listening(self.port, self.proc)
        except AssertionError as failed:
            raise AssertionError(f"{failed}; the server's log ends with:\n{self.log_tail()}") from None
        for _ in range(100):
            try:
                if (await self.http.get("/health")).json()["asterisk_connected"]:
                    return
            except httpx.TransportError:
                pass   # listening a moment before serving
            await asyncio.sleep(0.1)
        raise AssertionError("the server did not connect to Asterisk")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    async def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError(f"{self.config.name}: no exit 20 s after SIGTERM; its log ends with:\n"
                                     f"{self.log_tail()}") from None
        await self.http.aclose()

    async def record(self, call_id):
        return (await self.http.get(f"/v1/callbacks/{call_id}")).json()

    async def until(self, call_id, predicate, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = await self.record(call_id)
            if predicate(record):
                return record
            await asyncio.sleep(0.1)
        raise AssertionError(f"{call_id}: {(await self.record(call_id))['status']} after {timeout} s")


async def _server(asterisk, tmp_path):
    port = _free_port()
    server = Server(_config(asterisk, tmp_path, port), port)
    await server.start()
    return server


async def _place(server, **body) -> str:
    response = await server.http.post("/v1/callbacks", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_given_connected_call_when_app_killed_and_restarted_then_duration_still_enforced(asterisk, tmp_path):
    server = await _server(asterisk, tmp_path)
    try:
        call_id = await _place(server, src=["1001"], dst="1002", call_duration=8)
        await server.until(call_id, lambda r: r["state"] == "connected")
        server.kill()
        await asyncio.sleep(1.0)
        await server.start()
        record = await server.until(call_id, lambda r: r["finished"], timeout=20)
        assert (record["status"], record["ended_by"]) == ("completed", "duration_limit")
        assert abs(record["duration"] - 8.0) < 0.5, record["duration"]
    finally:
        await server.stop()


async def test_given_dst_hangs_up_while_app_is_down_then_origin_hung_up_within_5_s_of_restart(asterisk, tmp_path):
    server = await _server(asterisk, tmp_path)
    try:
        call_id = await _place(server, src=["1001"], dst="6003")
        await server.until(call_id, lambda r: r["state"] == "connected")
        server.kill()
        await asyncio.sleep(5.0)   # 6003 hangs up 3 s after answering, while nobody listens
        started = time.monotonic()
        await server.start()
        record = await server.until(call_id, lambda r: r["finished"], timeout=10)
        assert time.monotonic() - started < 5.0 + 3.0   # including the server's own start
        assert (record["status"], record["ended_by"]) == ("completed", "dst")
        dst = [leg for leg in record["legs"] if leg["role"] == "dst"][0]
        assert dst["ended_at"] is not None
    finally:
        await server.stop()


async def test_given_ringing_origin_when_app_restarted_then_ring_limit_counts_from_the_start(asterisk, tmp_path):
    server = await _server(asterisk, tmp_path)
    try:
        call_id = await _place(server, src=["2001"], dst="1001", wait_for_pickup=6)
        created = time.monotonic()
        await server.until(call_id, lambda r: any(e["kind"] == "ringing" for e in r["timeline"]))
        server.kill()
        await asyncio.sleep(1.0)
        await server.start()
        record = await server.until(call_id, lambda r: r["finished"], timeout=15)
        assert (record["status"], record["status_detail"]) == ("failed", "src_no_answer")
        assert time.monotonic() - created < 6.0 + 3.0
    finally:
        await server.stop()


async def test_given_app_dead_for_good_then_asterisk_still_ends_the_call_at_its_limit(asterisk, tmp_path, ari):
    server = await _server(asterisk, tmp_path)
    try:
        call_id = await _place(server, src=["1001"], dst="1002", call_duration=3)
        connected = await server.until(call_id, lambda r: r["state"] == "connected")
        server.kill()
        legs = {leg["id"] for leg in connected["legs"]}
        # TIMEOUT(absolute) = call_duration + 2 s on both legs: Asterisk alone hangs them up.
        deadline = time.monotonic() + 8.0
        while time.monotonic() < deadline and legs & {c.id for c in await ari.list_channels()}:
            await asyncio.sleep(0.1)
        assert not legs & {c.id for c in await ari.list_channels()}, "Asterisk kept the call up"
        await server.start()   # the restarted app finishes the record: every leg is gone
        record = await server.until(call_id, lambda r: r["finished"], timeout=10)
        assert record["status"] == "completed" and connected["connected_at"]
    finally:
        await server.stop()


async def test_given_20_connected_calls_when_sigterm_then_exit_0_within_10_s_and_nothing_left(asterisk, tmp_path, ari):
    server = await _server(asterisk, tmp_path)
    try:
        ids = [await _place(server, src=[f"1{i:03d}"], dst=f"1{i + 100:03d}") for i in range(20)]
        for call_id in ids:
            await server.until(call_id, lambda r: r["state"] == "connected", timeout=30)
        assert len([b for b in await ari.list_bridges() if b.id.startswith("cb-")]) == 20
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(server.proc.wait, 15)
        elapsed = time.monotonic() - started
    finally:
        await server.stop()
    assert code == 0 and elapsed < 10.0, (code, elapsed)
    assert [b.id for b in await ari.list_bridges()] == []
    again = Server(server.config, server.port)   # the records say how each call ended
    await again.start()
    try:
        for call_id in ids:
            record = await again.until(call_id, lambda r: r["finished"], timeout=10)
            assert (record["status"], record["ended_by"]) == ("cancelled", "cancel")
    finally:
        await again.stop()


async def test_given_the_config_changed_between_a_kill_and_the_restart_then_the_call_keeps_its_plan(
        asterisk, tmp_path):
    server = await _server(asterisk, tmp_path)
    config = yaml.safe_load(server.config.read_text())
    try:
        config["dialing"]["call_duration"] = 6   # the default this call is accepted with
        server.config.write_text(yaml.safe_dump(config))
        server.kill()
        await server.start()
        call_id = await _place(server, src=["1001"], dst="1002")
        await server.until(call_id, lambda r: r["state"] == "connected")
        server.kill()
        # Today's configuration would give the call an hour and route nowhere.
        config["dialing"].update(call_duration=3600, dst_context="no-such-context", transfer_context="none")
        config["clients"]["default"]["sounds"] = {}
        server.config.write_text(yaml.safe_dump(config))
        await server.start()
        record = await server.until(call_id, lambda r: r["finished"], timeout=20)
    finally:
        await server.stop()
    assert (record["status"], record["ended_by"]) == ("completed", "duration_limit")
    assert abs(record["duration"] - 6.0) < 0.5, record["duration"]
    assert len(record["attempts"]) == 1


@pytest.mark.timeout(300)
async def test_given_20_kills_at_random_moments_then_nothing_is_lost_dialled_twice_or_left_behind(
        asterisk, observer, tmp_path, ari):
    """R2: SIGKILL at random phases of random calls; after each restart the app catches up."""
    rng = random.Random(20261206)
    server = await _server(asterisk, tmp_path)
    mark, ids = observer.mark(), []
    try:
        for _ in range(20):
            ids += [await _place(server, src=[rng.choice(["1001", "4011", "2001"])],
                                 dst=rng.choice(["6002", "4012", "6001", "3001"]), wait_for_pickup=4,
                                 call_duration=4)
                    for _ in range(3)]
            await asyncio.sleep(rng.uniform(0.0, 2.5))
            server.kill()
            await server.start()
        records = [await server.until(cid, lambda r: r["finished"], timeout=30) for cid in ids]
        deadline = time.monotonic() + 10.0
        while (left := [c.id for c in await ari.list_channels() if c.id.startswith("cb-")]) \
                and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        await server.stop()
    created = Counter(e.channel.id for e in observer.since(mark, "ChannelCreated")
                      if re.fullmatch(r"cb-.+-src\d+", e.channel.id))   # not the Local ;2 halves
    outcomes = Counter(r["status_detail"] for r in records)
    print(f"\nR2: 20 kills, 60 callbacks: {dict(outcomes)}; origin channels created {sum(created.values())}")
    assert len(records) == 60 and all(len(r["attempts"]) == 1 for r in records)
    assert all(created[f"cb-{r['attempts'][0]['id']}-src0"] <= 1 for r in records)
    assert left == []


async def test_given_the_database_file_deleted_while_serving_then_503_and_not_ready(asterisk, tmp_path):
    server = await _server(asterisk, tmp_path)
    try:
        kept = await _place(server, src=["1001"], dst="6001")
        await server.until(kept, lambda r: r["finished"], timeout=20)
        assert (await server.http.get("/readyz")).status_code == 200
        (tmp_path / "data" / "ari-callback.db").unlink()
        created = await server.http.post("/v1/callbacks", json={"src": ["1001"], "dst": "6001"})
        ready = await server.http.get("/readyz")
        health = (await server.http.get("/health")).json()
    finally:
        await server.stop()
    assert (created.status_code, created.json()["error_id"]) == (503, "store_unavailable")
    assert (ready.status_code, ready.json()["error_id"]) == (503, "not_ready")
    assert (health["status"], health["store_ok"]) == ("degraded", False) and "gone" in health["store_problem"]


@pytest.fixture
def own_asterisk():
    bundled = BundledAsterisk(name="ari-callback-asterisk-test-restart", http_port=18288, sip_port=15260)
    bundled.up(timeout=120)
    yield bundled
    bundled.down()


async def test_given_asterisk_restarted_mid_call_then_the_call_says_asterisk_went_away(own_asterisk, tmp_path):
    server = await _server(own_asterisk, tmp_path)
    try:
        call_id = await _place(server, src=["1001"], dst="1002")
        await server.until(call_id, lambda r: r["state"] == "connected")
        own_asterisk.down()
        own_asterisk.up(timeout=120)
        record = await server.until(call_id, lambda r: r["finished"], timeout=40)
    finally:
        await server.stop()
    assert (record["status"], record["status_detail"], record["ended_by"]) == ("failed", "asterisk_lost", "asterisk")
    assert "asterisk_lost" in [e["kind"] for e in record["timeline"]]
