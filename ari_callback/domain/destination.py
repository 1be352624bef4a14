"""The destination: created through the dialplan, bridged before it is dialled, then answered.

Created legs (the destination and transfer targets) are bridged before they are dialled, so
the origin hears ringback and early media. Functions of the call machine ``m``; the actions
among them carry out a label of ``machine.TRANSITIONS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import commands as cmd
from . import events as ev
from . import limits, transfer
from .legs import DST, Leg
from .states import DST_RING, DURATION, FAILED, XFER_RING

if TYPE_CHECKING:
    from .machine import CallMachine

# A final Dial status and the reason we hang the leg up with (which names its outcome).
_HANGUP_REASON = {"BUSY": "busy", "CONGESTION": "congestion", "NOANSWER": "no_answer"}


def call(m: CallMachine, now: float) -> list[cmd.Command]:
    """The bridge (with the winner, if there is one yet) and the destination leg in it."""
    m.bridge_created = True
    dst = m.new_leg(f"cb-{m.plan.call_id}-dst", DST, m.plan.dst_number, now)
    m.b_party = m.pending = dst.id
    variables = dict(m.leg_variables(DST))
    variables["CB_DST_CID_NUM"] = m.plan.dst_caller_id.number
    variables["CB_DST_CID_NAME"] = m.plan.dst_caller_id.name
    # A destination phone's own transfer key is Asterisk's business (it sits in dst-route's
    # Dial bridge); the dialplan's pre-dial handler follows this (extensions.conf cb-dst-leg).
    variables["__CB_PUBLIC_TRANSFER"] = "yes" if transfer.allowed(m, "dst") else "no"
    first = [cmd.AddToBridge(m.bridge_id, m.winner)] if m.winner else []
    return [cmd.CreateBridge(m.bridge_id), *first,
            cmd.CreateLeg(dst.id, m.plan.dst_endpoint, m.plan.dst_formats, variables)]


def leg_ready(m: CallMachine, event: ev.LegReady, leg: Leg, now: float) -> list[cmd.Command]:
    # Bridged before it is dialled, so the origin hears ringback and early media.
    name = DST_RING if leg.role == DST else XFER_RING
    leg.dialled_at = now
    wait = m.plan.dst_wait() if leg.role == DST else m.plan.wait_for_pickup
    return [cmd.AddToBridge(m.bridge_id, leg.id), cmd.Dial(leg.id, timeout=limits.safety_timeout(m)),
            m.start_timer(name, wait)]


def progress(m: CallMachine, event: ev.LegProgress, leg: Leg, now: float) -> list[cmd.Command]:
    return [m.start_timer(DST_RING, m.plan.dst_wait())]   # seed 002: restart on early media


def ring_timeout(m: CallMachine, event: ev.TimerFired, leg: None, now: float) -> list[cmd.Command]:
    m.timers.pop(event.name, None)
    target = m.legs.get(m.pending or "")
    return [m.hang_up(target, "no_answer", now)] if target and not target.leaving else []


def answered_early(m: CallMachine, event: ev.LegAnswered, leg: Leg, now: float) -> list[cmd.Command]:
    """Simultaneous mode: the destination answered first; it waits in the bridge."""
    return [m.stop_timer(DST_RING)]


def answered(m: CallMachine, event: ev.LegAnswered, leg: Leg, now: float) -> list[cmd.Command]:
    m.was_connected, m.connected_at, m.pending = True, now, None
    out: list[cmd.Command] = [m.stop_timer(DST_RING)]
    # Asterisk's backstop first: a control request queued behind DTMF would be late.
    out += limits.absolute_timeouts(m, (m.a_party, m.b_party))
    if m.plan.dst_announce_media:
        out.append(cmd.PlayToBridge(m.bridge_id, m.plan.dst_announce_media, m.next_playback_id()))
    if m.plan.dst_dtmf:
        out.append(cmd.SendDtmf(leg.id, m.plan.dst_dtmf))
    return out + [m.start_timer(DURATION, m.plan.call_duration)]


def dial_failed(m: CallMachine, event: ev.LegDialStatus, leg: Leg, now: float) -> list[cmd.Command]:
    # Asterisk leaves a created channel up after BUSY/CONGESTION: we hang it up ourselves.
    return [m.hang_up(leg, _HANGUP_REASON.get(event.status.upper(), "normal"), now)]


def failed(m: CallMachine, event: object, leg: Leg, now: float) -> list[cmd.Command]:
    if leg.answered and leg.hangup_requested_at is None:
        # Simultaneous mode: the destination answered, waited in the bridge and hung up
        # before any origin did. It left; it did not fail (its causes say "normal").
        return m.end_call(FAILED, "dst_abandoned", now)
    return m.end_call(FAILED, "dst_failed", now, blame=leg.id)
