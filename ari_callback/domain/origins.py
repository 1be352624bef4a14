"""The origins: every number rings at once; the first to answer wins, the others are hung up.

The winner may first hear an announcement; then the destination is called. Functions of the
call machine ``m``, each carrying out a label of ``machine.TRANSITIONS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import commands as cmd
from . import destination, limits
from . import events as ev
from .legs import SRC, Leg
from .states import ANNOUNCE, FAILED, SRC_RING

if TYPE_CHECKING:
    from .machine import CallMachine


def ring_all(m: CallMachine, event: ev.Start | ev.Resume, leg: None, now: float) -> list[cmd.Command]:
    out: list[cmd.Command] = []
    for i, target in enumerate(m.plan.srcs):
        origin = m.new_leg(f"cb-{m.plan.call_id}-src{i}", SRC, target.number, now, index=i)
        # Asterisk's own ring timeout is only a safety net if we die; ours restarts.
        variables = m.leg_variables(SRC)
        if target.endpoint.startswith("PJSIP/"):
            # The phone's own transfer key (REFER) comes to us as ChannelTransfer, so that
            # allow_public_transfer decides, not Asterisk.
            variables["PJSIP_TRANSFER_HANDLING()"] = "ari-only"
        out.append(cmd.Originate(origin.id, target.endpoint, target.caller_id.header(),
                                 timeout=limits.safety_timeout(m), formats=target.formats,
                                 variables=variables))
    if m.plan.simultaneous:
        out += destination.call(m, now)
    return out + [m.start_timer(SRC_RING, m.plan.wait_for_pickup)]


def first_answered(m: CallMachine, event: ev.LegAnswered, leg: Leg, now: float) -> list[cmd.Command]:
    m.winner = m.a_party = leg.id
    out: list[cmd.Command] = [m.stop_timer(SRC_RING)]
    for other in m.legs_of(SRC):
        if other.id != leg.id and not other.leaving:
            out.append(m.hang_up(other, "answered_elsewhere", now))
    if m.plan.simultaneous:   # the bridge and the ringing destination exist already
        return out + [cmd.AddToBridge(m.bridge_id, leg.id)]
    if m.plan.announce_media:
        m.announce_playback = m.next_playback_id()
        out.append(cmd.PlayToLeg(leg.id, m.plan.announce_media, m.announce_playback))
        return out + [m.start_timer(ANNOUNCE, m.plan.playback_timeout)]
    return out + destination.call(m, now)


def answered_to_waiting_destination(m: CallMachine, event: ev.LegAnswered, leg: Leg,
                                    now: float) -> list[cmd.Command]:
    """Simultaneous mode: the destination answered first and waits in the bridge."""
    assert m.b_party is not None   # this transition needs the destination rung already
    return first_answered(m, event, leg, now) + destination.answered(m, event, m.legs[m.b_party], now)


def announce_done(m: CallMachine, event: ev.PlaybackDone | ev.TimerFired, leg: None,
                  now: float) -> list[cmd.Command]:
    out: list[cmd.Command] = [m.stop_timer(ANNOUNCE)]
    if isinstance(event, ev.TimerFired) and m.announce_playback:
        # A playback that never finishes (an endless tone, a stuck stream) is cut short.
        out.append(cmd.StopPlayback(m.announce_playback))
        m.note(now, "announce_timeout", m.winner, playback=m.announce_playback)
    elif isinstance(event, ev.PlaybackDone) and not event.ok:
        m.note(now, "announce_failed", m.winner, playback=event.playback_id)
    return out + destination.call(m, now)


def extra_answer(m: CallMachine, event: ev.LegAnswered, leg: Leg, now: float) -> list[cmd.Command]:
    return [m.hang_up(leg, "answered_elsewhere", now)]


def one_lost(m: CallMachine, event: object, leg: Leg, now: float) -> list[cmd.Command]:
    return []   # the others still ring


def all_failed(m: CallMachine, event: object, leg: Leg, now: float) -> list[cmd.Command]:
    return m.end_call(FAILED, "src_failed", now, blame=SRC)


def ring_timeout(m: CallMachine, event: ev.TimerFired, leg: None, now: float) -> list[cmd.Command]:
    m.timers.pop(SRC_RING, None)
    return m.end_call(FAILED, "src_no_answer", now, reason="no_answer")
