"""The book-keeping under the state machine: legs, parties, timers, the timeline, the ending.

``CallMachine`` decides; this class remembers. Nothing here chooses a transition. Its public
methods are what the machine's concerns (origins, destination, transfer, limits) use to
change the record: add a leg, note an event, start a timer, hang up, end the call.
"""

from __future__ import annotations

from . import causes
from . import commands as cmd
from . import events as ev
from .legs import SRC, XFER, Leg, TimelineEntry
from .plan import CallPlan
from .states import ENDING, FAILED, NEW, TERMINAL
from .transfer import DigitCollector

FINAL_DIALSTATUS = causes.FINAL_DIALSTATUS


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
        self.announce_playback: str | None = None   # the winner's, told apart from the others
        self._final = FAILED
        self._blame: str | None = None   # whose legs name the failure, decided when all are gone
        self.first_failure: str | None = None   # a destination that failed before its transfer did

    @property
    def bridge_id(self) -> str:
        return f"cb-{self.plan.call_id}"

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL

    # ------------------------------------------------------------------ legs, timeline
    def new_leg(self, leg_id: str, role: str, number: str, now: float, index: int = 0) -> Leg:
        leg = Leg(leg_id, role, number, index=index, created_at=now)
        self.legs[leg_id] = leg
        self.note(now, "leg_created", leg_id, role=role, number=number)
        return leg

    def legs_of(self, role: str) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.role == role]

    def note(self, now: float, kind: str, leg_id: str | None = None, **detail: object) -> None:
        self.timeline.append(TimelineEntry(now, kind, leg_id, detail))

    def _record(self, event: ev.CallEvent, leg: Leg | None, now: float) -> list[cmd.Command]:
        """Write what the event says into the leg's record and the timeline."""
        if leg is None:
            if isinstance(event, ev.Cancel):
                self.note(now, "cancel_requested", reason=event.reason)
            return []
        match event:
            case ev.LegRinging() if leg.ringing_at is None and not leg.leaving:
                leg.ringing_at = now
                self.note(now, "ringing", leg.id)
            case ev.LegProgress() if not leg.leaving:
                leg.progress_at = leg.progress_at or now
                self.note(now, "progress", leg.id)
            case ev.LegAnswered() if not leg.answered and not leg.leaving:
                leg.answered_at = now
                self.note(now, "answered", leg.id)
            case ev.LegDialStatus(status=status):
                if not leg.destroyed:   # a destroyed leg's outcome is decided from what it had
                    leg.dialstatus = status
                self.note(now, "dial_status", leg.id, status=status)
            case ev.LegHangup(cause=cause) if not leg.gone:
                leg.hangup_at = now
                self.note(now, "hangup", leg.id, cause=cause)
            case ev.LegDestroyed() if not leg.destroyed:
                leg.ended_at, leg.cause, leg.cause_txt = now, event.cause, event.cause_txt
                leg.tech_cause = event.tech_cause
                leg.outcome = self._leg_kind(leg)
                self.note(now, "ended", leg.id, cause=event.cause, cause_txt=event.cause_txt,
                           tech_cause=event.tech_cause)
            case ev.LegFailed() if not leg.destroyed:
                leg.ended_at, leg.cause_txt = now, event.detail
                leg.outcome = self._leg_kind(leg)
                self.note(now, "failed", leg.id, detail=event.detail)
            case ev.DtmfReceived(digit=digit):
                self.note(now, "dtmf_received", leg.id, digit=digit)
            case ev.TransferRequested(number=number):
                self.note(now, "transfer_requested", leg.id, number=number)
        return []

    def _move(self, target: str, now: float, label: str) -> None:
        if target != self.state:
            self.note(now, "state", None, state=target, previous=self.state, why=label)
            self.state = target

    # ------------------------------------------------------------------------ commands
    def start_timer(self, name: str, delay: float) -> cmd.StartTimer:
        self._token += 1
        self.timers[name] = self._token
        return cmd.StartTimer(name, float(delay), self._token)

    def stop_timer(self, name: str) -> cmd.CancelTimer:
        self.timers.pop(name, None)
        return cmd.CancelTimer(name)

    def hang_up(self, leg: Leg, reason: str, now: float) -> cmd.Hangup:
        if not leg.leaving:
            leg.hangup_requested_at, leg.hangup_reason = now, reason
            self.note(now, "hangup_requested", leg.id, reason=reason)
        return cmd.Hangup(leg.id, reason)

    def next_playback_id(self) -> str:
        self._counter += 1
        return f"cb-{self.plan.call_id}-pb{self._counter}"

    def leg_variables(self, role: str) -> dict[str, str]:
        """Tags on every leg, plus the request's variables. ``__`` makes Asterisk pass a variable
        on through Dial, so the dialplan and the phones it dials see it too."""
        tags = {"__CB_CALL_ID": self.plan.call_id, "CB_ROLE": role}
        return {**tags, **{f"__{name}": value for name, value in self.plan.variables.items()}}

    # --------------------------------------------------------------------------- ending
    def end_call(self, status: str, detail: str, now: float, reason: str = "normal",
                 blame: str | None = None) -> list[cmd.Command]:
        """Decide the outcome and hang up whatever is still up; the call finishes once every
        leg is destroyed (see _settle)."""
        self._final, self.status_detail, self._blame = status, detail, blame
        out: list[cmd.Command] = [cmd.CancelTimer(name) for name in self.timers]
        self.timers.clear()
        self.digits.reset()
        return out + [self.hang_up(leg, reason, now) for leg in self.legs.values() if not leg.leaving]

    def _leg_kind(self, leg: Leg) -> str:
        return causes.leg_outcome(leg.cause, leg.dialstatus, leg.answered, leg.hangup_reason)

    def _blamed_kind(self) -> str:
        """The kind in ``<side>_<kind>``: read from the blamed legs' stored outcomes, so the call
        and its legs never tell two stories (every leg is destroyed, so each has one)."""
        if self._blame == SRC:
            kinds = [leg.outcome for leg in self.legs_of(SRC)]
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
