"""Rebuild a call's machine from the rows stored before machine snapshots existed.

A call stored with ``snapshot.machine_snapshot`` is put back with ``machine_from_snapshot``,
exactly. A call stored only as rows (its state, legs and timeline) has lost some of what the
machine knew; this module infers it from the rows, writes it as a snapshot and loads that, so
the machine's private fields are still written in one place only. What happened while the app
was away is then fed in as ordinary events by the engine, and ``Resume`` re-arms the timers.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from . import causes
from .legs import DST, SRC, Leg
from .machine import CallMachine
from .plan import CallPlan
from .snapshot import leg_to_dict, machine_from_snapshot, machine_snapshot
from .states import CALLING_DST, CANCELLED, COMPLETED, FAILED, TRANSFERRING

_LEG_COLUMNS = ("created_at", "ringing_at", "progress_at", "answered_at", "hangup_at", "ended_at", "cause",
                "cause_txt", "tech_cause", "dialstatus", "hangup_reason", "outcome")


def restore(plan: CallPlan, call: Mapping[str, Any], legs: Sequence[Mapping[str, Any]],
            timeline: Sequence[Mapping[str, Any]]) -> CallMachine:
    """The machine of a stored, unfinished call (``call`` has the callbacks row's columns)."""
    return machine_from_snapshot(snapshot_from_rows(plan, call, legs, timeline))


def snapshot_from_rows(plan: CallPlan, call: Mapping[str, Any], legs: Sequence[Mapping[str, Any]],
                       timeline: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A machine snapshot inferred from a call's rows (a fresh machine's, with what they tell)."""
    data = machine_snapshot(CallMachine(plan))
    status_detail = call.get("status_detail") or ""
    data.update(state=call["status"], status_detail=status_detail, ended_by=call.get("ended_by") or "",
                winner=call.get("winner_leg"), a_party=call.get("winner_leg"),
                connected_at=call.get("connected_at"), was_connected=call.get("connected_at") is not None)
    data["legs"] = [leg_to_dict(_leg(row)) for row in legs]
    data["timeline"] = [{"at": e["at"], "kind": e["kind"], "leg_id": e.get("leg_id"),
                         "detail": dict(e.get("detail") or {})} for e in sorted(timeline, key=lambda e: e["seq"])]
    dst = [row["id"] for row in data["legs"] if row["role"] == DST]
    data.update(b_party=dst[0] if dst else None, bridge_created=bool(dst))
    _replay_transfers(data)
    data["playback_counter"] = 100 + len(data["timeline"])   # playback ids must not repeat earlier ones
    data["final"] = {"answered": COMPLETED, "cancelled": CANCELLED}.get(status_detail, FAILED)
    if status_detail in ("src_failed", "dst_failed"):
        data["blame"] = SRC if status_detail == "src_failed" else data["b_party"]
    if data["state"] == CALLING_DST:
        data["pending"] = data["b_party"]
    return data


def _leg(row: Mapping[str, Any]) -> Leg:
    leg = Leg(row["id"], row["role"], row["number"], index=row.get("idx") or 0,
              **{name: row.get(name) for name in _LEG_COLUMNS})
    leg.cause_txt, leg.dialstatus = leg.cause_txt or "", leg.dialstatus or ""
    leg.hangup_reason, leg.outcome = leg.hangup_reason or "", leg.outcome or ""
    if leg.hangup_reason:   # we had asked Asterisk to hang it up
        leg.hangup_requested_at = leg.hangup_at or leg.created_at
    if leg.destroyed and not leg.outcome:   # stored before legs kept their outcome
        leg.outcome = causes.leg_outcome(leg.cause, leg.dialstatus, leg.answered, leg.hangup_reason)
    return leg


def _replay_transfers(data: dict[str, Any]) -> None:
    """Who holds each side after the transfers the timeline records, and which were used."""
    used = set(data["transfers_used"])
    for entry in data["timeline"]:
        if entry["kind"] != "transfer" or entry["leg_id"] is None:
            continue
        replacing = entry["detail"].get("replacing")
        side = "a_party" if replacing == data["a_party"] else "b_party"
        used.add("transfer_after_src_hangup" if side == "a_party" else "transfer_after_dst_hangup")
        data[side] = entry["leg_id"]
        if data["state"] == TRANSFERRING:
            data["pending"] = entry["leg_id"]
    data["transfers_used"] = sorted(used)
    answered = {row["id"] for row in data["legs"] if row["answered_at"] is not None}
    if data["pending"] in answered:
        data["pending"] = None
