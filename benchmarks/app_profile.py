"""Where the app's CPU per callback goes: cProfile (CPU clock) over sequential callbacks.

    .venv/bin/python benchmarks/app_profile.py [--calls 30]

The same flow and configuration as benchmarks/app_vs_bare.py's ``app`` client, alone on its
own bundled Asterisk. CPU time is summed by the package of the function that spent it (a C
function counts for the package that called it). cProfile sees only the event loop's thread:
the SQLite work aiosqlite does in its own thread is reported apart, from the threads' CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ari_callback.bundled import BundledAsterisk  # noqa: E402
from ari_callback.service import runtime  # noqa: E402
from benchmarks.app_vs_bare import AppClient, app_settings  # noqa: E402

# First match wins: own packages before the libraries they sit on.
PARTS = (("ari_callback/store", "store: own code"), ("sqlalchemy", "store: SQLAlchemy"),
         ("aiosqlite", "store: aiosqlite (loop side)"), ("ari_callback/ari", "ARI client and stream"),
         ("httpx", "HTTP client"), ("httpcore", "HTTP client"), ("h11", "HTTP client"),
         ("websockets", "websocket library"), ("ari_callback/domain", "state machine"),
         ("ari_callback/engine", "engine"), ("ari_callback/callbacks", "service (create)"),
         ("pydantic", "pydantic"), ("json", "json"), ("asyncio", "event loop"),
         ("selectors", "event loop"), ("logging", "logging"))


def part_of(filename: str) -> str | None:
    for marker, part in PARTS:
        if marker in filename:
            return part
    return None


def by_part(stats: pstats.Stats) -> Counter[str]:
    """CPU seconds per part; a C function (no file) is charged to its busiest caller's part."""
    totals: Counter[str] = Counter()
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, callers) in stats.stats.items():  # type: ignore[attr-defined]
        part = part_of(filename)
        if part is None and filename == "~" and callers:
            caller = max(callers.items(), key=lambda item: item[1][2])[0]
            part = part_of(caller[0])
        totals[part or "other"] += tottime
    return totals


def thread_cpu(main: int) -> float:
    """CPU seconds of this process's threads other than the event loop's (aiosqlite's)."""
    total = 0.0
    for task in Path("/proc/self/task").iterdir():
        if int(task.name) == main:
            continue
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def profile(calls: int, container: str, http_port: int, sip_port: int) -> None:
    asterisk = BundledAsterisk(name=container, http_port=http_port, sip_port=sip_port)
    await asyncio.to_thread(asterisk.up, 120)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with runtime(app_settings(asterisk.url, tmp)) as service:
                await asyncio.wait_for(service.engine.connected.wait(), 30)
                app = AppClient(service)
                for n in range(5):
                    await app.flow(f"w{n}")
                main = threading.get_native_id()
                others, cpu = thread_cpu(main), time.process_time()
                profiler = cProfile.Profile(time.thread_time)   # this thread only: not aiosqlite's
                profiler.enable()
                for n in range(calls):
                    await app.flow(f"p{n}")
                profiler.disable()
                report(profiler, calls, time.process_time() - cpu, thread_cpu(main) - others)
    finally:
        await asyncio.to_thread(asterisk.down)


def report(profiler: cProfile.Profile, calls: int, cpu: float, threads: float) -> None:
    totals = by_part(pstats.Stats(profiler))
    profiled = sum(totals.values())
    print(f"{calls} calls: process CPU {1000 * cpu / calls:.1f} ms per call, of which other threads "
          f"(aiosqlite's SQLite work) {1000 * threads / calls:.1f} ms; profiled event-loop thread "
          f"{1000 * profiled / calls:.1f} ms (profiler overhead included)\n")
    print("| part | share of the event loop's CPU | ms per call |\n|---|---|---|")
    for part, seconds in totals.most_common():
        print(f"| {part} | {100 * seconds / profiled:.0f} % | {1000 * seconds / calls:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--container", default="aricb-bench-app-prof")
    parser.add_argument("--http-port", type=int, default=48188)
    parser.add_argument("--sip-port", type=int, default=45160)
    options = parser.parse_args()
    asyncio.run(profile(options.calls, options.container, options.http_port, options.sip_port))
