"""The callback state machine.

RULE: this module never awaits and never does I/O. ``CallMachine.handle(event, now)`` takes one
event and the current time and returns the commands to run; the engine runs them and feeds
back what Asterisk reports. That is what lets unit tests and Hypothesis drive it directly.

Each event is first named by a *label* without changing anything; ``TRANSITIONS`` says which
labels a state accepts and where they lead. A label a state does not accept raises
``IllegalTransition`` and leaves the machine as it was. Every state accepts every kind of
hangup; terminal states ignore everything.

This module decides (the table and the labelling); what each label then does lives with its
concern: ``origins``, ``destination``, ``transfer``, ``limits``. ``record`` keeps the book
(legs, timeline, timers, the ending) that they all write through.
"""

from __future__ import annotations

from collections.abc import Callable

from . import commands as cmd
from . import destination, limits, origins, transfer
from . import events as ev
from .legs import DST, SRC, XFER, Leg
from .record import FINAL_DIALSTATUS, CallRecord
from .request import NUMBER_RE
from .states import (
    ACTIVE,
    ANNOUNCE,
    ANNOUNCING,
    CALLING_DST,
    CALLING_SRC,
    CANCELLED,
    COMPLETED,
    CONNECTED,
    DST_RING,
    DURATION,
    ENDING,
    FAILED,
    NEW,
    SRC_RING,
    TRANSFERRING,
    XFER_RING,
)

# (state, label) -> next state. The table is the documentation (docs/state-machine.md is
# generated from it). "noted" (record only) is accepted by every non-terminal state.
TRANSITIONS: dict[tuple[str, str], str] = {
    (NEW, "start"): CALLING_SRC,
    (NEW, "cancel"): CANCELLED,
    (CALLING_SRC, "src_answered"): CALLING_DST,
    (CALLING_SRC, "src_answered_announce"): ANNOUNCING,
    (CALLING_SRC, "src_lost"): CALLING_SRC,
    (CALLING_SRC, "all_src_failed"): ENDING,
    (CALLING_SRC, "src_ring_timeout"): ENDING,
    # simultaneous mode (seed 001): the destination rings while the origins do
    (CALLING_SRC, "src_answered_connect"): CONNECTED,
    (CALLING_SRC, "dst_ready"): CALLING_SRC,
    (CALLING_SRC, "dst_progress"): CALLING_SRC,
    (CALLING_SRC, "dst_answered_early"): CALLING_SRC,
    (CALLING_SRC, "dst_ring_timeout"): CALLING_SRC,
    (CALLING_SRC, "dst_failed"): ENDING,
    (ANNOUNCING, "announce_done"): CALLING_DST,
    (CALLING_DST, "dst_ready"): CALLING_DST,
    (CALLING_DST, "dst_progress"): CALLING_DST,
    (CALLING_DST, "dst_ring_timeout"): CALLING_DST,
    (CALLING_DST, "dst_answered"): CONNECTED,
    (CALLING_DST, "dst_failed"): ENDING,
    (CALLING_DST, "dst_failed_transfer"): TRANSFERRING,
    (CONNECTED, "party_hangup_transfer"): TRANSFERRING,
    (CONNECTED, "dtmf"): CONNECTED,
    (CONNECTED, "public_transfer"): TRANSFERRING,
    (TRANSFERRING, "transfer_ready"): TRANSFERRING,
    (TRANSFERRING, "transfer_ring_timeout"): TRANSFERRING,
    (TRANSFERRING, "transfer_answered"): CONNECTED,
    (TRANSFERRING, "transfer_failed"): ENDING,
    (ENDING, "finish_completed"): COMPLETED,
    (ENDING, "finish_failed"): FAILED,
    (ENDING, "finish_cancelled"): CANCELLED,
}
for _state in ACTIVE:
    TRANSITIONS[(_state, "cancel")] = ENDING
    TRANSITIONS[(_state, "error")] = ENDING
    TRANSITIONS[(_state, "asterisk_lost")] = ENDING
    TRANSITIONS[(_state, "extra_answer")] = _state
    TRANSITIONS[(_state, "leg_dial_failed")] = _state
for _state in (ANNOUNCING, CALLING_DST, CONNECTED, TRANSFERRING):
    TRANSITIONS[(_state, "party_hangup")] = ENDING
for _state in (CONNECTED, TRANSFERRING):
    TRANSITIONS[(_state, "duration_limit")] = ENDING
for _state in (NEW, *ACTIVE, ENDING):
    TRANSITIONS[(_state, "noted")] = _state
for _state in (*ACTIVE, ENDING):
    TRANSITIONS[(_state, "resume")] = _state
TRANSITIONS[(ENDING, "extra_answer")] = ENDING
TRANSITIONS[(ENDING, "leg_dial_failed")] = ENDING



