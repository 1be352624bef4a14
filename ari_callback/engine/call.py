"""One task per attempt, with its own FIFO queue: events of a call are handled one at a time,
in the order Asterisk sent them, and a slow ARI request holds up only its own call.

The queue exists before the first channel is created (events cannot arrive for a call we
do not know yet) and the task lives until every leg is destroyed: ChannelDestroyed comes
after StasisEnd, and those late events still belong to this call.

Every step is saved under the callback's lease. When the store refuses a write because another
instance has taken the callback over (``LeaseLost``), this task stops at once and leaves the
channels alone: they are the new owner's now.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ..ari.client import AriClient
from ..domain import commands as cmd
from ..domain import events as ev
from ..domain.customer import RetryTerms
from ..domain.legs import Leg
from ..domain.machine import CallMachine, IllegalTransition
from ..domain.snapshot import machine_snapshot
from ..logs import bind_call
from ..store import Lease, LeaseLost, Progress
from .executor import Executor
from .metrics import StepTimes
from .timers import CallTimers
from .translate import OriginEndReport

log = logging.getLogger("ari_callback.engine")
TEARDOWN_SECONDS = 10.0
# The last step of a call decides the callback's outcome: it is retried until the database
# takes it (or the process stops: then recovery at the next start finds the legs gone).
FINAL_SAVE_FIRST_PAUSE_S, FINAL_SAVE_MAX_PAUSE_S = 0.2, 5.0


def leg_row(leg: Leg) -> dict[str, object]:
    return {"id": leg.id, "role": leg.role, "number": leg.number, "idx": leg.index,
            "created_at": leg.created_at, "ringing_at": leg.ringing_at, "progress_at": leg.progress_at,
            "answered_at": leg.answered_at, "hangup_at": leg.hangup_at, "ended_at": leg.ended_at,
            "cause": leg.cause, "cause_txt": leg.cause_txt, "tech_cause": leg.tech_cause,
            "dialstatus": leg.dialstatus, "hangup_reason": leg.hangup_reason, "outcome": leg.outcome}


def stored_snapshot(machine: CallMachine) -> dict[str, object]:
    """The machine as the attempt row keeps it: the timeline lives in its own table (it only
    grows, and each step appends its new entries there), so it is left out here."""
    data = machine_snapshot(machine)
    del data["timeline"]
    return data


class CallRunner:
    def __init__(self, machine: CallMachine, ari: AriClient, app: str, store, clock: Callable[[], float],
                 lease: Lease, step_times: StepTimes | None = None, retry: RetryTerms | None = None,
                 origin_context: str | None = None):
        self.machine, self.lease, self.retry = machine, lease, retry
        self.call_id = machine.plan.call_id   # the attempt's id: its channel and bridge ids carry it
        # Each event with the perf_counter() time Asterisk's event reached the engine (None for
        # the call's own timers and command results): what step_times measures from.
        self.queue: asyncio.Queue[tuple[ev.CallEvent, float | None]] = asyncio.Queue()
        self.step_times = step_times
        self.timers = CallTimers(self.post)
        self.executor = Executor(ari, app, self.call_id, self.timers, self.post, origin_context)
        self.store, self.clock = store, clock
        self.done = asyncio.Event()
        self.lost = False            # another instance holds the callback now
        self.cancel_posted = False
        self._saved_entries = 0
        self._saved_state = machine.state
        self._saved_legs: dict[str, dict[str, object]] = {}
        self._saved_snapshot: dict[str, object] | None = None

    def adopt(self) -> None:
        """A recovered call: its live legs exist on Asterisk already (reconciliation checks them),
        and the timeline entries it has are stored."""
        self.executor.created.update(leg.id for leg in self.machine.legs.values() if not leg.destroyed)
        self._saved_entries = len(self.machine.timeline)
        self._saved_legs = {leg.id: leg_row(leg) for leg in self.machine.legs.values()}

    def post(self, event: ev.CallEvent, arrived_at: float | None = None) -> None:
        self.queue.put_nowait((event, arrived_at))

    def cancel(self, reason: str = "cancelled") -> None:
        self.cancel_posted = True
        self.post(ev.Cancel(reason))

    def abandon(self) -> None:
        """Stop without touching Asterisk: the callback has a new owner."""
        self.lost = True
        self.post(ev.Cancel("lease_lost"))

    async def run(self, first: ev.CallEvent) -> None:
        bind_call(self.call_id, self.lease.callback_id)   # this task's log lines name the call
        try:
            await self._step(first)
            while not self.machine.finished and not self.lost:
                await self._step(*await self.queue.get())
            if self.machine.finished and not self.lost:
                await self._save_final()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("call %s: the call task failed; tearing the call down", self.call_id)
        finally:
            self.timers.cancel_all()
            if not self.machine.finished and not self.lost:
                await asyncio.shield(self._teardown())
            self.done.set()

    async def _step(self, event: ev.CallEvent, arrived_at: float | None = None) -> None:
        if self.lost:
            return
        if isinstance(event, OriginEndReport) and event.leg_id not in self.executor.unwatched:
            return   # the origin's own ChannelDestroyed tells its end, SIP code included
        taken = time.perf_counter()
        try:
            commands = self.machine.handle(event, self.clock())
        except IllegalTransition as exc:
            log.warning("call %s: %s", self.call_id, exc)
            return
        log.debug("call %s: %s -> %s %s", self.call_id, event, self.machine.state, commands)
        await self.persist()
        if not self.lost:
            stored = time.perf_counter()
            await self.executor.run(commands)
            if arrived_at is not None and self.step_times is not None:
                self.step_times.record(arrived_at, taken, stored, time.perf_counter())

    async def persist(self) -> bool:
        """Write what this step changed: the attempt's state and snapshot, the legs that
        changed, the new timeline entries (one transaction). A step that changed nothing (an
        event only noted, a stale timer) writes nothing. False if it could not be written."""
        m = self.machine
        snapshot = stored_snapshot(m)
        if snapshot == self._saved_snapshot:
            return True
        entries = m.timeline[self._saved_entries:]
        rows = tuple({"seq": self._saved_entries + i, "at": e.at, "kind": e.kind, "leg_id": e.leg_id,
                      "detail": e.detail} for i, e in enumerate(entries))
        legs = {leg.id: leg_row(leg) for leg in m.legs.values()}
        changed = tuple(row for leg_id, row in legs.items() if self._saved_legs.get(leg_id) != row)
        progress = Progress(state=m.state, status_detail=m.status_detail, ended_by=m.ended_by,
                            winner_leg=m.winner, connected_at=m.connected_at, ended_at=m.ended_at,
                            at=self.clock(), legs=changed, timeline=rows, previous_state=self._saved_state,
                            final=m.finished, snapshot=snapshot, retry_at=self._retry_at())
        try:
            await self.store.save_attempt(self.lease, progress)
        except LeaseLost as exc:
            log.warning("call %s: %s; leaving the call to its new owner", self.call_id, exc)
            self.lost = True
            return False
        except Exception:
            # The call goes on even if the database is away; the next save carries it all.
            log.exception("call %s: could not save progress", self.call_id)
            return False
        self._saved_entries += len(rows)
        self._saved_state, self._saved_legs, self._saved_snapshot = m.state, legs, snapshot
        return True

    def _retry_at(self) -> float | None:
        """When a customer callback whose attempt failed is tried again (None: it is over)."""
        m = self.machine
        if not (m.finished and self.retry is not None and m.state == "failed"):
            return None
        return self.retry.next_at(m.status_detail, m.ended_at or self.clock())

    async def _save_final(self) -> None:
        """The outcome must reach the store, or the callback would look busy for ever: while
        the database is away (locked, read-only, full), keep trying, and say when it worked."""
        pause, tries = FINAL_SAVE_FIRST_PAUSE_S, 0
        while self._saved_state != self.machine.state and not self.lost:
            if await self.persist():
                if tries:
                    log.warning("call %s: outcome %s saved after %d failed tries", self.call_id,
                                self.machine.state, tries)
                return
            tries += 1
            await asyncio.sleep(pause)
            pause = min(2 * pause, FINAL_SAVE_MAX_PAUSE_S)

    async def _teardown(self) -> None:
        """Best effort when the task dies or is cancelled: no channel or bridge left behind."""
        m = self.machine
        commands: list[cmd.Command] = [cmd.Hangup(leg.id, "normal") for leg in m.legs.values() if not leg.destroyed]
        if m.bridge_created:
            commands.append(cmd.DestroyBridge(m.bridge_id))
        try:
            await asyncio.wait_for(self.executor.run(commands), TEARDOWN_SECONDS)
        except Exception:
            log.exception("call %s: teardown incomplete", self.call_id)
