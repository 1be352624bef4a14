"""The dispatcher: claims work from the store under a lease and hands it to the engine.

Work is never taken from memory: a callback is stored first, then claimed (one statement, see
``store.dispatch``) by an instance whose Asterisk is connected. While an attempt runs, its
owner renews every lease it holds in one statement; an instance that dies stops renewing, and
once its leases lapse another instance serving the same Asterisk adopts its calls
(``Engine.adopt``: subscribe, catch up, re-arm the limits). Cancel requests made on any
instance are marked in the store and found here by polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from ..customer_schema import retry_terms
from ..domain.customer import ACTIVE, CallOption, RetryTerms
from ..domain.machine import CallMachine
from ..domain.plan import CallPlan
from ..domain.snapshot import machine_from_snapshot, plan_from_dict
from ..loops import run_forever
from ..stats import DispatchStats
from ..store import Claim, Lease, Progress, StoreError
from .engine import Engine

log = logging.getLogger("ari_callback.dispatcher")
NOT_READY_PAUSE_S = 0.1
BUSY_PAUSE_S = 0.05


@dataclass(frozen=True)
class DispatchSettings:
    instance: str
    asterisk: str = "default"
    lease_seconds: float = 15.0
    claim_batch: int = 50
    max_calls: int = 200
    poll_interval: float = 1.0
    cancel_poll_interval: float = 0.25
    sweep_interval: float = 5.0


class Dispatcher:
    def __init__(self, store, engine: Engine, settings: DispatchSettings,
                 clock: Callable[[], float] = time.time,
                 options: Callable[[], Awaitable[Mapping[str, CallOption]]] | None = None):
        self.store, self.engine, self.settings, self.clock = store, engine, settings, clock
        self.options = options   # the call options by sid, for their waitlists
        self._wake = asyncio.Event()
        self._launching: set[str] = set()   # claimed, not yet handed to the engine
        self._held: set[str] = set()   # callbacks whose lease the last renewal extended
        self._recovered = False
        self._tasks: list[asyncio.Task[None]] = []
        self.stats = DispatchStats()   # for /metrics

    def poke(self) -> None:
        """Something is due now (a callback was just created here): look at once."""
        self._wake.set()

    def start(self) -> None:
        loops = {"dispatch": self._dispatch_loop, "leases": self._lease_loop, "adoption": self._adopt_loop,
                 "cancels": self._cancel_loop, "cancel-notices": self._cancel_notices, "sweep": self._sweep_loop}
        self._tasks = [asyncio.create_task(self._forever(name, loop), name=f"dispatcher-{name}")
                       for name, loop in loops.items()]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def on_connect(self) -> None:
        """After each (re)connect, before events flow: the first time, take back the calls this
        instance ran before it restarted; then reconcile. Only then is new work claimed."""
        self.engine.connected.clear()
        try:
            if not self._recovered:
                s = self.settings
                await self._launch_all(await self.store.claim_orphans(
                    s.instance, s.asterisk, self.clock(), s.lease_seconds, limit=100_000, own=True))
                self._recovered = True
            await self.engine.reconcile()
        except Exception:
            log.exception("recovery after connect failed; it runs again on the next connect")
        self.engine.connected.set()
        self.poke()

    # ----------------------------------------------------------------------- the loops
    async def _forever(self, name: str, loop: Callable[[], Awaitable[object]]) -> None:
        await run_forever(f"dispatcher {name}", loop, self.settings.poll_interval, log)

    async def _dispatch_loop(self) -> None:
        s = self.settings
        while True:
            if not self.engine.ready():   # work goes only to an instance whose Asterisk is there
                await asyncio.sleep(NOT_READY_PAUSE_S)   # not _pause: a poke would make it spin
                continue
            woken = self._wake.is_set()
            self._wake.clear()
            room = min(s.claim_batch, s.max_calls - self.engine.active_calls - len(self._launching))
            if room <= 0:   # as many calls as this instance takes: look again when one may have ended
                await asyncio.sleep(BUSY_PAUSE_S)
                continue
            now = self.clock()
            due = None if woken else await self.store.next_due(s.asterisk)
            if woken or (due is not None and due <= now):
                if await self._claim(now, room):
                    continue
                due = await self.store.next_due(s.asterisk)
                if due is not None and due <= self.clock():
                    due = None   # due but held back (its option closed or full): look again later
            await self._pause(s.poll_interval if due is None else min(s.poll_interval, max(0.0, due - self.clock())))

    async def _claim(self, now: float, room: int) -> int:
        """Claim and launch what is due: click-to-calls, then each open option's waitlist as
        far as its capacity allows. How many were launched."""
        s = self.settings
        claims = []
        if await self.store.click_to_calls_due(s.asterisk, now):   # a read first: see the store's method
            claims = await self.store.claim_due(s.instance, s.asterisk, now, s.lease_seconds, room)
            self.stats.record("click_to_call", claims, self.clock())
        await self._launch_all(claims)
        launched, room = len(claims), room - len(claims)
        if self.options is None or room <= 0:
            return launched
        due = await self.store.due_options(s.asterisk, now)
        catalog = await self.options() if due else {}
        for sid in due:
            option = catalog.get(sid)
            if room <= 0 or option is None or not _dialling(option, now):
                continue
            claims = await self.store.claim_option(s.instance, s.asterisk, sid, option.capacity, now,
                                                   s.lease_seconds, limit=room, clock=self.clock)
            self.stats.record("waitlist", claims, self.clock())
            await self._launch_all(claims)
            launched, room = launched + len(claims), room - len(claims)
        return launched

    async def _pause(self, seconds: float) -> None:
        """Sleep until ``seconds`` pass or something is poked."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _lease_loop(self) -> None:
        """Renewing alone: adopting a hundred calls takes seconds, and a renewal queued behind
        them would let this instance's own leases lapse while it is alive and well."""
        s = self.settings
        while True:
            await asyncio.sleep(s.lease_seconds / 3)
            running = set(self.engine.by_callback)   # before renewing: a claim made meanwhile is ours
            self._held = await self.store.renew_leases(s.instance, self.clock(), s.lease_seconds)
            self.engine.abandon(running - self._held)

    async def _adopt_loop(self) -> None:
        s = self.settings
        while True:
            await asyncio.sleep(s.lease_seconds / 3)
            if not self.engine.ready():
                continue
            # Held but run by no attempt here (its task died before its outcome was saved):
            # recovered like a call after a restart, so it cannot stay "dialling" for ever.
            stray = self._held - set(self.engine.by_callback) - self._launching
            if stray:
                await self._launch_all(await self.store.claim_orphans(
                    s.instance, s.asterisk, self.clock(), s.lease_seconds, limit=len(stray), own=True, only=stray))
            await self._launch_all(await self.store.claim_orphans(
                s.instance, s.asterisk, self.clock(), s.lease_seconds, limit=s.claim_batch))

    async def _cancel_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.cancel_poll_interval)
            if self.engine.by_callback:
                for callback_id in await self.store.cancel_requests(self.settings.instance):
                    self.engine.cancel(callback_id)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_interval)
            if self.engine.ready():
                # What ended within the last interval is left to its owner, which is tearing it down.
                ended_before = self.clock() - self.settings.sweep_interval
                await self.engine.sweep(functools.partial(self.store.finished_attempts, ended_before=ended_before))

    async def _cancel_notices(self) -> None:
        """PostgreSQL pushes cancel requests as they commit; the polling above is the backstop."""
        await self.store.listen_for_cancels(self.engine.cancel)
        await asyncio.Event().wait()   # nothing pushed on this database: only the polling

    # ------------------------------------------------------------------------ launching
    async def _launch_all(self, claims: list[Claim]) -> None:
        self._launching.update(claim.callback_id for claim in claims)
        try:
            for claim in claims:
                await self._launch(claim)
                self._launching.discard(claim.callback_id)
        finally:
            self._launching.difference_update(claim.callback_id for claim in claims)

    async def _launch(self, claim: Claim) -> None:
        lease = Lease(claim.callback_id, claim.attempt.id, claim.client_id, self.settings.instance, claim.fence)
        try:
            plan = _attempt_plan(plan_from_dict(claim.plan or {}), claim)
        except (ValueError, TypeError, KeyError) as exc:
            log.error("callback %s has no plan this version can run (%s); it fails", claim.callback_id, exc)
            await self._give_up(lease, claim, "unrecoverable")
            return
        retry = _retry_terms(claim)
        if not claim.adopted or claim.attempt.state == "new":
            # A fresh attempt, or one whose first step never got saved: nothing was dialled yet.
            self.engine.start(CallMachine(plan), lease, retry)
            return
        try:
            machine = _recovered(claim)
        except (ValueError, TypeError, KeyError) as exc:
            log.error("callback %s: its stored call cannot be put back (%s); it fails", claim.callback_id, exc)
            await self._give_up(lease, claim, "unrecoverable")
            return
        await self.engine.adopt(machine, lease, retry)
        if claim.cancel_requested:
            self.engine.cancel(claim.callback_id)

    async def _give_up(self, lease: Lease, claim: Claim, detail: str) -> None:
        """Record the attempt as failed; its channels, if any, are orphans for reconcile."""
        now = self.clock()
        progress = Progress(state="failed", status_detail=detail, ended_by="", winner_leg=claim.attempt.winner_leg,
                            connected_at=claim.attempt.connected_at, ended_at=now, at=now, legs=(), timeline=(),
                            previous_state=claim.attempt.state, final=True)
        try:
            await self.store.save_attempt(lease, progress)
        except StoreError:
            log.exception("callback %s: could not record its failure", claim.callback_id)
            return
        if claim.adopted:   # its channels may sit in a dead instance's app: nobody else ends them
            live = [leg["id"] for leg in claim.attempt.legs if leg.get("ended_at") is None]
            await self.engine.clear(live, f"cb-{claim.attempt.id}")


