"""P4 of issue 12: do ``call_duration`` and ``wait_for_pickup`` fire on time under load?

The in-process app (benchmarks/app_vs_bare.py's runtime) gets ``rate`` callbacks/s for
``seconds`` s. Of every 10 calls, 8 connect 1001 to 01002 with ``call_duration`` = ``hold``
(the app hangs up itself), one rings a destination that never answers (02001,
``wait_for_pickup`` = ``pickup``) and one an origin that never answers (2001, same limit). So
about ``rate * hold`` calls are live, as in the load run with holds. Lateness is measured as
benchmarks/limits.py does, on Asterisk's own event timestamps (the observer's file):

- ``call_duration``: the destination's ``Dial ANSWER`` -> the first ``ChannelHangupRequest``
  of the two legs, minus the limit;
- ``wait_for_pickup``, destination: its dial start -> its ``ChannelHangupRequest``, minus the limit;
- ``wait_for_pickup``, origin: its ``ChannelCreated`` -> its ``ChannelHangupRequest``, minus the limit.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from ari_callback.domain.request import CallbackRequest
from benchmarks.timeline import Channel, cuts, load_index
from benchmarks.transport import asterisk_cpu_seconds


@dataclass
class TimerCall:
    kind: str          # duration | dst_pickup | src_pickup
    limit: float
    call_id: str = ""
    error: str = ""


@dataclass
class TimerResult:
    started: int = 0
    failed: int = 0
    app_cpu_ms_per_call: float = 0.0
    asterisk_cpu_ms_per_call: float = 0.0
    lateness: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def request_for(n: int, hold: float, pickup: float) -> tuple[TimerCall, CallbackRequest]:
    if n % 10 == 3:
        return TimerCall("dst_pickup", pickup), CallbackRequest(src=["1001"], dst="02001", wait_for_pickup=int(pickup))
    if n % 10 == 8:
        return TimerCall("src_pickup", pickup), CallbackRequest(src=["2001"], dst="01002", wait_for_pickup=int(pickup))
    return TimerCall("duration", hold), CallbackRequest(src=["1001"], dst="01002", call_duration=int(hold))


async def one(service, call: TimerCall, request: CallbackRequest) -> TimerCall:
    engine = service.engine
    try:
        callback_id = await service.create(request, client_id="default", api="native")
        pause, deadline = 0.002, time.time() + 30
        while (runner := engine.by_callback.get(callback_id)) is None:
            if time.time() > deadline:
                raise TimeoutError("not claimed in 30 s")
            await asyncio.sleep(pause)
            pause = min(2 * pause, 0.05)
        call.call_id = runner.call_id
        await asyncio.wait_for(runner.done.wait(), call.limit + 60)
    except Exception as exc:   # noqa: BLE001 - reported, not raised: the run goes on
        call.error = repr(exc)
    return call


def lateness(call: TimerCall, index: dict[str, Channel]) -> float | None:
    src = index.get(f"cb-{call.call_id}-src0", Channel())
    dst = index.get(f"cb-{call.call_id}-dst", Channel())
    if call.kind == "duration":
        hangups = [t for t in (src.hangup_request, dst.hangup_request) if t]
        start, end = dst.dial_answer, min(hangups) if hangups else None
    elif call.kind == "dst_pickup":
        start, end = dst.dial_start, dst.hangup_request
    else:
        start, end = src.created, src.hangup_request
    return end - start - call.limit if start and end else None


async def timer_run(service, observer_path, pid: int, rate: float = 20.0, seconds: float = 30.0,
                    hold: float = 10.0, pickup: float = 2.0) -> TimerResult:
    result = TimerResult()
    cpu, ast = time.process_time(), asterisk_cpu_seconds(pid)
    tasks, begin = [], time.perf_counter()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, begin + n / rate - time.perf_counter()))
        call, request = request_for(n, hold, pickup)
        tasks.append(asyncio.create_task(one(service, call, request)))
    calls = await asyncio.gather(*tasks)
    result.started = len(calls)
    result.app_cpu_ms_per_call = 1000 * (time.process_time() - cpu) / len(calls)
    result.asterisk_cpu_ms_per_call = 1000 * (asterisk_cpu_seconds(pid) - ast) / len(calls)
    await asyncio.sleep(1.0)   # the last events reach the observer's file
    index = load_index(observer_path)
    values: dict[str, list[float]] = {"duration": [], "dst_pickup": [], "src_pickup": []}
    for call in calls:
        late = lateness(call, index) if not call.error else None
        if late is None:
            result.failed += 1
            if len(result.errors) < 5:
                result.errors.append(f"{call.kind}: {call.error or 'events missing'}")
        else:
            values[call.kind].append(late)
    result.lateness = {kind: dict(cuts(v), max=1000 * max(v) if v else 0.0) for kind, v in values.items()}
    return result


def print_timers(r: TimerResult, rate: float, hold: float) -> None:
    print(f"\nP4: timers under the app's load ({r.started} callbacks at {rate:g}/s, call_duration "
          f"{hold:g} s; {r.failed} without figures); lateness on Asterisk's clock, ms")
    print("| timer | n | p50 | p95 | p99 | max |\n|---|---|---|---|---|---|")
    for kind, c in r.lateness.items():
        if "p50" in c:
            print(f"| {kind} | {c['n']} | {c['p50']:.1f} | {c['p95']:.1f} | {c['p99']:.1f} | {c['max']:.1f} |")
    print(f"app CPU {r.app_cpu_ms_per_call:.1f} ms / call, Asterisk {r.asterisk_cpu_ms_per_call:.1f} ms / call")
    for error in r.errors:
        print(f"  {error}")
