"""Rebuild a call's machine from what was stored, after the app was stopped mid-call.

The store holds the call's state, its legs and its timeline (saved on every transition), so
the machine can be put back as it was. What happened while the app was away is then fed in
as ordinary events by the engine (legs that vanished, legs that answered), and the machine's
``Resume`` re-arms the timers with the time that is left.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .legs import DST, SRC, Leg, TimelineEntry
from .machine import CallMachine
from .plan import CallPlan
from .states import CALLING_DST, CANCELLED, COMPLETED, FAILED, TRANSFERRING

_LEG_FIELDS = ("created_at", "ringing_at", "progress_at", "answered_at", "hangup_at", "ended_at", "cause",
               "cause_txt", "tech_cause", "dialstatus", "hangup_reason")


def _leg(row: Mapping[str, Any]) -> Leg:
    leg = Leg(row["id"], row["role"], row["number"], index=row.get("idx") or 0,
              **{name: row.get(name) for name in _LEG_FIELDS})
    leg.cause_txt, leg.dialstatus, leg.hangup_reason = leg.cause_txt or "", leg.dialstatus or "", \
        leg.hangup_reason or ""
    if leg.hangup_reason:   # we had asked Asterisk to hang it up
        leg.hangup_requested_at = leg.hangup_at or leg.created_at
    return leg


def restore(plan: CallPlan, call: Mapping[str, Any], legs: Sequence[Mapping[str, Any]],
            timeline: Sequence[Mapping[str, Any]]) -> CallMachine:
    """The machine of a stored, unfinished call (``call`` has the callbacks row's columns)."""
    m = CallMachine(plan)
    m.state = call["status"]
    m.status_detail, m.ended_by = call.get("status_detail") or "", call.get("ended_by") or ""
    m.winner = m.a_party = call.get("winner_leg")
    m.connected_at = call.get("connected_at")
    m.was_connected = m.connected_at is not None
    m.legs = {row["id"]: _leg(row) for row in legs}
    m.timeline = [TimelineEntry(e["at"], e["kind"], e.get("leg_id"), dict(e.get("detail") or {}))
                  for e in sorted(timeline, key=lambda e: e["seq"])]
    dst = [leg for leg in m.legs.values() if leg.role == DST]
    m.b_party = dst[0].id if dst else None
    m.bridge_created = bool(dst)
    _replay_transfers(m)
    m._counter = 100 + len(m.timeline)   # playback ids must not repeat earlier ones
    m._final = {"answered": COMPLETED, "cancelled": CANCELLED}.get(m.status_detail, FAILED)
    if m.status_detail in ("src_failed", "dst_failed"):
        m._blame = SRC if m.status_detail == "src_failed" else m.b_party
    if m.state == CALLING_DST:
        m.pending = m.b_party
    return m


def _replay_transfers(m: CallMachine) -> None:
    """Who holds each side after the transfers the timeline records, and which were used."""
    for entry in m.timeline:
        if entry.kind != "transfer" or entry.leg_id is None:
            continue
        replacing = entry.detail.get("replacing")
        m.transfers_used.add(m._transfer_setting(str(replacing)))
        if replacing == m.a_party:
            m.a_party = entry.leg_id
        else:
            m.b_party = entry.leg_id
        if m.state == TRANSFERRING:
            m.pending = entry.leg_id
    if m.pending and m.legs.get(m.pending) is not None and m.legs[m.pending].answered:
        m.pending = None
