"""One task per call, with its own FIFO queue: events of a call are handled one at a time,
in the order Asterisk sent them, and a slow ARI request holds up only its own call.

The queue exists before the first channel is created (events cannot arrive for a call we
do not know yet) and the task lives until every leg is destroyed: ChannelDestroyed comes
after StasisEnd, and those late events still belong to this call."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from ..ari.client import AriClient
from ..domain import commands as cmd
from ..domain import events as ev
from ..domain.legs import Leg
from ..domain.machine import CallMachine, IllegalTransition
from .executor import Executor
from .timers import CallTimers

log = logging.getLogger("ari_callback.engine")
TEARDOWN_SECONDS = 10.0


def leg_row(leg: Leg) -> dict[str, object]:
    return {"id": leg.id, "role": leg.role, "number": leg.number, "idx": leg.index,
            "created_at": leg.created_at, "ringing_at": leg.ringing_at, "progress_at": leg.progress_at,
            "answered_at": leg.answered_at, "hangup_at": leg.hangup_at, "ended_at": leg.ended_at,
            "cause": leg.cause, "cause_txt": leg.cause_txt, "tech_cause": leg.tech_cause,
            "dialstatus": leg.dialstatus, "hangup_reason": leg.hangup_reason}


class CallRunner:
    def __init__(self, machine: CallMachine, ari: AriClient, app: str, store, clock: Callable[[], float]):
        self.machine = machine
        self.call_id = machine.plan.call_id
        self.queue: asyncio.Queue[ev.CallEvent] = asyncio.Queue()
        self.timers = CallTimers(self.queue.put_nowait)
        self.executor = Executor(ari, app, self.call_id, self.timers, self.queue.put_nowait)
        self.store, self.clock = store, clock
        self.done = asyncio.Event()
        self._saved_entries = 0

    def adopt(self) -> None:
        """A recovered call: its live legs exist on Asterisk already (reconciliation checks them),
        and the timeline entries it has are stored."""
        self.executor.created.update(leg.id for leg in self.machine.legs.values() if not leg.destroyed)
        self._saved_entries = len(self.machine.timeline)

    def post(self, event: ev.CallEvent) -> None:
        self.queue.put_nowait(event)

    async def run(self, first: ev.CallEvent) -> None:
        try:
            await self._step(first)
            while not self.machine.finished:
                await self._step(await self.queue.get())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("call %s: the call task failed; tearing the call down", self.call_id)
        finally:
            self.timers.cancel_all()
            if not self.machine.finished:
                await asyncio.shield(self._teardown())
            self.done.set()

    async def _step(self, event: ev.CallEvent) -> None:
        try:
            commands = self.machine.handle(event, self.clock())
        except IllegalTransition as exc:
            log.warning("call %s: %s", self.call_id, exc)
            return
        log.debug("call %s: %s -> %s %s", self.call_id, event, self.machine.state, commands)
        await self.persist()
        await self.executor.run(commands)

    async def persist(self) -> None:
        """Write the call's state, its legs and the new timeline entries (one transaction)."""
        m = self.machine
        entries = m.timeline[self._saved_entries:]
        rows = [{"seq": self._saved_entries + i, "at": e.at, "kind": e.kind, "leg_id": e.leg_id,
                 "detail": e.detail} for i, e in enumerate(entries)]
        try:
            await self.store.save_progress(
                self.call_id, status=m.state, status_detail=m.status_detail, ended_by=m.ended_by,
                winner_leg=m.winner, connected_at=m.connected_at, ended_at=m.ended_at,
                updated_at=self.clock(), legs=[leg_row(leg) for leg in m.legs.values()], timeline=rows)
        except Exception:
            # The call goes on even if the database is away; the next save carries it all.
            log.exception("call %s: could not save progress", self.call_id)
            return
        self._saved_entries += len(rows)

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