class IllegalTransition(Exception):
    def __init__(self, state: str, label: str, event: object):
        super().__init__(f"{label!r} is not allowed in state {state!r} (event {event!r})")
        self.state, self.label, self.event = state, label, event


class CallMachine(CallRecord):
    """One callback: its legs, its parties, its timers and its outcome."""

    def handle(self, event: ev.CallEvent, now: float) -> list[cmd.Command]:
        """Apply one event; returns the commands to run. Raises IllegalTransition."""
        if self.finished:
            return []
        leg = self.legs.get(getattr(event, "leg_id", ""), None)
        if hasattr(event, "leg_id") and leg is None:
            return []   # not one of ours (a Local ;2 half, a leg of another call)
        label = self._label(event, leg)
        target = TRANSITIONS.get((self.state, label))
        if target is None:
            raise IllegalTransition(self.state, label, event)
        commands = self._record(event, leg, now)
        commands += self._ACTIONS.get(label, CallMachine._nothing)(self, event, leg, now)
        self._move(target, now, label)
        return commands + self._settle(now)

    # ---------------------------------------------------------------------- labelling
    def _label(self, event: ev.CallEvent, leg: Leg | None) -> str:
        # An event that names a leg has that leg here (``handle`` drops the others).
        return self._label_call(event) if leg is None else self._label_leg(event, leg)

    def _label_call(self, event: ev.CallEvent) -> str:
        match event:
            case ev.Start():
                return "start"
            case ev.Resume():
                return "start" if self.state == NEW else "resume"
            case ev.Cancel():
                return "cancel"
            case ev.BridgeFailed():
                return "error" if self.state in ACTIVE else "noted"
            case ev.AsteriskLost():
                return "asterisk_lost" if self.state in ACTIVE else "noted"
            case ev.PlaybackDone(playback_id=pid) if pid == self.announce_playback:
                return "announce_done" if self.state == ANNOUNCING else "noted"
            case ev.TimerFired():
                return self._label_timer(event)
        return "noted"

    def _label_leg(self, event: ev.CallEvent, leg: Leg) -> str:
        match event:
            case ev.LegAnswered():
                return self._label_answer(leg)
            case ev.LegReady():
                return self._label_ready(leg)
            case ev.LegProgress() if leg.role == DST and self.state in (CALLING_SRC, CALLING_DST) \
                    and not leg.answered:
                return "dst_progress"
            case ev.LegDialStatus(status=status) if status.upper() in FINAL_DIALSTATUS:
                live = leg.role != SRC and not leg.leaving and self.state not in (NEW,)
                return "leg_dial_failed" if live else "noted"
            case ev.LegHangup() | ev.LegDestroyed() | ev.LegFailed():
                return "noted" if leg.gone else self._label_leg_gone(leg)
            case ev.DtmfReceived() | ev.TransferRequested():
                return self._label_transfer_request(event, leg)
        return "noted"

    def _label_answer(self, leg: Leg) -> str:
        if leg.answered or leg.leaving:
            return "noted"
        if leg.role == SRC:
            if self.state == CALLING_SRC and self.winner is None:
                if self.plan.simultaneous:
                    dst = self.legs.get(self.b_party or "")
                    up = dst is not None and dst.answered and not dst.leaving
                    return "src_answered_connect" if up else "src_answered"
                return "src_answered_announce" if self.plan.announce_media else "src_answered"
            return "extra_answer"
        if leg.role == DST and self.state == CALLING_SRC:
            return "dst_answered_early"
        if leg.role == DST and self.state == CALLING_DST:
            return "dst_answered"
        if leg.role == XFER and self.state == TRANSFERRING and leg.id == self.pending:
            return "transfer_answered"
        return "noted"

    def _label_ready(self, leg: Leg) -> str:
        if leg.leaving or leg.dialled_at is not None:
            return "noted"   # a repeated StasisStart must not bridge and dial twice
        if leg.role == DST and self.state in (CALLING_SRC, CALLING_DST):
            return "dst_ready"
        if leg.role == XFER and self.state == TRANSFERRING:
            return "transfer_ready"
        return "noted"

    def _label_leg_gone(self, leg: Leg) -> str:
        if self.state in (NEW, ENDING):
            return "noted"
        if self.state == CALLING_SRC and leg.role == DST:
            return "dst_failed"   # simultaneous mode: nobody to connect the origins to
        if self.state == CALLING_SRC:
            others = [lg for lg in self.legs_of(SRC) if lg.id != leg.id and not lg.gone]
            return "src_lost" if others else "all_src_failed"
        if self.state == TRANSFERRING and leg.id == self.pending:
            return "transfer_failed"   # the leg being rung: not the party that asked to transfer
        if leg.id not in (self.a_party, self.b_party):
            return "noted"   # a losing origin, or a party already replaced by a transfer
        if self.state == CALLING_DST and leg.id == self.b_party:
            return "dst_failed_transfer" if transfer.target_after_hangup(self, leg.id) else "dst_failed"
        if self.state == CONNECTED and transfer.target_after_hangup(self, leg.id):
            return "party_hangup_transfer"
        return "party_hangup"

    def _label_timer(self, event: ev.TimerFired) -> str:
        if self.timers.get(event.name) != event.token:
            return "noted"   # a timer restarted or cancelled after it fired
        if event.name == DST_RING and self.state == CALLING_SRC:
            return "dst_ring_timeout"
        wanted = {SRC_RING: (CALLING_SRC, "src_ring_timeout"), DST_RING: (CALLING_DST, "dst_ring_timeout"),
                  XFER_RING: (TRANSFERRING, "transfer_ring_timeout"), ANNOUNCE: (ANNOUNCING, "announce_done")}
        if event.name in wanted:
            state, label = wanted[event.name]
            return label if self.state == state else "noted"
        if event.name == DURATION and self.state in (CONNECTED, TRANSFERRING):
            return "duration_limit"
        if event.name == self.digits.TIMER and self.state == CONNECTED:
            number = self.digits.pending()
            return "public_transfer" if number and transfer.allowed(self, number) else "dtmf"
        return "noted"

    def _label_transfer_request(self, event: ev.DtmfReceived | ev.TransferRequested, leg: Leg) -> str:
        if self.state != CONNECTED or leg.id not in (self.a_party, self.b_party):
            return "noted"
        if isinstance(event, ev.DtmfReceived):
            complete = self.digits.would_complete(leg.id, event.digit)
            return "public_transfer" if complete and transfer.allowed(self, self.digits.pending()) else "dtmf"
        wanted = NUMBER_RE.fullmatch(event.number) is not None   # match() would let "6002\n" in
        return "public_transfer" if wanted and transfer.allowed(self, event.number) else "noted"

    # ------------------------------------------------------------------------ actions
    def _nothing(self, event: object, leg: Leg | None, now: float) -> list[cmd.Command]:
        return []

    def _party_hangup(self, event: object, leg: Leg, now: float) -> list[cmd.Command]:
        side = "src" if leg.id == self.a_party else "dst"
        if self.state in (ANNOUNCING, CALLING_DST) and side == "src":
            return self.end_call(FAILED, "src_abandoned", now)
        self.ended_by = self.ended_by or side
        status = COMPLETED if self.was_connected else FAILED
        return self.end_call(status, "answered" if self.was_connected else f"{side}_abandoned", now)

    def _cancel(self, event: ev.Cancel, leg: None, now: float) -> list[cmd.Command]:
        if self.state == NEW:
            self.status_detail = "cancelled"
            return []
        self.ended_by = "cancel"
        return self.end_call(CANCELLED, "cancelled", now)

    def _error(self, event: ev.BridgeFailed, leg: None, now: float) -> list[cmd.Command]:
        return self.end_call(FAILED, "error", now)

    def _asterisk_lost(self, event: ev.AsteriskLost, leg: None, now: float) -> list[cmd.Command]:
        self.note(now, "asterisk_lost", None, detail=event.detail)
        self.ended_by = "asterisk"
        return self.end_call(FAILED, "asterisk_lost", now)

    # Label -> what it does: the ending here, the rest by concern in their own modules.
    _ACTIONS: dict[str, Callable[..., list[cmd.Command]]] = {
        "start": origins.ring_all, "src_answered": origins.first_answered,
        "src_answered_announce": origins.first_answered, "announce_done": origins.announce_done,
        "extra_answer": origins.extra_answer, "src_lost": origins.one_lost, "all_src_failed": origins.all_failed,
        "src_ring_timeout": origins.ring_timeout, "src_answered_connect": origins.answered_to_waiting_destination,
        "dst_ready": destination.leg_ready, "transfer_ready": destination.leg_ready,
        "dst_progress": destination.progress, "dst_ring_timeout": destination.ring_timeout,
        "transfer_ring_timeout": destination.ring_timeout, "dst_answered": destination.answered,
        "dst_answered_early": destination.answered_early, "leg_dial_failed": destination.dial_failed,
        "dst_failed": destination.failed,
        "dst_failed_transfer": transfer.after_hangup, "party_hangup_transfer": transfer.after_hangup,
        "public_transfer": transfer.asked, "dtmf": transfer.digit, "transfer_answered": transfer.answered,
        "transfer_failed": transfer.failed,
        "duration_limit": limits.duration_reached, "resume": limits.resume,
        "party_hangup": _party_hangup, "cancel": _cancel, "error": _error, "asterisk_lost": _asterisk_lost,
    }
