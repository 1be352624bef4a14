"""The engine: runs attempts, routes Asterisk's events to them, reconciles after (re)connects.

Asterisk keeps channels in Stasis while our websocket is down but drops the events meanwhile
and never replays them. So after every (re)connect we compare what we believe with what
Asterisk has: legs that vanished are fed to their calls as destroyed, and channels or bridges
*of our own Stasis app* that no attempt owns are removed. Another instance's channels and
bridges live in its own app and are never touched here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable

from ..ari import models as ari_models
from ..ari.client import AriClient
from ..ari.errors import AriError
from ..domain import events as ev
from ..domain.customer import RetryTerms
from ..domain.machine import CallMachine
from ..store import Lease
from . import executor as asterisk
from .call import CallRunner
from .metrics import StepTimes
from .translate import leg_of, translate

log = logging.getLogger("ari_callback.engine")


class Engine:
    def __init__(self, ari: AriClient, store, app: str, clock: Callable[[], float] = time.time,
                 origin_context: str | None = None):
        self.ari, self.store, self.app, self.clock = ari, store, app, clock
        self.origin_context = origin_context or None   # see Executor
        self.runners: dict[str, CallRunner] = {}       # by attempt id (what channel ids carry)
        self.by_callback: dict[str, CallRunner] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()   # set once reconciled after a (re)connect
        self._link: asyncio.Event | None = None
        self.step_times = StepTimes()      # the app's own time per event, read by benchmarks
        self.finished: Counter[tuple[str, str]] = Counter()   # (state, status_detail): for /metrics
        self.triggers = None               # see take_triggers

    def attach(self, link: asyncio.Event) -> None:
        """The stream's own connected flag: cleared the moment the websocket drops."""
        self._link = link

    def take_triggers(self, desk) -> None:
        """The dialplan triggers' desk (``triggers.desk.TriggerDesk``): it gets the StasisStart of
        a channel the dialplan hands to our app with a trigger verb, and that channel's events.
        Given after construction because the desk needs the services built on this engine."""
        self.triggers = desk

    def ready(self) -> bool:
        """Connected and reconciled: only then may calls be originated."""
        return self.connected.is_set() and (self._link is None or self._link.is_set())

    @property
    def active_calls(self) -> int:
        return len(self.runners)

    def start(self, machine: CallMachine, lease: Lease, retry: RetryTerms | None = None) -> CallRunner:
        """Register the attempt's queue, then start its task (which originates the legs)."""
        return self._run(machine, lease, ev.Start(), retry)

    async def adopt(self, machine: CallMachine, lease: Lease, retry: RetryTerms | None = None) -> CallRunner:
        """Take back a call that was running (on this instance before a restart, or on one that
        died): subscribe to its channels and bridge, so their events reach us whichever app they
        are in, re-arm its timers with the time left, and feed it what it missed."""
        runner = self._run(machine, lease, ev.Resume(), retry)
        runner.adopt()
        try:
            await asterisk.subscribe(self.ari, self.app, sorted(runner.executor.created),
                                     machine.bridge_id if machine.bridge_created else None)
            if self.origin_context is not None:
                await asterisk.redirect_origins(self.ari, self.app, _ringing_origins(machine))
            await self.catch_up([runner])
        except AriError as exc:   # the call runs, its timers re-armed: the next reconcile catches up
            log.warning("call %s adopted but not caught up yet: %s", machine.plan.call_id, exc)
        log.info("call %s adopted in state %s", machine.plan.call_id, machine.state)
        return runner

    def _run(self, machine: CallMachine, lease: Lease, first: ev.CallEvent,
             retry: RetryTerms | None = None) -> CallRunner:
        runner = CallRunner(machine, self.ari, self.app, self.store, self.clock, lease, self.step_times, retry,
                            self.origin_context)
        call_id = machine.plan.call_id
        self.runners[call_id] = runner
        self.by_callback[lease.callback_id] = runner
        task = asyncio.create_task(runner.run(first), name=f"call-{call_id}")
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._finished, runner))
        return runner

    def _finished(self, runner: CallRunner, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.runners.pop(runner.call_id, None)
        if runner.machine.finished and not runner.lost:   # a lost call is finished by its new owner
            self.finished[(runner.machine.state, runner.machine.status_detail)] += 1
        if self.by_callback.get(runner.lease.callback_id) is runner:
            del self.by_callback[runner.lease.callback_id]

    def cancel(self, callback_id: str, reason: str = "cancelled") -> bool:
        """Cancel the callback's running attempt, once; False if none runs here."""
        runner = self.by_callback.get(callback_id)
        if runner is None:
            return False
        if not runner.cancel_posted:
            runner.cancel(reason)
        return True

    def abandon(self, callback_ids: Iterable[str]) -> None:
        """These callbacks have another owner now: stop their attempts without a hang-up.

        A renewal misses a call that ended while it ran (its final save released the lease),
        so a finished call is not one to let go: its task still hangs up and destroys what the
        call leaves, and if another instance did take it, that final save met ``LeaseLost``."""
        for callback_id in callback_ids:
            runner = self.by_callback.get(callback_id)
            if runner is not None and not runner.machine.finished:
                log.warning("callback %s is held by another instance now; letting go", callback_id)
                runner.abandon()

    async def handle(self, event: ari_models.Event) -> None:
        """Called by the event stream for each event, in order; never blocks on a call."""
        arrived_at = time.perf_counter()
        if self.triggers is not None and self.triggers.wants(event):
            self.triggers.post(event)
            return
        for call_id, call_event in translate(event):
            runner = self.runners.get(call_id)
            if runner is not None:
                runner.post(call_event, arrived_at)

    async def reconcile(self) -> None:
        """After a (re)connect: catch every call up, then remove what our app has that no call
        owns."""
        state = await self.catch_up(list(self.runners.values()))
        orphans = [cid for cid in state.app_channel_ids
                   if (leg := leg_of(cid)) is not None and leg[0] not in self.runners]
        bridges = [bid for bid in state.app_bridge_ids if bid.startswith("cb-") and bid[3:] not in self.runners]
        if orphans or bridges:
            log.warning("removing %d orphan channels and %d orphan bridges", len(orphans), len(bridges))
        await asterisk.remove(self.ari, orphans, bridges)
        if self.triggers is not None and (released := await self.triggers.release_strays(state.app_channel_ids)):
            log.warning("handed %d trigger channels left by a previous run back to the dialplan", released)

    async def catch_up(self, runners: list[CallRunner]) -> asterisk.AsteriskState:
        """Feed each call what happened on Asterisk while nobody listened."""
        # Only legs Asterisk had accepted before we look can be missing from what we see.
        candidates = [(runner, leg_id) for runner in runners for leg_id in runner.executor.created]
        state = await asterisk.snapshot(self.ari, self.app)
        lost = set()
        for runner, leg_id in candidates:
            leg = runner.machine.legs.get(leg_id)
            if leg is None or leg.destroyed:
                continue
            if leg_id not in state.channel_ids:
                if _restarted_since(state, leg.created_at) and runner not in lost:
                    lost.add(runner)   # first, so the call is not put down to a party hanging up
                    runner.post(ev.AsteriskLost(f"Asterisk restarted at {state.started_at:.3f}"))
                runner.post(ev.LegDestroyed(leg_id, None, "gone while we were disconnected"))
            elif not leg.answered and leg_id in state.up and (leg.role != "src" or leg_id in state.stasis):
                # An origin counts as answered once it is in Stasis (as StasisStart says).
                runner.post(ev.LegAnswered(leg_id))
            elif leg.role != "src" and leg.dialled_at is None and leg_id in state.stasis:
                # Created, in Stasis, never dialled: its StasisStart went to an app that was gone.
                runner.post(ev.LegReady(leg_id))
        return state

    async def sweep(self, finished: Callable[[set[str]], Awaitable[set[str]]]) -> None:
        """Remove what attempts that are over left on Asterisk, whoever ran them: a request a
        dying instance had already sent can still be carried out after its calls were adopted
        and ended (Asterisk works through a websocket's requests in order), leaving a bridge or
        a channel nobody owns. ``finished`` says which attempt ids the store has as over."""
        channels, bridges = await asterisk.ours_everywhere(self.ari)
        owners = {cid: leg[0] for cid in channels if (leg := leg_of(cid)) is not None}
        owners.update({bid: bid[3:] for bid in bridges})
        candidates = set(owners.values()) - set(self.runners)
        if not candidates:
            return
        over = await finished(candidates)
        stale = [cid for cid in channels if owners.get(cid) in over]
        stale_bridges = [bid for bid in bridges if owners[bid] in over]
        if stale or stale_bridges:
            log.warning("sweeping %d channels and %d bridges of finished attempts", len(stale), len(stale_bridges))
            await asterisk.remove(self.ari, stale, stale_bridges)

    async def clear(self, channel_ids: list[str], bridge_id: str) -> None:
        """Hang up and destroy what an attempt that cannot run left on Asterisk."""
        await asterisk.remove(self.ari, channel_ids, [bridge_id])

    async def shutdown(self, grace: float = 8.0) -> None:
        """End every call (hang up, destroy bridges) within ``grace`` seconds, then stop."""
        for callback_id in list(self.by_callback):
            self.cancel(callback_id, reason="shutdown")
        if self._tasks:
            done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2.0)


def _ringing_origins(machine: CallMachine) -> list[str]:
    return sorted(leg.id for leg in machine.legs.values()
                  if leg.role == "src" and not leg.answered and not leg.destroyed)


def _restarted_since(state: asterisk.AsteriskState, created_at: float | None) -> bool:
    return state.started_at is not None and created_at is not None and state.started_at > created_at
