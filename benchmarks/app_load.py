"""A steady load for benchmarks/app_vs_bare.py: one client starts ``rate`` callbacks per second
for ``seconds`` s, each held ``hold`` s once connected, then waits for all of them to end."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

from benchmarks.transport import asterisk_cpu_seconds


@dataclass
class LoadResult:
    client: str
    started: int = 0
    failed: int = 0
    connected_ms: list[float] = field(default_factory=list)
    client_cpu_ms_per_call: float = 0.0
    asterisk_cpu_ms_per_call: float = 0.0
    late_start_p99_ms: float = 0.0     # the driver's own lag: how late each start was issued
    steps: dict | None = None
    errors: list[str] = field(default_factory=list)   # the first few failures, to say why
    calls: list = field(default_factory=list)         # FlowTimes, for benchmarks/timeline.py
    timeline: dict | None = None                      # the four measures (timeline.summarise)

    def percentiles(self) -> tuple[float, float, float]:
        cuts = statistics.quantiles(self.connected_ms, n=100, method="inclusive")
        return cuts[49], cuts[94], cuts[98]


async def load_run(client: str, flow, rate: float, seconds: float, hold: float, pid: int,
                   prefix: str = "l") -> LoadResult:
    result = LoadResult(client)
    cpu, ast_cpu = time.process_time(), asterisk_cpu_seconds(pid)
    tasks, lateness = [], []
    begin = time.perf_counter()
    for n in range(int(rate * seconds)):
        due = begin + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        lateness.append(time.perf_counter() - due)
        tasks.append(asyncio.create_task(flow(f"{prefix}{n}", hold=hold)))
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    calls = len(tasks)
    result.started = calls
    result.client_cpu_ms_per_call = 1000 * (time.process_time() - cpu) / calls
    result.asterisk_cpu_ms_per_call = 1000 * (asterisk_cpu_seconds(pid) - ast_cpu) / calls
    result.late_start_p99_ms = 1000 * statistics.quantiles(lateness, n=100)[98]
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            result.failed += 1
            if len(result.errors) < 5:
                result.errors.append(repr(outcome))
        else:
            result.connected_ms.append(1000 * outcome.connected)
            result.calls.append(outcome)
    return result


def print_load(r: LoadResult) -> None:
    p50, p95, p99 = r.percentiles() if len(r.connected_ms) > 1 else (0.0, 0.0, 0.0)
    print(f"load {r.client}: {r.started} calls, {r.failed} failed; request -> connected "
          f"p50 {p50:.1f} / p95 {p95:.1f} / p99 {p99:.1f} ms; CPU per call client "
          f"{r.client_cpu_ms_per_call:.2f} ms, Asterisk {r.asterisk_cpu_ms_per_call:.2f} ms; "
          f"start lateness p99 {r.late_start_p99_ms:.1f} ms")
    for error in r.errors:
        print(f"  failed: {error}")
    if r.steps and r.steps.get("count"):
        t = r.steps
        print("  app per event ms p50/p99: " + ", ".join(
            f"{part} {t[part]['p50']:.2f}/{t[part]['p99']:.2f}"
            for part in ("total", "queued", "machine_store", "ari")))
