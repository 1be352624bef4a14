"""Transport benchmark: the same callback flow over ARI-on-the-websocket, ARI-over-HTTP and AMI.

    .venv/bin/python benchmarks/transport.py [--calls 100] [--json out.json]

Starts its own bundled Asterisk (the repository's image and asterisk-conf/, plus AMI on
127.0.0.1 from benchmarks/asterisk_test_ami/, in a temporary copy of the configuration) under
its own container name and ports, then runs ``--calls`` callbacks per client, one at a time,
interleaved call by call (the client order rotates every round), after a warm-up:

- ``ari-websocket``: benchmarks/bare_ari.py, AriClient wired to its EventStream (REST over the
  event websocket);
- ``ari-http``: the same code, REST over HTTP (the stream carries events only);
- ``ami``: benchmarks/bare_ami.py, AMI Originate + Dial() in the dialplan.

Both ARI clients filter their events to what the flow waits for. Reports p50/p95/p99 of
request -> origin answered and request -> connected (the destination's answer), the client's
CPU per call (this process) and Asterisk's (the container's process), and ratios. The container
is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ari_callback.ari.client import AriClient  # noqa: E402
from ari_callback.ari.stream import EventStream  # noqa: E402
from ari_callback.bundled import REPO, BundledAsterisk  # noqa: E402
from benchmarks.bare_ami import AmiClient, ami_callback_flow  # noqa: E402
from benchmarks.bare_ari import EventLog, FlowTimes, callback_flow  # noqa: E402

AMI_FILES = Path(__file__).resolve().parent / "asterisk_test_ami"
FLOW_EVENTS = ("StasisStart", "Dial", "ChannelDestroyed")
Flow = Callable[..., Awaitable[FlowTimes]]   # (call name, hold=seconds) -> its times


def conf_with_ami(target: Path, ami_port: int) -> Path:
    """asterisk-conf/ plus the test-only AMI files, in ``target``."""
    shutil.copytree(REPO / "asterisk-conf", target)
    manager = (AMI_FILES / "manager_test_ami.conf").read_text()
    (target / "manager.conf").write_text(manager.replace("port = 5038", f"port = {ami_port}"))
    shutil.copy(AMI_FILES / "extensions_test_ami.conf", target)
    with (target / "extensions.conf").open("a") as extensions:
        extensions.write("\n#tryinclude extensions_test_ami.conf\n")
    return target


def asterisk_cpu_seconds(pid: int) -> float:
    """User + system CPU of the Asterisk process, all threads (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def container_pid(name: str) -> int:
    out = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", name],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip())


@dataclass
class Tally:
    origin_answered: list[float] = field(default_factory=list)
    connected: list[float] = field(default_factory=list)
    client_cpu: float = 0.0
    asterisk_cpu: float = 0.0
    calls: list[FlowTimes] = field(default_factory=list)   # with the stamps for timeline.py


class Rig:
    """The three clients, connected to one Asterisk."""

    def __init__(self, asterisk: BundledAsterisk, ami_port: int) -> None:
        self.asterisk, self.ami_port = asterisk, ami_port
        self.flows: dict[str, Flow] = {}
        self._closers: list[Callable[[], Awaitable[None]]] = []

    async def start(self) -> None:
        self.flows["ari-websocket"] = await self._ari("tp-bench-ws", websocket=True)
        self.flows["ari-http"] = await self._ari("tp-bench-http", websocket=False)
        ami = AmiClient()
        await ami.connect("127.0.0.1", self.ami_port, "bench", "bench-secret")
        self._closers.append(ami.close)
        self.flows["ami"] = lambda name, **kw: ami_callback_flow(ami, name, **kw)

    async def _ari(self, app: str, websocket: bool) -> Flow:
        a = self.asterisk
        stream = EventStream(a.url, a.username, a.password, app, event_filter=FLOW_EVENTS)
        ari = AriClient(a.url, a.username, a.password)
        if websocket:
            ari.use_websocket(stream)
        log = EventLog()
        task = asyncio.create_task(stream.run(log.add))
        await asyncio.wait_for(stream.connected.wait(), 30)
        while websocket and not stream.rest.available:
            await asyncio.sleep(0.01)

        async def close() -> None:
            await stream.stop()
            await task
            await ari.close()
        self._closers.append(close)
        return lambda name, **kw: callback_flow(ari, log, app, name, **kw)

    async def close(self) -> None:
        for close in self._closers:
            await close()


async def measure(rig: Rig, calls: int, warmup: int, pid: int) -> dict[str, Tally]:
    names = list(rig.flows)
    for n in range(warmup):
        for name in names:
            await rig.flows[name](f"w{n}")
    tallies = {name: Tally() for name in names}
    for n in range(calls):
        order = names[n % len(names):] + names[:n % len(names)]
        for name in order:
            await asyncio.sleep(0.02)   # let the previous call's last frames settle
            cpu, ast_cpu = time.process_time(), asterisk_cpu_seconds(pid)
            times = await rig.flows[name](f"{name[:3]}{n}")
            tally = tallies[name]
            tally.client_cpu += time.process_time() - cpu
            tally.asterisk_cpu += asterisk_cpu_seconds(pid) - ast_cpu
            tally.origin_answered.append(times.origin_answered)
            tally.connected.append(times.connected)
            tally.calls.append(times)
    return tallies


def percentiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def report(tallies: dict[str, Tally], calls: int, load: tuple[float, float]
           ) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = {}
    for name, tally in tallies.items():
        p50, p95, p99 = percentiles(tally.connected)
        o50, o95, o99 = percentiles(tally.origin_answered)
        rows[name] = {"connected_p50": p50, "connected_p95": p95, "connected_p99": p99,
                      "origin_p50": o50, "origin_p95": o95, "origin_p99": o99,
                      "client_cpu_ms": tally.client_cpu / calls * 1000,
                      "asterisk_cpu_ms": tally.asterisk_cpu / calls * 1000}
    ami, ws = rows["ami"], rows["ari-websocket"]
    print(f"\n{calls} sequential calls per client, interleaved; times in ms; "
          f"1-min load average {load[0]:.2f} before, {load[1]:.2f} after "
          f"({os.cpu_count()} CPUs)\n")
    print("| client | request -> connected p50 / p95 / p99 | x AMI (p50, p99) | x ARI websocket "
          "(p50, p99) | request -> origin answered p50 / p95 / p99 | client CPU / call "
          "| Asterisk CPU / call |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['connected_p50']:.1f} / {r['connected_p95']:.1f} / "
              f"{r['connected_p99']:.1f} | {r['connected_p50'] / ami['connected_p50']:.2f}, "
              f"{r['connected_p99'] / ami['connected_p99']:.2f} | "
              f"{r['connected_p50'] / ws['connected_p50']:.2f}, "
              f"{r['connected_p99'] / ws['connected_p99']:.2f} | {r['origin_p50']:.1f} / "
              f"{r['origin_p95']:.1f} / {r['origin_p99']:.1f} | {r['client_cpu_ms']:.2f} | "
              f"{r['asterisk_cpu_ms']:.2f} |")
    return rows


async def main(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="aricb-bench-") as tmp:
        conf = conf_with_ami(Path(tmp) / "conf", args.ami_port)
        asterisk = BundledAsterisk(name=args.container, http_port=args.http_port,
                                   sip_port=args.sip_port, conf_dir=conf)
        await asyncio.to_thread(asterisk.up, 120)
        try:
            rig = Rig(asterisk, args.ami_port)
            await rig.start()
            load_before = os.getloadavg()[0]
            try:
                tallies = await measure(rig, args.calls, args.warmup,
                                        container_pid(args.container))
            finally:
                await rig.close()
            load = (load_before, os.getloadavg()[0])
            rows = report(tallies, args.calls, load)
            rows["run"] = {"calls": args.calls, "load_before": load[0], "load_after": load[1]}
            return rows
        finally:
            if not args.keep:
                await asyncio.to_thread(asterisk.down)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--container", default=os.environ.get("ARI_CB_TEST_CONTAINER",
                                                              "aricb-transport-bench"))
    parser.add_argument("--http-port", type=int,
                        default=int(os.environ.get("ARI_CB_TEST_HTTP_PORT", "28088")))
    parser.add_argument("--sip-port", type=int,
                        default=int(os.environ.get("ARI_CB_TEST_SIP_PORT", "25060")))
    parser.add_argument("--ami-port", type=int, default=25038)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="leave the container running")
    return parser.parse_args()


if __name__ == "__main__":
    options = arguments()
    figures = asyncio.run(main(options))
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2))
