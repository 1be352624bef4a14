"""A bare ARI client running one callback flow: the baseline the app is measured against.

The flow (the same for every client in benchmarks/transport.py): originate the origin
``Local/<src>@test-phones`` into our app; when it answers (``StasisStart``) bridge it; create the
destination ``Local/<dst>@dst-route``, add it to the bridge, dial it; "connected" is its
``Dial ANSWER``. Then hang up both legs and destroy the bridge. Channel formats are ``ulaw``
(Local channels default to slin192, which costs Asterisk a lot of CPU).

It uses the project's own AriClient and EventStream, and nothing of the engine, so it shows
what the transport costs. Ids start with ``tp-``: the app's reconciliation owns ``cb-*``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ari_callback.ari.client import AriClient
from ari_callback.ari.models import ChannelDestroyed, Dial, Event, StasisStart

Predicate = Callable[[Event], bool]


class EventLog:
    """Every event the stream hands over, and waiting for one that matches."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._waiters: list[tuple[Predicate, asyncio.Future[Event]]] = []

    async def add(self, event: Event) -> None:
        self.events.append(event)
        for waiter in list(self._waiters):
            predicate, future = waiter
            if not future.done() and predicate(event):
                future.set_result(event)
                self._waiters.remove(waiter)

    async def wait(self, predicate: Predicate, since: int, timeout: float = 10.0) -> Event:
        """The first event from index ``since`` on that matches, waiting if none has come."""
        for event in self.events[since:]:
            if predicate(event):
                return event
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)


def stasis_start(channel_id: str) -> Predicate:
    return lambda e: isinstance(e, StasisStart) and e.channel.id == channel_id


def answered(channel_id: str) -> Predicate:
    return lambda e: isinstance(e, Dial) and e.peer.id == channel_id and e.dialstatus == "ANSWER"


def destroyed(channel_id: str) -> Predicate:
    return lambda e: isinstance(e, ChannelDestroyed) and e.channel.id == channel_id


@dataclass
class FlowTimes:
    """Seconds from the originate request on the client's clock (origin in Stasis, destination
    answered), and the stamps benchmarks/timeline.py times against Asterisk's events: the
    client's wall clock at the request and at the hang-up request, and the legs' channel ids
    (``destination`` empty when Asterisk named it: AMI's Dial())."""

    origin_answered: float
    connected: float
    requested: float = 0.0
    hangup: float = 0.0
    origin: str = ""
    destination: str = ""


Hold = float | Callable[[tuple[str, str]], Awaitable[None]]


async def held(hold: Hold, legs: tuple[str, str]) -> None:
    """Keep a connected call: ``hold`` seconds, or until ``hold(legs)`` returns (the ramp's
    hold, which is told that the call is connected and which channels to watch)."""
    if callable(hold):
        await hold(legs)
    else:
        await asyncio.sleep(hold)


async def callback_flow(ari: AriClient, log: EventLog, app: str, name: str,
                        src: str = "1001", dst: str = "1002", hold: Hold = 0.0) -> FlowTimes:
    """One callback, start to end, the parties connected for ``hold`` seconds; returns its
    times. Raises if a step fails or times out."""
    src_id, dst_id, bridge_id = f"tp-{name}-src0", f"tp-{name}-dst", f"tp-{name}"
    mark, started, requested = len(log.events), time.perf_counter(), time.time()
    await ari.originate(f"Local/{src}@test-phones", channel_id=src_id, app=app, formats="ulaw")
    await log.wait(stasis_start(src_id), mark)
    origin_answered = time.perf_counter() - started
    await ari.create_bridge(bridge_id, name=f"tp:{name}")
    await ari.add_channel(bridge_id, src_id)
    await ari.create_channel(f"Local/{dst}@dst-route", channel_id=dst_id, app=app, formats="ulaw")
    await log.wait(stasis_start(dst_id), mark)
    await ari.add_channel(bridge_id, dst_id)
    await ari.dial(dst_id, timeout=0)
    await log.wait(answered(dst_id), mark)
    connected = time.perf_counter() - started
    await held(hold, (src_id, dst_id))
    hangup = time.time()
    # Look for the hang-ups only from here: under load the log grows by thousands of events
    # per hold, and scanning them would bill the client for the benchmark's own bookkeeping.
    await hang_up(ari, log, len(log.events), [src_id, dst_id], bridge_id)
    return FlowTimes(origin_answered, connected, requested, hangup, src_id, dst_id)


async def hang_up(ari: AriClient, log: EventLog, mark: int, channel_ids: list[str],
                  bridge_id: str) -> None:
    for channel_id in channel_ids:
        await ari.hangup(channel_id, reason="normal")
    for channel_id in channel_ids:
        await log.wait(destroyed(channel_id), mark)
    await ari.destroy_bridge(bridge_id)
