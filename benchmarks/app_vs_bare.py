"""ari-callback side by side with the bare ARI-websocket client and the AMI client.

    .venv/bin/python benchmarks/app_vs_bare.py [--calls 50] [--load-runs 1] [--ramp-max 400]
                                               [--timer-seconds 30] [--json out.json]

One bundled Asterisk (own container and ports, AMI added as in benchmarks/transport.py), three
clients running the same callback flow on the same phones: origin ``Local/1001@test-phones``
answers at once, destination ``Local/1002@dst-route`` answers at once.

- ``app``: ari-callback itself, in this process (``runtime(settings)``, SQLite in a temporary
  directory): ``service.create`` of a callback from 1001 to ``01002``, routed by a benchmark
  trunk to ``Local/1002@dst-route``; once connected (and held) it is cancelled, and it ends
  when the app's call task has finished (legs hung up, outcome stored).
- ``ari-websocket`` and ``ami``: benchmarks/bare_ari.py and benchmarks/bare_ami.py.

Phases, each starting with the 1-minute load average: sequential (``--calls`` per client,
interleaved call by call, benchmarks/transport.py's ``measure``); load (``--rate`` callbacks/s
for ``--seconds`` s, each held ``--hold`` s, one client at a time, the order rotating each
run); the ramp (benchmarks/ramp.py, up to ``--ramp-max`` live); P4, the app's timers at
``--rate`` (benchmarks/timers.py).

Every client is timed the same way, on Asterisk's own clock: an observer app with
subscribeAll in its own process (benchmarks/observer.py) records the events, and
benchmarks/timeline.py computes request -> origin created, origin answered -> destination
dialled, request -> connected and hang-up -> both legs gone against each client's wall clock
at its request and its hang-up. The older table of the clients' own stamps is printed too.
CPU is this process's (the app's, for ``app``: the bare clients are idle then) and Asterisk's,
per call. The app's own time per event is ``Engine.step_times`` (ari_callback/engine/metrics.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ari_callback.bundled import REPO, BundledAsterisk  # noqa: E402
from ari_callback.config import Settings  # noqa: E402
from ari_callback.domain.request import CallbackRequest  # noqa: E402
from ari_callback.service import runtime  # noqa: E402
from benchmarks.app_load import LoadResult, load_run, print_load  # noqa: E402
from benchmarks.app_serve import ServedApp  # noqa: E402
from benchmarks.bare_ari import FlowTimes, Hold, held  # noqa: E402
from benchmarks.observer import ObserverProcess  # noqa: E402
from benchmarks.ramp import RampResult, ramp  # noqa: E402
from benchmarks.side_report import print_measures, print_ramp  # noqa: E402
from benchmarks.timeline import load_index, summarise  # noqa: E402
from benchmarks.timers import print_timers, timer_run  # noqa: E402
from benchmarks.transport import Rig, Tally, conf_with_ami, container_pid, measure, percentiles  # noqa: E402

APP = "aricb-bench-app"
POLL_S = 0.002   # the app client's first look at the machine; the times come from stamps


def app_settings(url: str, data_dir: str) -> Settings:
    return Settings(**app_settings_data(url, data_dir, APP))


def app_settings_data(url: str, data_dir: str, app: str) -> dict:
    """The demo configuration, with a trunk that reaches the destination through dst-route as
    the bare clients do, and limits that the load never reaches."""
    data = yaml.safe_load((REPO / "docker" / "demo.yaml").read_text())
    data["ari"].update(url=url, app=app)
    data["data_dir"] = data_dir
    data["log_level"] = "WARNING"
    data["dialing"]["trunks"]["bench"] = {"dial": "Local/{n}@dst-route", "formats": "ulaw"}
    data["dialing"]["routes"].insert(0, {"match": "0(?P<n>1\\d{3})", "trunk": "bench"})
    data["clients"]["default"]["max_concurrent_calls"] = 5000
    data["instance"] = {"max_calls": 5000}
    return data


class AppClient:
    """Drives callbacks through the in-process service and reads their times off the machine."""

    def __init__(self, service) -> None:
        self.service, self.engine = service, service.engine

    async def flow(self, name: str, hold: Hold = 0.0, timeout: float = 30.0) -> FlowTimes:
        started = time.time()
        callback_id = await self.service.create(CallbackRequest(src=["1001"], dst="01002"),
                                                client_id="default", api="native")
        deadline, pause = started + timeout, POLL_S
        while (runner := self.engine.by_callback.get(callback_id)) is None:
            pause = await self._tick(callback_id, deadline, pause)
        machine = runner.machine
        while machine.connected_at is None:
            if runner.done.is_set():
                raise RuntimeError(f"callback {callback_id} ended unconnected: {machine.state}")
            pause = await self._tick(callback_id, deadline, pause)
        await held(hold, (f"cb-{runner.call_id}-src0", f"cb-{runner.call_id}-dst"))
        hangup = time.time()
        self.engine.cancel(callback_id)
        await runner.done.wait()
        src = next(leg for leg in machine.legs.values() if leg.role == "src")
        return FlowTimes(src.answered_at - started, machine.connected_at - started, started, hangup,
                         f"cb-{runner.call_id}-src0", f"cb-{runner.call_id}-dst")

    async def _tick(self, callback_id: str, deadline: float, pause: float) -> float:
        """One look at the machine; the pause backs off (2 ms to 50 ms) so that hundreds of
        waiting calls under load do not bill the app for the benchmark's polling."""
        if time.time() > deadline:
            self.engine.cancel(callback_id)
            raise TimeoutError(f"callback {callback_id} not connected in time")
        await asyncio.sleep(pause)
        return min(2 * pause, 0.05)


