"""The engine: starts calls, routes Asterisk's events to them, reconciles after (re)connects.

Asterisk keeps channels in Stasis while our websocket is down but drops the events meanwhile
and never replays them. So after every (re)connect we compare what we believe with what
Asterisk has: legs that vanished are fed to their calls as destroyed, and channels or
bridges of ours that no call owns are removed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Callable

from ..ari import models as ari_models
from ..ari.client import AriClient
from ..domain import events as ev
from ..domain.machine import CallMachine
from ..domain.plan import CallPlan
from ..domain.restore import restore
from . import executor as asterisk
from .call import CallRunner
from .translate import leg_of, translate

log = logging.getLogger("ari_callback.engine")


class Engine:
    def __init__(self, ari: AriClient, store, app: str, clock: Callable[[], float] = time.time,
                 planner: Callable[[object], CallPlan] | None = None):
        self.ari, self.store, self.app, self.clock = ari, store, app, clock
        self.planner = planner   # stored callback -> its plan, for recovery after a restart
        self._recovered = False
        self.runners: dict[str, CallRunner] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()   # set once reconciled after a (re)connect
        self._link: asyncio.Event | None = None

    def attach(self, link: asyncio.Event) -> None:
        """The stream's own connected flag: cleared the moment the websocket drops."""
        self._link = link

    def ready(self) -> bool:
        """Connected and reconciled: only then may calls be originated."""
        return self.connected.is_set() and (self._link is None or self._link.is_set())

    @property
    def active_calls(self) -> int:
        return len(self.runners)

    def launch(self, plan: CallPlan) -> CallRunner:
        """Register the call's queue, then start its task (which originates the legs)."""
        return self._run(CallMachine(plan), ev.Start())

    def _run(self, machine: CallMachine, first: ev.CallEvent) -> CallRunner:
        runner = CallRunner(machine, self.ari, self.app, self.store, self.clock)
        call_id = machine.plan.call_id
        self.runners[call_id] = runner
        task = asyncio.create_task(runner.run(first), name=f"call-{call_id}")
        self._tasks.add(task)
        task.add_done_callback(lambda t, cid=call_id: self._finished(cid, t))
        return runner

    async def recover(self) -> None:
        """After a restart: take back every unfinished call the store has. Reconciliation,
        which follows, feeds each one what happened on Asterisk while we were away."""
        for stored in await self.store.list_unfinished():
            if stored.id in self.runners:
                continue
            try:
                row = {f.name: getattr(stored, f.name) for f in dataclasses.fields(stored)}
                machine = restore(self.planner(stored), row, stored.legs, stored.timeline)
            except Exception as exc:
                log.error("call %s cannot be recovered (%s); its channels are removed as orphans", stored.id, exc)
                await self.store.save_progress(stored.id, status="failed", status_detail="unrecoverable",
                                               ended_by="", winner_leg=stored.winner_leg, connected_at=stored.connected_at,
                                               ended_at=self.clock(), updated_at=self.clock(), legs=[], timeline=[])
                continue
            runner = self._run(machine, ev.Resume())
            runner.adopt()
            log.info("call %s recovered in state %s", stored.id, machine.state)

    def _finished(self, call_id: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.runners.pop(call_id, None)

    def cancel(self, call_id: str, reason: str = "cancelled") -> bool:
        runner = self.runners.get(call_id)
        if runner is None:
            return False
        runner.post(ev.Cancel(reason))
        return True

    async def handle(self, event: ari_models.Event) -> None:
        """Called by the event stream for each event, in order; never blocks on a call."""
        for call_id, call_event in translate(event):
            runner = self.runners.get(call_id)
            if runner is not None:
                runner.post(call_event)

    async def on_connect(self) -> None:
        """Reconcile first: new calls are taken only once we know what Asterisk has."""
        self.connected.clear()
        try:
            if not self._recovered and self.planner is not None:
                await self.recover()
                self._recovered = True
            await self.reconcile()
        except Exception:
            log.exception("reconciliation after connect failed; it runs again on the next connect")
        self.connected.set()

    def on_disconnect(self) -> None:
        self.connected.clear()

    async def reconcile(self) -> None:
        # Only legs Asterisk had accepted before we look can be missing from what we see.
        candidates = {(runner, leg_id) for runner in self.runners.values() for leg_id in runner.executor.created}
        state = await asterisk.snapshot(self.ari, self.app)
        for runner, leg_id in candidates:
            leg = runner.machine.legs.get(leg_id)
            if leg is None or leg.destroyed:
                continue
            if leg_id not in state.channel_ids:
                runner.post(ev.LegDestroyed(leg_id, None, "gone while we were disconnected"))
            elif not leg.answered and leg_id in state.up and (leg.role != "src" or leg_id in state.app_channel_ids):
                # An origin counts as answered once it is in our app (as StasisStart says).
                runner.post(ev.LegAnswered(leg_id))
        orphans = [cid for cid in state.app_channel_ids
                   if (leg := leg_of(cid)) is not None and leg[0] not in self.runners]
        bridges = [bid for bid in state.bridge_ids
                   if bid.startswith("cb-") and bid[3:] not in self.runners]
        if orphans or bridges:
            log.warning("removing %d orphan channels and %d orphan bridges", len(orphans), len(bridges))
        await asterisk.remove(self.ari, orphans, bridges)

    async def shutdown(self, grace: float = 8.0) -> None:
        """End every call (hang up, destroy bridges) within ``grace`` seconds, then stop."""
        for call_id in list(self.runners):
            self.cancel(call_id, reason="shutdown")
        if self._tasks:
            done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2.0)
