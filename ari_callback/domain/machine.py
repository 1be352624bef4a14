"""The callback state machine.

RULE: this module never awaits and never does I/O. ``CallMachine.handle(event, now)`` takes one
event and the current time and returns the commands to run; the engine runs them and feeds
back what Asterisk reports. That is what lets unit tests and Hypothesis drive it directly.

Each event is first named by a *label* without changing anything; ``TRANSITIONS`` says which
labels a state accepts and where they lead. A label a state does not accept raises
``IllegalTransition`` and leaves the machine as it was. Every state accepts every kind of
hangup; terminal states ignore everything.
"""

from __future__ import annotations

from typing import Callable

from . import causes
from . import commands as cmd
from . import events as ev
from .legs import DST, SRC, XFER, Leg
from .plan import CallPlan
from .record import FINAL_DIALSTATUS, CallRecord
from .request import NUMBER_RE

from .states import (ACTIVE, ANNOUNCE, ANNOUNCING, CALLING_DST, CALLING_SRC, CANCELLED, COMPLETED,
                     CONNECTED, DST_RING, DURATION, ENDING, FAILED, NEW, SRC_RING, TERMINAL,
                     TRANSFERRING, XFER_RING)

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

    def __init__(self, plan: CallPlan):
        super().__init__(plan)
        self._first_failure: str | None = None

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
        match event:
            case ev.Start():
                return "start"
            case ev.Resume():
                return "start" if self.state == NEW else "resume"
            case ev.Cancel():
                return "cancel"
            case ev.BridgeFailed():
                return "error" if self.state in ACTIVE else "noted"
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
            case ev.PlaybackDone(playback_id=pid) if pid == self._announce_playback:
                return "announce_done" if self.state == ANNOUNCING else "noted"
            case ev.TimerFired():
                return self._label_timer(event)
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
            others = [l for l in self._legs(SRC) if l.id != leg.id and not l.gone]
            return "src_lost" if others else "all_src_failed"
        if self.state == TRANSFERRING and leg.id == self.pending:
            return "transfer_failed"   # the leg being rung: not the party that asked to transfer
        if leg.id not in (self.a_party, self.b_party):
            return "noted"   # a losing origin, or a party already replaced by a transfer
        if self.state == CALLING_DST and leg.id == self.b_party:
            return "dst_failed_transfer" if self._transfer_target(leg.id) else "dst_failed"
        if self.state == CONNECTED and self._transfer_target(leg.id):
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
            return "public_transfer" if number and self._transfer_allowed(number) else "dtmf"
        return "noted"

    def _label_transfer_request(self, event: ev.DtmfReceived | ev.TransferRequested, leg: Leg) -> str:
        if self.state != CONNECTED or leg.id not in (self.a_party, self.b_party):
            return "noted"
        if isinstance(event, ev.DtmfReceived):
            complete = self.digits.would_complete(leg.id, event.digit)
            return "public_transfer" if complete and self._transfer_allowed(self.digits.pending()) else "dtmf"
        wanted = NUMBER_RE.fullmatch(event.number) is not None   # match() would let "6002\n" in
        return "public_transfer" if wanted and self._transfer_allowed(event.number) else "noted"

    # ------------------------------------------------------------------------ actions
    def _nothing(self, event: object, leg: Leg | None, now: float) -> list[cmd.Command]:
        return []

    def _start(self, event: ev.Start, leg: None, now: float) -> list[cmd.Command]:
        out: list[cmd.Command] = []
        for i, target in enumerate(self.plan.srcs):
            leg = self._new_leg(f"cb-{self.plan.call_id}-src{i}", SRC, target.number, now, index=i)
            # Asterisk's own ring timeout is only a safety net if we die; ours restarts.
            variables = self._variables(SRC)
            if target.endpoint.startswith("PJSIP/"):
                # The phone's own transfer key (REFER) comes to us as ChannelTransfer, so that
                # allow_public_transfer decides, not Asterisk.
                variables["PJSIP_TRANSFER_HANDLING()"] = "ari-only"
            out.append(cmd.Originate(leg.id, target.endpoint, target.caller_id.header(),
                                     timeout=self._safety_timeout(), formats=target.formats,
                                     variables=variables))
        if self.plan.simultaneous:
            out += self._call_destination(now)
        return out + [self._timer(SRC_RING, self.plan.wait_for_pickup)]

    def _src_answered(self, event: ev.LegAnswered, leg: Leg, now: float) -> list[cmd.Command]:
        self.winner = self.a_party = leg.id
        out: list[cmd.Command] = [cmd.CancelTimer(SRC_RING)]
        self.timers.pop(SRC_RING, None)
        for other in self._legs(SRC):
            if other.id != leg.id and not other.leaving:
                out.append(self._hangup(other, "answered_elsewhere", now))
        if self.plan.simultaneous:   # the bridge and the ringing destination exist already
            return out + [cmd.AddToBridge(self.bridge_id, leg.id)]
        if self.plan.announce_media:
            self._announce_playback = self._playback_id()
            out.append(cmd.PlayToLeg(leg.id, self.plan.announce_media, self._announce_playback))
            return out + [self._timer(ANNOUNCE, self.plan.playback_timeout)]
        return out + self._call_destination(now)

    def _announce_done(self, event: object, leg: Leg | None, now: float) -> list[cmd.Command]:
        self.timers.pop(ANNOUNCE, None)
        out: list[cmd.Command] = [cmd.CancelTimer(ANNOUNCE)]
        if isinstance(event, ev.TimerFired) and self._announce_playback:
            # A playback that never finishes (an endless tone, a stuck stream) is cut short.
            out.append(cmd.StopPlayback(self._announce_playback))
            self._note(now, "announce_timeout", self.winner, playback=self._announce_playback)
        elif isinstance(event, ev.PlaybackDone) and not event.ok:
            self._note(now, "announce_failed", self.winner, playback=event.playback_id)
        return out + self._call_destination(now)

    def _call_destination(self, now: float) -> list[cmd.Command]:
        self.bridge_created = True
        dst = self._new_leg(f"cb-{self.plan.call_id}-dst", DST, self.plan.dst_number, now)
        self.b_party = self.pending = dst.id
        variables = dict(self._variables(DST))
        variables["CB_DST_CID_NUM"] = self.plan.dst_caller_id.number
        variables["CB_DST_CID_NAME"] = self.plan.dst_caller_id.name
        # A destination phone's own transfer key is Asterisk's business (it sits in dst-route's
        # Dial bridge); the dialplan's pre-dial handler follows this (extensions.conf cb-dst-leg).
        variables["__CB_PUBLIC_TRANSFER"] = "yes" if self._transfer_allowed("dst") else "no"
        first = [cmd.AddToBridge(self.bridge_id, self.winner)] if self.winner else []
        return [cmd.CreateBridge(self.bridge_id), *first,
                cmd.CreateLeg(dst.id, self.plan.dst_endpoint, self.plan.dst_formats, variables)]

    def _leg_ready(self, event: ev.LegReady, leg: Leg, now: float) -> list[cmd.Command]:
        # Bridged before it is dialled, so the origin hears ringback and early media.
        name = DST_RING if leg.role == DST else XFER_RING
        leg.dialled_at = now
        return [cmd.AddToBridge(self.bridge_id, leg.id), cmd.Dial(leg.id, timeout=self._safety_timeout()),
                self._timer(name, self.plan.wait_for_pickup)]

    def _dst_progress(self, event: ev.LegProgress, leg: Leg, now: float) -> list[cmd.Command]:
        return [self._timer(DST_RING, self.plan.wait_for_pickup)]   # seed 002: restart on early media

    def _ring_timeout(self, event: ev.TimerFired, leg: None, now: float) -> list[cmd.Command]:
        self.timers.pop(event.name, None)
        target = self.legs.get(self.pending or "")
        return [self._hangup(target, "no_answer", now)] if target and not target.leaving else []

    def _dst_answered_early(self, event: ev.LegAnswered, leg: Leg, now: float) -> list[cmd.Command]:
        """Simultaneous mode: the destination answered first; it waits in the bridge."""
        self.timers.pop(DST_RING, None)
        return [cmd.CancelTimer(DST_RING)]

    def _src_answered_connect(self, event: ev.LegAnswered, leg: Leg, now: float) -> list[cmd.Command]:
        return self._src_answered(event, leg, now) + self._dst_answered(event, self.legs[self.b_party], now)

    def _dst_answered(self, event: ev.LegAnswered, leg: Leg, now: float) -> list[cmd.Command]:
        self.was_connected, self.connected_at, self.pending = True, now, None
        self.timers.pop(DST_RING, None)
        out: list[cmd.Command] = [cmd.CancelTimer(DST_RING)]
        # Asterisk's backstop first: a control request queued behind DTMF would be late.
        out += self._absolute_timeouts(now, (self.a_party, self.b_party))
        if self.plan.dst_announce_media:
            out.append(cmd.PlayToBridge(self.bridge_id, self.plan.dst_announce_media, self._playback_id()))
        if self.plan.dst_dtmf:
            out.append(cmd.SendDtmf(leg.id, self.plan.dst_dtmf))
        return out + [self._timer(DURATION, self.plan.call_duration)]

    def _extra_answer(self, event: ev.LegAnswered, leg: Leg, now: float) -> list[cmd.Command]:
        return [self._hangup(leg, "answered_elsewhere", now)]

    def _leg_dial_failed(self, event: ev.LegDialStatus, leg: Leg, now: float) -> list[cmd.Command]:
        # Asterisk leaves a created channel up after BUSY/CONGESTION: we hang it up ourselves.
        reason = {"BUSY": "busy", "CONGESTION": "congestion", "NOANSWER": "no_answer"}.get(event.status.upper(), "normal")
        return [self._hangup(leg, reason, now)]

    def _src_lost(self, event: object, leg: Leg, now: float) -> list[cmd.Command]:
        return []

    def _all_src_failed(self, event: object, leg: Leg, now: float) -> list[cmd.Command]:
        return self._end(FAILED, "src_failed", now, blame=SRC)

    def _src_ring_timeout(self, event: object, leg: None, now: float) -> list[cmd.Command]:
        self.timers.pop(SRC_RING, None)
        return self._end(FAILED, "src_no_answer", now, reason="no_answer")

    def _dst_failed(self, event: object, leg: Leg, now: float) -> list[cmd.Command]:
        if leg.answered and leg.hangup_requested_at is None:
            # Simultaneous mode: the destination answered, waited in the bridge and hung up
            # before any origin did. It left; it did not fail (its causes say "normal").
            return self._end(FAILED, "dst_abandoned", now)
        return self._end(FAILED, "dst_failed", now, blame=leg.id)

    def _party_hangup(self, event: object, leg: Leg, now: float) -> list[cmd.Command]:
        side = "src" if leg.id == self.a_party else "dst"
        if self.state in (ANNOUNCING, CALLING_DST) and side == "src":
            return self._end(FAILED, "src_abandoned", now)
        self.ended_by = self.ended_by or side
        status = COMPLETED if self.was_connected else FAILED
        return self._end(status, "answered" if self.was_connected else f"{side}_abandoned", now)

    def _party_transfer(self, event: object, leg: Leg, now: float) -> list[cmd.Command]:
        """The other party is alone: transfer it to the number the request gave (once each)."""
        setting = self._transfer_setting(leg.id)
        self.transfers_used.add(setting)
        out: list[cmd.Command] = []
        if self.state == CALLING_DST:   # the destination never answered: it names a failure
            self._first_failure = leg.id
            self.timers.pop(DST_RING, None)
            out.append(cmd.CancelTimer(DST_RING))
        return out + self._transfer_to(getattr(self.plan, setting), replacing=leg.id, now=now)

    def _public_transfer(self, event: ev.DtmfReceived | ev.TransferRequested | ev.TimerFired,
                         leg: Leg | None, now: float) -> list[cmd.Command]:
        if isinstance(event, ev.TransferRequested):
            number, asker = event.number, leg
        else:
            self.timers.pop(self.digits.TIMER, None)
            number, asker_id = self.digits.take()
            asker = self.legs[asker_id]
        # Blind transfer: the party who asked leaves; the other one is connected to the number.
        return [cmd.CancelTimer(self.digits.TIMER), self._hangup(asker, "normal", now),
                *self._transfer_to(number, replacing=asker.id, now=now)]

    def _dtmf(self, event: ev.DtmfReceived | ev.TimerFired, leg: Leg | None, now: float) -> list[cmd.Command]:
        if isinstance(event, ev.TimerFired):
            self.timers.pop(event.name, None)
            self.digits.reset()
            return []
        if self.digits.feed(leg.id, event.digit):
            return [self._timer(self.digits.TIMER, self.digits.INTERDIGIT)]
        return []

    def _transfer_answered(self, event: ev.LegAnswered, leg: Leg, now: float) -> list[cmd.Command]:
        self.pending = None
        self.timers.pop(XFER_RING, None)
        out: list[cmd.Command] = [cmd.CancelTimer(XFER_RING)]
        if not self.was_connected:
            # The destination never answered: this is the call's first conversation, so its
            # limits start now, on both parties (as they would have on the destination's answer).
            self.was_connected, self.connected_at = True, now
            out += self._absolute_timeouts(now, (self.a_party, self.b_party))
            return out + [self._timer(DURATION, self.plan.call_duration)]
        remaining = max(1, int(self.plan.call_duration - self._connected_for(now)))
        return out + self._absolute_timeouts(now, (leg.id,), seconds=remaining)

    def _transfer_failed(self, event: object, leg: Leg, now: float) -> list[cmd.Command]:
        self._note(now, "transfer_failed", leg.id)
        if self.was_connected:
            return self._end(COMPLETED, "answered", now)
        return self._end(FAILED, "dst_failed", now, blame=self._first_failure or leg.id)

    def _duration_limit(self, event: object, leg: None, now: float) -> list[cmd.Command]:
        self.ended_by = "duration_limit"
        return self._end(COMPLETED, "answered", now)

    def _cancel(self, event: ev.Cancel, leg: None, now: float) -> list[cmd.Command]:
        if self.state == NEW:
            self.status_detail = "cancelled"
            return []
        self.ended_by = "cancel"
        return self._end(CANCELLED, "cancelled", now)

    def _error(self, event: ev.BridgeFailed, leg: None, now: float) -> list[cmd.Command]:
        return self._end(FAILED, "error", now)

    _ACTIONS: dict[str, Callable[..., list[cmd.Command]]] = {
        "start": _start, "src_answered": _src_answered, "src_answered_announce": _src_answered,
        "announce_done": _announce_done, "dst_ready": _leg_ready, "transfer_ready": _leg_ready,
        "dst_progress": _dst_progress, "dst_ring_timeout": _ring_timeout,
        "transfer_ring_timeout": _ring_timeout, "dst_answered": _dst_answered,
        "extra_answer": _extra_answer, "leg_dial_failed": _leg_dial_failed, "src_lost": _src_lost,
        "all_src_failed": _all_src_failed, "src_ring_timeout": _src_ring_timeout,
        "dst_failed": _dst_failed, "dst_failed_transfer": _party_transfer,
        "party_hangup": _party_hangup, "party_hangup_transfer": _party_transfer,
        "public_transfer": _public_transfer, "dtmf": _dtmf, "transfer_answered": _transfer_answered,
        "transfer_failed": _transfer_failed, "duration_limit": _duration_limit, "cancel": _cancel,
        "error": _error, "resume": CallRecord._resume, "dst_answered_early": _dst_answered_early,
        "src_answered_connect": _src_answered_connect,
    }
