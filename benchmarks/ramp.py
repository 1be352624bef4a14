"""The capacity ramp of issue 12 item 6: the most live calls a client holds with no failure.

Each step starts ``step`` calls over one second (25 calls/s), waits until every one of them is
connected or ``step_timeout`` has passed, then holds everything for ``settle`` s; the calls of
earlier steps stay connected. A call fails when it does not connect (an error, or not within
the step's time). The ramp stops after a step where more than ``stop_share`` (10 %) of its
calls failed, or at ``max_live``. Then every call is hung up at once, which also times
issue 12's "hang up hundreds at once" (hang-up -> both legs gone, on Asterisk's clock).

"Held with 0 failures" is the live count after the last step of the unbroken run of steps
with no failure at all: no failed connect, and no held call lost (one of its legs hung up or
destroyed before the release, on the observer's clock; such a call counts against the step
it was started in). A client whose own hang-up request raises at the release (a timeout when
hundreds hang up at once) is reported as a teardown error, not as a lost call.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.timeline import Channel, load_index
from benchmarks.transport import asterisk_cpu_seconds


@dataclass
class Step:
    live_before: int
    started: int
    failed: int = 0
    connect_p50_ms: float = 0.0
    connect_p99_ms: float = 0.0
    seconds: float = 0.0
    client_cpu_s: float = 0.0
    asterisk_cpu_s: float = 0.0
    errors: list[str] = field(default_factory=list)


@dataclass
class RampResult:
    client: str
    steps: list[Step] = field(default_factory=list)
    held_clean: int = 0
    stopped: str = ""
    lost_while_held: int = 0     # a leg ended before the release (observer's clock)
    teardown_errors: int = 0     # connected, held, but the client's hang-up raised
    teardown_error: str = ""
    calls: list = field(default_factory=list)   # FlowTimes of the calls that ended cleanly
    timeline: dict | None = None


class RampHold:
    """The hold of one ramp call: says "connected", then waits for the ramp's release."""

    def __init__(self, release: asyncio.Event) -> None:
        self.connected = asyncio.get_running_loop().create_future()
        self.release = release
        self.started = time.perf_counter()
        self.legs: tuple[str, ...] = ()

    async def __call__(self, legs: tuple[str, str]) -> None:
        self.legs = legs
        if not self.connected.done():
            self.connected.set_result(time.perf_counter() - self.started)
        await self.release.wait()


async def one_call(flow, name: str, hold: RampHold):
    try:
        return await flow(name, hold=hold)
    except BaseException as exc:
        if not hold.connected.done():
            hold.connected.set_exception(exc)
        raise


async def run_step(flow, prefix: str, index: int, size: int, release: asyncio.Event,
                   timeout: float, tasks: list) -> tuple[list[RampHold], list]:
    holds, step_tasks = [], []
    begin = time.perf_counter()
    for n in range(size):
        await asyncio.sleep(max(0.0, begin + n / size - time.perf_counter()))
        hold = RampHold(release)
        holds.append(hold)
        step_tasks.append(asyncio.create_task(one_call(flow, f"{prefix}{index}-{n}", hold)))
    tasks.extend(step_tasks)
    await asyncio.wait([h.connected for h in holds], timeout=timeout)
    return holds, step_tasks


def tally_step(step: Step, holds: list[RampHold]) -> None:
    ok = []
    for hold in holds:
        if hold.connected.done() and hold.connected.exception() is None:
            ok.append(1000 * hold.connected.result())
        else:
            step.failed += 1
            if hold.connected.done() and len(step.errors) < 3:
                step.errors.append(repr(hold.connected.exception()))
    if len(ok) > 1:
        c = statistics.quantiles(ok, n=100, method="inclusive")
        step.connect_p50_ms, step.connect_p99_ms = c[49], c[98]


async def ramp(client: str, flow, pid: int, events: Path, size: int = 25, max_live: int = 400,
               step_timeout: float = 20.0, settle: float = 2.0, stop_share: float = 0.10) -> RampResult:
    result, release, tasks, all_holds = RampResult(client), asyncio.Event(), [], []
    live, clean, task_steps = 0, True, []
    while live < max_live:
        step = Step(live, size)
        cpu, ast, wall = time.process_time(), asterisk_cpu_seconds(pid), time.perf_counter()
        holds, step_tasks = await run_step(flow, f"r{client[:3]}", len(result.steps), size,
                                           release, step_timeout, tasks)
        await asyncio.sleep(settle)
        step.seconds = time.perf_counter() - wall
        step.client_cpu_s, step.asterisk_cpu_s = time.process_time() - cpu, asterisk_cpu_seconds(pid) - ast
        tally_step(step, holds)
        result.steps.append(step)
        task_steps += [len(result.steps) - 1] * len(step_tasks)
        all_holds += holds
        live += size - step.failed
        print(f"  ramp {client}: {live} live after step {len(result.steps)} "
              f"({step.failed} failed, connect p50 {step.connect_p50_ms:.0f} ms)", flush=True)
        clean = clean and step.failed == 0
        if clean:
            result.held_clean = live
        if step.failed > stop_share * size:
            result.stopped = f"step {len(result.steps)}: {step.failed} of {size} failed"
            break
    else:
        result.stopped = f"reached {max_live} live (the ramp's cap)"
    released = time.time()
    release.set()
    await finish(result, tasks, all_holds, task_steps, events, released)
    return result


def lost_while_held(hold: RampHold, index: dict[str, Channel], released: float) -> bool:
    """A connected call one of whose legs Asterisk hung up or destroyed before the release."""
    for leg in hold.legs:
        channel = index.get(leg, Channel())
        ended = [t for t in (channel.hangup_request, channel.destroyed) if t]
        if ended and min(ended) < released:
            return True
    return False


async def finish(result: RampResult, tasks: list, holds: list[RampHold], task_steps: list[int],
                 events: Path, released: float) -> None:
    """Hang everything up. A call is lost while held when, on the observer's clock, one of its
    legs ended before the release; a connected call whose hang-up raised (a client timeout
    when hundreds hang up at once) is a teardown error, counted apart."""
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(1.0)   # the last events reach the observer's file
    index = load_index(events)
    lost_steps = []
    for outcome, hold, step_index in zip(outcomes, holds, task_steps, strict=False):
        connected = hold.connected.done() and hold.connected.exception() is None
        if not isinstance(outcome, BaseException):
            result.calls.append(outcome)
        elif connected:
            result.teardown_errors += 1
            if not result.teardown_error:
                result.teardown_error = repr(outcome)
        if connected and lost_while_held(hold, index, released):
            lost_steps.append(step_index)
    result.lost_while_held = len(lost_steps)
    if lost_steps:
        result.held_clean = min(result.held_clean, result.steps[min(lost_steps)].live_before)
