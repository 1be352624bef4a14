"""The four latencies of issue 12 item 6, from the observer's file (benchmarks/observer.py).

Every client's call is timed the same way: the client's wall clock (``time.time()``) when it
asked for the callback and when it asked for the hang-up, against Asterisk's event timestamps
(same machine, same kernel clock; Asterisk's stamps are cut to the millisecond, so they read
0.5 ms early on average):

- ``created``: request -> the origin's ``ChannelCreated``;
- ``dialled``: the origin's answer (its ``ChannelStateChange`` to Up, else ``Dial ANSWER``)
  -> the destination's dial start (``Dial`` with an empty status, the destination as peer);
- ``connected``: request -> the destination's ``Dial ANSWER``;
- ``gone``: the client's hang-up request -> the later ``ChannelDestroyed`` of the two legs.

The legs are the channels the client controls (the ``;1`` half of each Local channel); for AMI
the destination is the peer that ``Dial()`` dialled with the origin as the caller.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

MEASURES = ("created", "dialled", "connected", "gone")
TITLES = {"created": "request -> origin created", "dialled": "origin answered -> destination dialled",
          "connected": "request -> connected", "gone": "hang-up -> both legs gone"}


@dataclass
class Channel:
    created: float | None = None
    up: float | None = None
    dial_start: float | None = None
    dial_answer: float | None = None
    hangup_request: float | None = None
    destroyed: float | None = None
    dialled: list[str] = field(default_factory=list)   # peers it dialled as the caller


def first(channel: Channel, name: str, stamp: float) -> None:
    if getattr(channel, name) is None:
        setattr(channel, name, stamp)


def apply(index: dict[str, Channel], row: list) -> None:
    kind, stamp, chan, peer, caller, status, state = row
    if kind == "Dial":
        target = index.setdefault(peer, Channel())
        if status == "":
            first(target, "dial_start", stamp)
            if caller:
                index.setdefault(caller, Channel()).dialled.append(peer)
        elif status == "ANSWER":
            first(target, "dial_answer", stamp)
        return
    channel = index.setdefault(chan, Channel())
    if kind == "ChannelCreated":
        first(channel, "created", stamp)
    elif kind == "ChannelStateChange" and state == "Up":
        first(channel, "up", stamp)
    elif kind == "ChannelHangupRequest":
        first(channel, "hangup_request", stamp)
    elif kind == "ChannelDestroyed":
        first(channel, "destroyed", stamp)


def load_index(path: Path) -> dict[str, Channel]:
    index: dict[str, Channel] = {}
    with path.open() as rows:
        for line in rows:
            if line.endswith("\n"):
                apply(index, json.loads(line))
    return index


def destination_of(times, index: dict[str, Channel]) -> str | None:
    if times.destination:
        return times.destination
    origin = index.get(times.origin)
    return origin.dialled[0] if origin and origin.dialled else None


def measures(times, index: dict[str, Channel]) -> dict[str, float | None]:
    """Seconds for each measure of one call (None where an event is missing)."""
    src = index.get(times.origin, Channel())
    dst = index.get(destination_of(times, index) or "", Channel())
    up = src.up or src.dial_answer
    legs_gone = (max(src.destroyed, dst.destroyed)
                 if src.destroyed and dst.destroyed and times.hangup else None)

    def since(stamp: float | None, start: float | None) -> float | None:
        return stamp - start if stamp is not None and start else None
    return {"created": since(src.created, times.requested),
            "dialled": since(dst.dial_start, up),
            "connected": since(dst.dial_answer, times.requested),
            "gone": since(legs_gone, times.hangup)}


def cuts(values: list[float]) -> dict[str, float]:
    """p50/p95/p99 in ms, and how many."""
    if len(values) < 2:
        return {"n": len(values)}
    c = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "p50": 1000 * c[49], "p95": 1000 * c[94], "p99": 1000 * c[98]}


def summarise(calls: list, index: dict[str, Channel]) -> dict[str, dict[str, float]]:
    """The four measures' percentiles over ``calls`` (FlowTimes with their stamps)."""
    values: dict[str, list[float]] = {m: [] for m in MEASURES}
    for times in calls:
        for name, value in measures(times, index).items():
            if value is not None:
                values[name].append(value)
    return {name: cuts(v) for name, v in values.items()}


def fmt(c: dict[str, float]) -> str:
    if "p50" not in c:
        return f"n/a (n={c.get('n', 0)})"
    return f"{c['p50']:.1f} / {c['p95']:.1f} / {c['p99']:.1f}"
