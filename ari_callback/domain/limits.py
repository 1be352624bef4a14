"""How long things may last: ring limits, the call's duration, and re-arming them after a restart.

Our timers decide; Asterisk's own limits are backstops that only matter if the app is gone: a
ring timeout on each originate/dial, ``TIMEOUT(absolute)`` on each talking party. Functions of
the call machine ``m``; the actions among them carry out a label of ``machine.TRANSITIONS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import commands as cmd
from . import events as ev
from .legs import DST, SRC
from .states import ANNOUNCE, ANNOUNCING, CALLING_SRC, COMPLETED, DST_RING, DURATION, ENDING, SRC_RING, XFER_RING

if TYPE_CHECKING:
    from .machine import CallMachine

BACKSTOP_MARGIN = 2   # seconds between our call_duration timer and Asterisk's TIMEOUT(absolute)
RESUMED_ANNOUNCEMENT = 0.5   # its PlaybackFinished may have been missed while we were away
_SOONEST = 0.05   # a limit that passed while the app was away fires at once, not never


def safety_timeout(m: CallMachine) -> int:
    """Asterisk's own ring limit: only there in case we die; our timers end rings sooner."""
    return 2 * max(m.plan.wait_for_pickup, m.plan.dst_wait()) + 5


def absolute_timeouts(m: CallMachine, leg_ids: tuple[str | None, ...],
                      seconds: int | None = None) -> list[cmd.Command]:
    """Asterisk's own limit on each leg, so a call ends even if we are gone. It is a backstop:
    BACKSTOP_MARGIN later than our timer, so while we run the limit is ours (ended_by
    duration_limit, the transfer rules) and the two never race."""
    value = str((seconds or m.plan.call_duration) + BACKSTOP_MARGIN)
    return [cmd.SetVariable(leg_id, "TIMEOUT(absolute)", value) for leg_id in leg_ids if leg_id]


def connected_for(m: CallMachine, now: float) -> float:
    return now - m.connected_at if m.connected_at is not None else 0.0


def duration_reached(m: CallMachine, event: ev.TimerFired, leg: None, now: float) -> list[cmd.Command]:
    m.ended_by = "duration_limit"
    return m.end_call(COMPLETED, "answered", now)


def resume(m: CallMachine, event: ev.Resume, leg: None, now: float) -> list[cmd.Command]:
    """Re-arm what was running when the app stopped, with the time that is left."""
    def left(total: float, since: float | None) -> float:
        return max(_SOONEST, total - (now - since)) if since is not None else total
    wait = m.plan.wait_for_pickup
    if m.state == CALLING_SRC:
        started = min((lg.created_at for lg in m.legs_of(SRC) if lg.created_at), default=now)
        return [m.start_timer(SRC_RING, left(wait, started))]
    if m.state == ANNOUNCING:
        return [m.start_timer(ANNOUNCE, RESUMED_ANNOUNCEMENT)]
    if m.state == ENDING:
        return [cmd.Hangup(lg.id, lg.hangup_reason or "normal") for lg in m.legs.values() if not lg.destroyed]
    out: list[cmd.Command] = []
    pending = m.legs.get(m.pending or "")
    if pending is not None and not pending.answered:
        name, limit = (DST_RING, m.plan.dst_wait()) if pending.role == DST else (XFER_RING, wait)
        out.append(m.start_timer(name, left(limit, pending.progress_at or pending.created_at)))
    if m.was_connected:
        out.append(m.start_timer(DURATION, left(m.plan.call_duration, m.connected_at)))
    return out
