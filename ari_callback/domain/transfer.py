"""Transfers: of the party left alone after a hang-up, and blind transfers a party asks for.

A party asks by DTMF (the transfer code, the number, then ``#``) or by its phone's transfer
key (SIP REFER, which Asterisk hands to us). Asterisk's features.conf transfer codes do
nothing inside ARI bridges, so the app collects the digits itself from ChannelDtmfReceived.
The number also completes after a pause of ``INTERDIGIT`` seconds without a digit (as phones
do for overlap dialling). The functions below are of the call machine ``m``; the actions
among them carry out a label of ``machine.TRANSITIONS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import commands as cmd
from . import events as ev
from . import limits
from .legs import XFER, Leg
from .states import CALLING_DST, COMPLETED, DST_RING, DURATION, FAILED, XFER_RING

if TYPE_CHECKING:
    from .machine import CallMachine


class DigitCollector:
    TIMER = "xfer_digits"
    INTERDIGIT = 3.0
    TERMINATOR = "#"
    MAX_NUMBER = 32

    def __init__(self, code: str):
        self.code = code
        self._recent: dict[str, str] = {}
        self._leg: str | None = None
        self._number = ""

    def feed(self, leg_id: str, digit: str) -> bool:
        """Take a digit; True while a number is being collected (the inter-digit timer restarts)."""
        if self._leg is not None and self._leg != leg_id:
            return False   # the other party keeps talking while one transfers: ignore it
        if self._leg == leg_id:
            if digit.isdigit() and len(self._number) < self.MAX_NUMBER:
                self._number += digit
            return True
        recent = (self._recent.get(leg_id, "") + digit)[-len(self.code):]
        self._recent[leg_id] = recent
        if self.code and recent == self.code:
            self._leg, self._number, self._recent[leg_id] = leg_id, "", ""
            return True
        return False

    def would_complete(self, leg_id: str, digit: str) -> bool:
        return self._leg == leg_id and digit == self.TERMINATOR and bool(self._number)

    def pending(self) -> str:
        """The number collected so far ('' when nothing is being collected)."""
        return self._number if self._leg else ""

    def take(self) -> tuple[str, str]:
        number, leg = self._number, self._leg or ""
        self.reset()
        return number, leg

    def reset(self) -> None:
        self._leg, self._number = None, ""


# ------------------------------------------------------------------------------ rules
def setting_for(m: CallMachine, leaving_leg_id: str) -> str:
    """The request's option that says where the party left behind goes."""
    return "transfer_after_src_hangup" if leaving_leg_id == m.a_party else "transfer_after_dst_hangup"


def target_after_hangup(m: CallMachine, leaving_leg_id: str) -> str:
    """Where the other party goes when this one leaves ('' for nowhere); each option once."""
    setting = setting_for(m, leaving_leg_id)
    return "" if setting in m.transfers_used else getattr(m.plan, setting)


def allowed(m: CallMachine, number: str) -> bool:
    """A party may transfer unless an external number is involved and the request forbids it."""
    return bool(number) and (m.plan.allow_public_transfer or not _external_involved(m))


def _external_involved(m: CallMachine) -> bool:
    winner = m.legs.get(m.winner or "")
    src_external = winner is not None and m.plan.srcs[winner.index].external
    return src_external or m.plan.dst_external


def transfer_to(m: CallMachine, number: str, replacing: str, now: float) -> list[cmd.Command]:
    """A new leg for ``number`` takes the place of party ``replacing``; it is rung once ready."""
    count = len(m.legs_of(XFER))
    leg = m.new_leg(f"cb-{m.plan.call_id}-xfer{count + 1}", XFER, number, now, index=count)
    if replacing == m.a_party:
        m.a_party = leg.id
    else:
        m.b_party = leg.id
    m.pending = leg.id
    m.digits.reset()   # a half-keyed code belongs to the conversation that just changed
    m.note(now, "transfer", leg.id, number=number, replacing=replacing)
    variables = {**m.leg_variables(XFER), "CB_DST_CID_NUM": m.plan.dst_caller_id.number,
                 "CB_DST_CID_NAME": m.plan.dst_caller_id.name}
    return [cmd.CreateLeg(leg.id, m.plan.transfer_endpoint(number), m.plan.dst_formats, variables)]


# ---------------------------------------------------------------------------- actions
def after_hangup(m: CallMachine, event: object, leg: Leg, now: float) -> list[cmd.Command]:
    """The other party is alone: transfer it to the number the request gave (once each)."""
    setting = setting_for(m, leg.id)
    m.transfers_used.add(setting)
    out: list[cmd.Command] = []
    if m.state == CALLING_DST:   # the destination never answered: it names a failure
        m.first_failure = leg.id
        out.append(m.stop_timer(DST_RING))
    return out + transfer_to(m, getattr(m.plan, setting), replacing=leg.id, now=now)


def asked(m: CallMachine, event: ev.DtmfReceived | ev.TransferRequested | ev.TimerFired,
          leg: Leg | None, now: float) -> list[cmd.Command]:
    """Blind transfer: the party who asked leaves; the other one is connected to the number."""
    if isinstance(event, ev.TransferRequested):
        assert leg is not None   # the machine routes a transfer request to the leg that asked
        number, asker = event.number, leg
    else:
        m.timers.pop(m.digits.TIMER, None)
        number, asker_id = m.digits.take()
        asker = m.legs[asker_id]
    return [cmd.CancelTimer(m.digits.TIMER), m.hang_up(asker, "normal", now),
            *transfer_to(m, number, replacing=asker.id, now=now)]


def digit(m: CallMachine, event: ev.DtmfReceived | ev.TimerFired, leg: Leg | None, now: float) -> list[cmd.Command]:
    if isinstance(event, ev.TimerFired):   # a pause with no number to transfer to: forget it
        m.timers.pop(event.name, None)
        m.digits.reset()
        return []
    assert leg is not None   # a digit always comes from a leg
    if m.digits.feed(leg.id, event.digit):
        return [m.start_timer(m.digits.TIMER, m.digits.INTERDIGIT)]
    return []


def answered(m: CallMachine, event: ev.LegAnswered, leg: Leg, now: float) -> list[cmd.Command]:
    m.pending = None
    out: list[cmd.Command] = [m.stop_timer(XFER_RING)]
    if not m.was_connected:
        # The destination never answered: this is the call's first conversation, so its
        # limits start now, on both parties (as they would have on the destination's answer).
        m.was_connected, m.connected_at = True, now
        out += limits.absolute_timeouts(m, (m.a_party, m.b_party))
        return out + [m.start_timer(DURATION, m.plan.call_duration)]
    remaining = max(1, int(m.plan.call_duration - limits.connected_for(m, now)))
    return out + limits.absolute_timeouts(m, (leg.id,), seconds=remaining)


def failed(m: CallMachine, event: object, leg: Leg, now: float) -> list[cmd.Command]:
    m.note(now, "transfer_failed", leg.id)
    if m.was_connected:
        return m.end_call(COMPLETED, "answered", now)
    return m.end_call(FAILED, "dst_failed", now, blame=m.first_failure or leg.id)