def _recovered(claim: Claim) -> CallMachine:
    """The machine of an attempt that was running, exactly as it was after its last saved step:
    its stored snapshot, with the timeline from the timeline table. Every step saves one, so
    only an attempt stored by a version before snapshots lacks it, and such a callback has no
    stored plan either (migration 0002): it never gets here."""
    a = claim.attempt
    if a.snapshot is None:
        raise ValueError(f"attempt {a.id} in state {a.state!r} has no stored machine")
    timeline = [{"at": e["at"], "kind": e["kind"], "leg_id": e.get("leg_id"), "detail": dict(e.get("detail") or {})}
                for e in a.timeline]
    return machine_from_snapshot({**a.snapshot, "timeline": timeline})


def _dialling(option: CallOption, now: float) -> bool:
    """An option's waitlist is dialled while it is active and open; paused or closed, or out of
    hours, its callbacks keep their places and wait."""
    return option.status == ACTIVE and option.hours.is_open(now)


def _retry_terms(claim: Claim) -> RetryTerms | None:
    if claim.policy is None:
        return None
    try:
        return retry_terms(claim.policy, claim.attempt.seq, claim.requested_at)
    except ValueError as exc:   # the attempt still runs; only its retry is lost, and said so
        log.error("callback %s: %s; it will not be retried", claim.callback_id, exc)
        return None


def _attempt_plan(plan: CallPlan, claim: Claim) -> CallPlan:
    """The stored plan, run as this attempt: its channel and bridge ids carry the attempt's id
    (CB_CALL_ID), and every leg is tagged with the callback's (CB_CALLBACK_ID) for the dialplan."""
    variables = {**plan.variables, "CB_CALLBACK_ID": claim.callback_id}
    return replace(plan, call_id=claim.attempt.id, variables=MappingProxyType(variables))