async def sequential(rig: Rig, app: AppClient, args: argparse.Namespace, pid: int) -> dict:
    for n in range(args.warmup):
        for _name, flow in rig.flows.items():
            await flow(f"w{n}")
    app.engine.step_times.clear()
    if args.served:
        args.served.call_cpu.clear()
    tallies = await measure(rig, args.calls, 0, pid)
    if args.served:   # its CPU is the server process's, not this one's
        tallies["app-serve"].client_cpu = sum(args.served.call_cpu)
    await asyncio.sleep(1.0)   # the last ChannelDestroyed events reach the observer's file
    index = load_index(args.observer.path)
    rows = {name: {"timeline": summarise(t.calls, index), "client_cpu_ms": 1000 * t.client_cpu / args.calls,
                   "asterisk_cpu_ms": 1000 * t.asterisk_cpu / args.calls} for name, t in tallies.items()}
    return {"tallies": tallies, "steps": app.engine.step_times.summary(), "timeline": rows}


async def loads(rig: Rig, app: AppClient, args: argparse.Namespace, pid: int) -> list[LoadResult]:
    results = []
    names = list(rig.flows)
    for run in range(args.load_runs):
        order = names[run % len(names):] + names[:run % len(names)]
        for name in order:
            app.engine.step_times.clear()
            served_cpu, wall = (args.served.cpu_seconds(), time.perf_counter()) if args.served else (0, 0)
            result = await load_run(name, rig.flows[name], args.rate, args.seconds, args.hold, pid,
                                    prefix=f"l{run}-")
            if name == "app-serve":
                result.client_cpu_ms_per_call = 1000 * args.served.busy_cpu_since(served_cpu, wall) / result.started
            if name == "app":
                result.steps = app.engine.step_times.summary()
            await asyncio.sleep(1.0)
            result.timeline = summarise(result.calls, load_index(args.observer.path))
            results.append(result)
            print_load(result)
            await asyncio.sleep(2)   # let Asterisk settle between clients
        print_measures(f"Load run {run + 1}: {args.rate:g} callbacks/s for {args.seconds:g} s, "
                       f"{args.hold:g}-s holds", {r.client: load_row(r) for r in results[-len(order):]})
    return results


