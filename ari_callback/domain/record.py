"""The book-keeping under the state machine: legs, parties, timers, the timeline, the ending.

``CallMachine`` decides; this class remembers. Nothing here chooses a transition.
"""

from __future__ import annotations

from . import causes
from . import commands as cmd
from . import events as ev
from .legs import DST, SRC, XFER, Leg, TimelineEntry
from .plan import CallPlan
from .states import (ANNOUNCE, ANNOUNCING, CALLING_SRC, DST_RING, DURATION, ENDING, FAILED, NEW, SRC_RING,
                     TERMINAL, XFER_RING)
from .transfer import DigitCollector

FINAL_DIALSTATUS = causes.FINAL_DIALSTATUS
BACKSTOP_MARGIN = 2   # seconds between our call_duration timer and Asterisk's TIMEOUT(absolute)


class CallRecord:
    def __init__(self, plan: CallPlan):
        self.plan = plan
        self.state = NEW
        self.status_detail = ""   # the outcome: answered, src_busy, dst_no_answer, cancelled, ...
        self.ended_by = ""        # what ended a connected call: src, dst, duration_limit, cancel
        self.legs: dict[str, Leg] = {}
        self.timeline: list[TimelineEntry] = []
        self.winner: str | None = None
        self.a_party: str | None = None   # the origin side of the conversation
        self.b_party: str | None = None   # the destination side
        self.pending: str | None = None   # the dst or transfer leg being rung
        self.bridge_created = False
        self.was_connected = False
        self.connected_at: float | None = None
        self.ended_at: float | None = None
        self.transfers_used: set[str] = set()
        self.timers: dict[str, int] = {}
        self.digits = DigitCollector(plan.transfer_code)
        self._token = 0
        self._counter = 0
        self._announce_playback: str | None = None
        self._final = FAILED
        self._blame: str | None = None   # whose legs name the failure, decided when all are gone

    @property
    def bridge_id(self) -> str:
        return f"cb-{self.plan.call_id}"

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL

    # ------------------------------------------------------------------ legs, timeline
    def _new_leg(self, leg_id: str, role: str, number: str, now: float, index: int = 0) -> Leg:
        leg = Leg(leg_id, role, number, index=index, created_at=now)
        self.legs[leg_id] = leg
        self._note(now, "leg_created", leg_id, role=role, number=number)
        return leg

    def _legs(self, role: str) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.role == role]

    def _note(self, now: float, kind: str, leg_id: str | None = None, **detail: object) -> None:
        self.timeline.append(TimelineEntry(now, kind, leg_id, detail))

    def _record(self, event: ev.CallEvent, leg: Leg | None, now: float) -> list[cmd.Command]:
        """Write what the event says into the leg's record and the timeline."""
        if leg is None:
            if isinstance(event, ev.Cancel):
                self._note(now, "cancel_requested", reason=event.reason)
            return []
        match event:
            case ev.LegRinging() if leg.ringing_at is None and not leg.leaving:
                leg.ringing_at = now
                self._note(now, "ringing", leg.id)
            case ev.LegProgress() if not leg.leaving:
                leg.progress_at = leg.progress_at or now
                self._note(now, "progress", leg.id)
            case ev.LegAnswered() if not leg.answered and not leg.leaving:
                leg.answered_at = now
                self._note(now, "answered", leg.id)
            case ev.LegDialStatus(status=status):
                if not leg.destroyed:   # a destroyed leg's outcome is decided from what it had
                    leg.dialstatus = status
                self._note(now, "dial_status", leg.id, status=status)
            case ev.LegHangup(cause=cause) if not leg.gone:
                leg.hangup_at = now
                self._note(now, "hangup", leg.id, cause=cause)
            case ev.LegDestroyed() if not leg.destroyed:
                leg.ended_at, leg.cause, leg.cause_txt = now, event.cause, event.cause_txt
                leg.tech_cause = event.tech_cause
                leg.outcome = self._leg_kind(leg)
                self._note(now, "ended", leg.id, cause=event.cause, cause_txt=event.cause_txt,
                           tech_cause=event.tech_cause)
            case ev.LegFailed() if not leg.destroyed:
                leg.ended_at, leg.cause_txt = now, event.detail
                leg.outcome = self._leg_kind(leg)
                self._note(now, "failed", leg.id, detail=event.detail)
            case ev.DtmfReceived(digit=digit):
                self._note(now, "dtmf_received", leg.id, digit=digit)
            case ev.TransferRequested(number=number):
                self._note(now, "transfer_requested", leg.id, number=number)
        return []

    def _move(self, target: str, now: float, label: str) -> None:
        if target != self.state:
            self._note(now, "state", None, state=target, previous=self.state, why=label)
            self.state = target

    # ------------------------------------------------------------------------ commands
    def _timer(self, name: str, delay: float) -> cmd.StartTimer:
        self._token += 1
        self.timers[name] = self._token
        return cmd.StartTimer(name, float(delay), self._token)

    def _hangup(self, leg: Leg, reason: str, now: float) -> cmd.Hangup:
        if not leg.leaving:
            leg.hangup_requested_at, leg.hangup_reason = now, reason
            self._note(now, "hangup_requested", leg.id, reason=reason)
        return cmd.Hangup(leg.id, reason)

    def _safety_timeout(self) -> int:
        """Asterisk's own ring limit: only there in case we die; our timers end rings sooner."""
        return 2 * self.plan.wait_for_pickup + 5

    def _playback_id(self) -> str:
        self._counter += 1
        return f"cb-{self.plan.call_id}-pb{self._counter}"

    def _variables(self, role: str) -> dict[str, str]:
        """Tags on every leg, plus the request's variables. ``__`` makes Asterisk pass a variable
        on through Dial, so the dialplan and the phones it dials see it too."""
        tags = {"__CB_CALL_ID": self.plan.call_id, "CB_ROLE": role}
        return {**tags, **{f"__{name}": value for name, value in self.plan.variables.items()}}

    def _absolute_timeouts(self, now: float, leg_ids: tuple[str | None, ...],
                           seconds: int | None = None) -> list[cmd.Command]:
        """Asterisk's own limit on each leg, so a call ends even if we are gone. It is a backstop:
        BACKSTOP_MARGIN later than our timer, so while we run the limit is ours (ended_by
        duration_limit, the transfer rules) and the two never race."""
        value = str((seconds or self.plan.call_duration) + BACKSTOP_MARGIN)
        return [cmd.SetVariable(leg_id, "TIMEOUT(absolute)", value) for leg_id in leg_ids if leg_id]

    def _connected_for(self, now: float) -> float:
        return now - self.connected_at if self.connected_at is not None else 0.0

    # ------------------------------------------------------------------------ transfers
    def _transfer_setting(self, leaving_leg_id: str) -> str:
        return "transfer_after_src_hangup" if leaving_leg_id == self.a_party else "transfer_after_dst_hangup"

    def _transfer_target(self, leaving_leg_id: str) -> str:
        setting = self._transfer_setting(leaving_leg_id)
        return "" if setting in self.transfers_used else getattr(self.plan, setting)

    def _external_involved(self) -> bool:
        winner = self.legs.get(self.winner or "")
        src_external = winner is not None and self.plan.srcs[winner.index].external
        return src_external or self.plan.dst_external

    def _transfer_allowed(self, number: str) -> bool:
        return bool(number) and (self.plan.allow_public_transfer or not self._external_involved())

    def _transfer_to(self, number: str, replacing: str, now: float) -> list[cmd.Command]:
        count = len(self._legs(XFER))
        leg = self._new_leg(f"cb-{self.plan.call_id}-xfer{count + 1}", XFER, number, now, index=count)
        if replacing == self.a_party:
            self.a_party = leg.id
        else:
            self.b_party = leg.id
        self.pending = leg.id
        self.digits.reset()   # a half-keyed code belongs to the conversation that just changed
        self._note(now, "transfer", leg.id, number=number, replacing=replacing)
        variables = {**self._variables(XFER), "CB_DST_CID_NUM": self.plan.dst_caller_id.number,
                     "CB_DST_CID_NAME": self.plan.dst_caller_id.name}
        return [cmd.CreateLeg(leg.id, self.plan.transfer_endpoint(number), self.plan.dst_formats, variables)]

    # ------------------------------------------------------------------------- restart
    def _resume(self, event: ev.Resume, leg: None, now: float) -> list[cmd.Command]:
        """Re-arm what was running when the app stopped, with the time that is left."""
        def left(total: float, since: float | None) -> float:
            return max(0.05, total - (now - since)) if since is not None else total
        wait = self.plan.wait_for_pickup
        if self.state == CALLING_SRC:
            started = min((l.created_at for l in self._legs(SRC) if l.created_at), default=now)
            return [self._timer(SRC_RING, left(wait, started))]
        if self.state == ANNOUNCING:
            return [self._timer(ANNOUNCE, 0.5)]   # its PlaybackFinished may have been missed
        if self.state == ENDING:
            return [cmd.Hangup(l.id, l.hangup_reason or "normal") for l in self.legs.values() if not l.destroyed]
        out: list[cmd.Command] = []
        pending = self.legs.get(self.pending or "")
        if pending is not None and not pending.answered:
            name = DST_RING if pending.role == DST else XFER_RING
            out.append(self._timer(name, left(wait, pending.progress_at or pending.created_at)))
        if self.was_connected:
            out.append(self._timer(DURATION, left(self.plan.call_duration, self.connected_at)))
        return out

    # --------------------------------------------------------------------------- ending
    def _end(self, status: str, detail: str, now: float, reason: str = "normal",
             blame: str | None = None) -> list[cmd.Command]:
        """Decide the outcome and hang up whatever is still up; the call finishes once every
        leg is destroyed (see _settle)."""
        self._final, self.status_detail, self._blame = status, detail, blame
        out: list[cmd.Command] = [cmd.CancelTimer(name) for name in self.timers]
        self.timers.clear()
        self.digits.reset()
        return out + [self._hangup(leg, reason, now) for leg in self.legs.values() if not leg.leaving]

    def _leg_kind(self, leg: Leg) -> str:
        return causes.leg_outcome(leg.cause, leg.dialstatus, leg.answered, leg.hangup_reason)

    def _blamed_kind(self) -> str:
        """The kind in ``<side>_<kind>``: read from the blamed legs' stored outcomes, so the call
        and its legs never tell two stories (every leg is destroyed, so each has one)."""
        if self._blame == SRC:
            kinds = [leg.outcome for leg in self._legs(SRC)]
            for preferred in (causes.BUSY, causes.UNANSWERED, causes.REJECTED):
                if preferred in kinds:
                    return preferred
            return kinds[0] if kinds else causes.UNKNOWN
        return self.legs[self._blame].outcome if self._blame else causes.UNKNOWN

    def _settle(self, now: float) -> list[cmd.Command]:
        """Finish once the call is ending and Asterisk has destroyed every leg."""
        if self.state != ENDING or not all(leg.destroyed for leg in self.legs.values()):
            return []
        if self._blame is not None:
            prefix = "src" if self._blame == SRC else self.legs[self._blame].role
            self.status_detail = f"{'dst' if prefix == XFER else prefix}_{self._blamed_kind()}"
        self.ended_at = now
        self._move(self._final, now, f"finish_{self._final}")
        return [cmd.DestroyBridge(self.bridge_id)] if self.bridge_created else []
