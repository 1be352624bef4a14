"""ari-callback as an operator runs it: an ``ari-callback serve`` subprocess driven over HTTP,
for benchmarks/app_vs_bare.py (``--serve``).

Each callback is ``POST /v1/callbacks`` (1001 -> 01002, the benchmark trunk) with
``call_duration`` = the hold (at least 1 s): the app ends the call itself, so the client sends
no request while the call runs and the app's CPU is not spent answering polls. Once the hold
is over the client reads the callback (``GET``) until it is finished; its times come from the
app's own stamps (``connected_at`` and the origin's ``answered_at``, in milliseconds) minus the
client's clock at the POST: the same machine, the same clock.

CPU is the server process's (/proc), per call, minus what it spends idle (its dispatcher and
cancel polls) over the call's wall time, measured before the run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import yaml

from benchmarks.bare_ari import FlowTimes

KEY = "bench-key"


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServedApp:
    """One ``ari-callback serve`` process and an HTTP client for it."""

    def __init__(self, settings_data: dict, workdir: Path, port: int) -> None:
        data = dict(settings_data, api_key=KEY, http={"host": "127.0.0.1", "port": port})
        self.config = workdir / "serve.yaml"
        self.config.write_text(yaml.safe_dump(data))
        self.url = f"http://127.0.0.1:{port}"
        self.log = workdir / "serve.log"
        self.idle_cpu_per_s = 0.0
        self.call_cpu: list[float] = []   # CPU seconds per call, idle share taken off

    async def start(self) -> None:
        cli = Path(sys.executable).parent / "ari-callback"
        with self.log.open("w") as log:
            self.process = subprocess.Popen([str(cli), "--config", str(self.config), "serve"],
                                            stdout=log, stderr=subprocess.STDOUT)
        # No pool limit: a request queued in the client would be billed to the app.
        self.http = httpx.AsyncClient(base_url=self.url, headers={"X-API-Key": KEY}, timeout=60,
                                      limits=httpx.Limits(max_connections=None, max_keepalive_connections=200))
        for _ in range(300):
            try:
                if (await self.http.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"ari-callback serve did not get ready; see {self.log}")
        await self._measure_idle()

    async def _measure_idle(self, seconds: float = 5.0) -> None:
        cpu = process_cpu_seconds(self.process.pid)
        await asyncio.sleep(seconds)
        self.idle_cpu_per_s = (process_cpu_seconds(self.process.pid) - cpu) / seconds

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def busy_cpu_since(self, cpu: float, wall: float) -> float:
        """The server's CPU since ``cpu``/``wall`` (perf_counter), less its idle share."""
        return self.cpu_seconds() - cpu - self.idle_cpu_per_s * (time.perf_counter() - wall)

    async def accounted_flow(self, name: str, hold: float = 0.0) -> FlowTimes:
        """``flow``, with the server's CPU for this call kept in ``call_cpu`` (sequential use)."""
        cpu, wall = self.cpu_seconds(), time.perf_counter()
        try:
            return await self.flow(name, hold)
        finally:
            self.call_cpu.append(self.busy_cpu_since(cpu, wall))

    async def flow(self, name: str, hold: float = 0.0) -> FlowTimes:
        started = time.time()
        body = {"src": ["1001"], "dst": "01002", "call_duration": max(1, round(hold))}
        reply = await self.http.post("/v1/callbacks", json=body)
        reply.raise_for_status()
        status_url = reply.json()["status_url"]
        await asyncio.sleep(max(1, round(hold)))
        pause = 0.1   # backing off: under load, polls would cost both processes more than the calls
        while not (view := (await self.http.get(status_url)).json())["finished"]:
            await asyncio.sleep(pause)
            pause = min(2 * pause, 2.0)
        if view.get("connected_at") is None:
            raise RuntimeError(f"callback {name} ended unconnected: {view['status']}")
        src = [leg for leg in view["legs"] if leg["role"] == "src" and leg["answered_at"]][0]
        return FlowTimes(epoch(src["answered_at"]) - started, epoch(view["connected_at"]) - started)

    async def stop(self) -> None:
        await self.http.aclose()
        self.process.terminate()
        await asyncio.to_thread(self.process.wait, 30)