def load_row(r: LoadResult) -> dict:
    return {"timeline": r.timeline, "client_cpu_ms": r.client_cpu_ms_per_call,
            "asterisk_cpu_ms": r.asterisk_cpu_ms_per_call, "failed": r.failed}


async def ramps(rig: Rig, args: argparse.Namespace, pid: int) -> list[RampResult]:
    results = []
    for name in [n for n in rig.flows if n != "app-serve"]:   # it cannot hold on demand
        result = await ramp(name, rig.flows[name], pid, args.observer.path,
                            size=args.ramp_step, max_live=args.ramp_max)
        result.timeline = summarise(result.calls, load_index(args.observer.path))
        results.append(result)
        await asyncio.sleep(3)   # let Asterisk settle between clients
    print_ramp(results)
    return results


def sequential_rows(tallies: dict[str, Tally], calls: int) -> dict[str, dict[str, float]]:
    rows = {}
    for name, tally in tallies.items():
        p50, p95, p99 = percentiles(tally.connected)
        o50, o95, o99 = percentiles(tally.origin_answered)
        rows[name] = {"connected_p50": p50, "connected_p95": p95, "connected_p99": p99,
                      "origin_p50": o50, "origin_p99": o99,
                      "client_cpu_ms": 1000 * tally.client_cpu / calls,
                      "asterisk_cpu_ms": 1000 * tally.asterisk_cpu / calls}
    return rows


def print_sequential(rows: dict[str, dict[str, float]], steps: dict, calls: int) -> None:
    ws, ami = rows["ari-websocket"], rows["ami"]
    print(f"\n{calls} sequential calls per client, interleaved; ms\n")
    print("| client | request -> connected p50 / p95 / p99 | x ARI websocket (p50 / p99) | x AMI "
          "(p50 / p99) | request -> origin answered p50 / p99 | client CPU / call | Asterisk CPU / call |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['connected_p50']:.1f} / {r['connected_p95']:.1f} / {r['connected_p99']:.1f} | "
              f"{r['connected_p50'] / ws['connected_p50']:.2f} / {r['connected_p99'] / ws['connected_p99']:.2f} | "
              f"{r['connected_p50'] / ami['connected_p50']:.2f} / {r['connected_p99'] / ami['connected_p99']:.2f} | "
              f"{r['origin_p50']:.1f} / {r['origin_p99']:.1f} | {r['client_cpu_ms']:.2f} | "
              f"{r['asterisk_cpu_ms']:.2f} |")
    print_steps(steps)


def print_steps(steps: dict) -> None:
    print(f"\napp, time per ARI event (Engine.handle -> the step's commands answered), "
          f"{steps['count']} events; ms p50 / p99 / max")
    for part in ("total", "queued", "machine_store", "ari"):
        p = steps.get(part) or {}
        if p:
            print(f"  {part:14} {p['p50']:.2f} / {p['p99']:.2f} / {p['max']:.2f}")


async def bench(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="aricb-bench-app-") as tmp:
        conf = conf_with_ami(Path(tmp) / "conf", args.ami_port)
        asterisk = BundledAsterisk(name=args.container, http_port=args.http_port,
                                   sip_port=args.sip_port, conf_dir=conf)
        await asyncio.to_thread(asterisk.up, 120)
        args.observer = ObserverProcess(asterisk.url, asterisk.username, asterisk.password,
                                        args.events or Path(tmp) / "events.jsonl")
        await args.observer.start()
        try:
            return await with_clients(asterisk, Path(tmp), args)
        finally:
            args.observer.stop()
            if not args.keep:
                await asyncio.to_thread(asterisk.down)


