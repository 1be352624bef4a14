"""R16: how precisely the limits fire on a real Asterisk, measured on Asterisk's own clock.

For each limit, N callbacks run one after another through the real app (in this process) on
the bundled Asterisk (its own container and ports, so it runs beside the tests), and the
error is read from the timestamps of the events Asterisk sent to an observer app:

- call_duration: from the destination's `Dial ANSWER` to the first `ChannelHangupRequest`
  of the call's legs, minus call_duration;
- wait_for_pickup (destination): from the start of the destination's dial (`Dial` with an
  empty status) to its `ChannelHangupRequest`, minus wait_for_pickup;
- wait_for_pickup (origins): from the origin's `ChannelCreated` to its `ChannelHangupRequest`;
- the other leg: from the first leg's hangup request to the other leg's `ChannelDestroyed`.

    .venv/bin/python benchmarks/limits.py [--calls 20]

Prints the error distribution in milliseconds (p50, p95, max, mean) for each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ari_callback.ari.stream import EventStream  # noqa: E402
from ari_callback.bundled import BundledAsterisk  # noqa: E402
from ari_callback.domain.request import CallbackRequest  # noqa: E402
from ari_callback.service import runtime  # noqa: E402
from tests.e2e.conftest import Observer, make_settings  # noqa: E402


def ts(event) -> float:
    return event.timestamp.timestamp()


def first(events, kind, channel_id, status=None):
    for e in events:
        if e.type != kind:
            continue
        channel = getattr(e, "peer", None) if kind == "Dial" else getattr(e, "channel", None)
        if channel is not None and channel.id == channel_id and (status is None or e.dialstatus == status):
            return e
    raise LookupError(f"no {kind} {status or ''} for {channel_id}")


async def one(service, observer, body: dict) -> tuple[str, list]:
    mark = observer.mark()
    call_id = await service.create(CallbackRequest(**body), client_id="default", api="native")
    while call_id in service.engine.runners:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)   # the last ChannelDestroyed events reach the observer
    return call_id, observer.events[mark:]


def duration_error(call_id, events, limit) -> tuple[float, float]:
    src, dst = f"cb-{call_id}-src0", f"cb-{call_id}-dst"
    answered = ts(first(events, "Dial", dst, "ANSWER"))
    hangups = sorted((ts(first(events, "ChannelHangupRequest", leg)), leg) for leg in (src, dst))
    other = dst if hangups[0][1] == src else src
    gone = ts(first(events, "ChannelDestroyed", other))
    return hangups[0][0] - answered - limit, gone - hangups[0][0]


def dst_ring_error(call_id, events, limit) -> float:
    dst = f"cb-{call_id}-dst"
    return ts(first(events, "ChannelHangupRequest", dst)) - ts(first(events, "Dial", dst, "")) - limit


def src_ring_error(call_id, events, limit) -> float:
    src = f"cb-{call_id}-src0"
    return ts(first(events, "ChannelHangupRequest", src)) - ts(first(events, "ChannelCreated", src)) - limit


def report(name: str, values: list[float]) -> None:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    print(f"{name:<34} n={len(ms):<3} p50={statistics.median(ms):7.1f} ms  p95={p95:7.1f} ms  "
          f"max={max(ms):7.1f} ms  mean={statistics.fmean(ms):7.1f} ms")


async def main(calls: int) -> None:
    bundled = BundledAsterisk(name="ari-callback-asterisk-bench", http_port=38088, sip_port=35060)
    bundled.up()
    observer = Observer()
    stream = EventStream(bundled.url, bundled.username, bundled.password, "cb-bench-observer", subscribe_all=True)
    task = asyncio.create_task(stream.run(observer.add))
    try:
        with tempfile.TemporaryDirectory() as data:
            settings = make_settings(bundled, Path(data))
            async with runtime(settings) as service:
                await asyncio.wait_for(service.engine.connected.wait(), 30)
                durations, others, dst_rings, src_rings = [], [], [], []
                for _ in range(calls):
                    cid, evs = await one(service, observer, {"src": ["1001"], "dst": "1002", "call_duration": 2})
                    error, other = duration_error(cid, evs, 2)
                    durations.append(error)
                    others.append(other)
                    cid, evs = await one(service, observer, {"src": ["1001"], "dst": "2001", "wait_for_pickup": 2})
                    dst_rings.append(dst_ring_error(cid, evs, 2))
                    cid, evs = await one(service, observer, {"src": ["2001"], "dst": "1001", "wait_for_pickup": 2})
                    src_rings.append(src_ring_error(cid, evs, 2))
        report("call_duration error", durations)
        report("wait_for_pickup error (destination)", dst_rings)
        report("wait_for_pickup error (origin)", src_rings)
        report("other leg destroyed after", others)
    finally:
        await stream.stop()
        task.cancel()
        bundled.down()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20)
    asyncio.run(main(parser.parse_args().calls))