async def with_clients(asterisk: BundledAsterisk, tmp: Path, args: argparse.Namespace) -> dict:
    rig = Rig(asterisk, args.ami_port)
    await rig.start()
    if not args.with_http:
        del rig.flows["ari-http"]
    pid = container_pid(args.container)
    figures: dict = {"load_before": os.getloadavg()[0], "cpus": os.cpu_count()}
    args.served = None
    if args.serve:
        args.served = ServedApp(app_settings_data(asterisk.url, str(tmp / "served"), APP + "-serve"),
                                tmp, args.serve_port)
        await args.served.start()
        rig.flows = {"app-serve": args.served.accounted_flow, **rig.flows}
    try:
        async with runtime(app_settings(asterisk.url, str(tmp / "data"))) as service:
            await asyncio.wait_for(service.engine.connected.wait(), 30)
            app = AppClient(service)
            rig.flows = {"app": app.flow, **rig.flows}
            await phases(rig, app, service, args, pid, figures)
    finally:
        await rig.close()
        if args.served:
            await args.served.stop()
    return figures


def stamp(figures: dict, phase: str) -> None:
    figures[f"load_before_{phase}"] = os.getloadavg()[0]
    print(f"\n== {phase}: 1-min load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs), "
          f"{time.strftime('%H:%M:%S')}", flush=True)


async def phases(rig: Rig, app: AppClient, service, args: argparse.Namespace, pid: int,
                 figures: dict) -> None:
    if args.calls:
        stamp(figures, "sequential")
        seq = await sequential(rig, app, args, pid)
        rows = sequential_rows(seq["tallies"], args.calls)
        print_sequential(rows, seq["steps"], args.calls)
        print_measures(f"{args.calls} sequential calls per client, interleaved", seq["timeline"])
        figures.update(sequential=rows, sequential_steps=seq["steps"], sequential_timeline=seq["timeline"])
    if args.load_runs:
        stamp(figures, "load")
        figures["load"] = [dict(vars(r), calls=len(r.calls)) for r in await loads(rig, app, args, pid)]
    if args.ramp_max:
        stamp(figures, "ramp")
        figures["ramp"] = [dict(vars(r), calls=len(r.calls), steps=[vars(s) for s in r.steps])
                           for r in await ramps(rig, args, pid)]
    if args.timer_seconds:
        stamp(figures, "timers")
        timers = await timer_run(service, args.observer.path, pid, args.rate, args.timer_seconds, args.hold)
        print_timers(timers, args.rate, args.hold)
        figures["timers"] = vars(timers)
    figures["load_after"] = os.getloadavg()[0]
    print(f"\n1-min load average at the end {figures['load_after']:.2f}")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--load-runs", type=int, default=1, help="0: sequential only")
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--hold", type=float, default=10.0)
    parser.add_argument("--with-http", action="store_true", help="also the ARI-over-HTTP client")
    parser.add_argument("--serve", action="store_true",
                        help="also ari-callback as a serve subprocess driven over HTTP (benchmarks/app_serve.py)")
    parser.add_argument("--serve-port", type=int, default=48080)
    parser.add_argument("--container", default="aricb-bench-app")
    parser.add_argument("--http-port", type=int, default=48088)
    parser.add_argument("--sip-port", type=int, default=45060)
    parser.add_argument("--ami-port", type=int, default=45038)
    parser.add_argument("--ramp-step", type=int, default=25, help="calls added per ramp step (over 1 s)")
    parser.add_argument("--ramp-max", type=int, default=400, help="the ramp's cap on live calls; 0: no ramp")
    parser.add_argument("--timer-seconds", type=float, default=30.0,
                        help="P4: the app at --rate with call_duration = --hold for this long; 0: skip")
    parser.add_argument("--events", type=Path, help="keep the observer's events here")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="leave the container running")
    return parser.parse_args()


if __name__ == "__main__":
    options = arguments()
    result = asyncio.run(bench(options))
    if options.json:
        options.json.write_text(json.dumps(result, indent=2, default=str))
