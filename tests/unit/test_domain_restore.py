"""Calls stored as rows only (before machine snapshots) are still put back from those rows."""

from __future__ import annotations

from ari_callback.domain import events as ev
from ari_callback.domain.machine import CallMachine
from ari_callback.domain.restore import restore

from .test_domain_snapshot_plan import a_plan


def rows(m: CallMachine) -> tuple[dict, list[dict], list[dict]]:
    """What the engine stores today: the call's columns, leg rows and timeline rows."""
    call = {"status": m.state, "status_detail": m.status_detail, "ended_by": m.ended_by,
            "winner_leg": m.winner, "connected_at": m.connected_at}
    legs = [{"idx": leg.index, **{k: v for k, v in vars(leg).items() if k not in ("index", "dialled_at",
                                                                              "hangup_requested_at")}}
            for leg in m.legs.values()]
    timeline = [{"seq": i, "at": e.at, "kind": e.kind, "leg_id": e.leg_id, "detail": e.detail}
                for i, e in reversed(list(enumerate(m.timeline)))]   # the store may give any order
    return call, legs, timeline


def test_given_rows_of_a_call_ringing_its_destination_when_restored_then_destination_is_pending():
    plan = a_plan()
    m = CallMachine(plan)
    m.handle(ev.Start(), 1.0)
    m.handle(ev.LegAnswered("cb-t-src0"), 2.0)
    back = restore(plan, *rows(m))
    assert (back.state, back.winner, back.a_party, back.b_party, back.pending) == \
        ("calling_dst", "cb-t-src0", "cb-t-src0", "cb-t-dst", "cb-t-dst")
    assert back.bridge_created and list(back.legs) == list(m.legs) and back.timeline == m.timeline
    assert back.legs["cb-t-src1"].leaving   # hung up by us (answered elsewhere), so no party


def test_given_rows_of_a_transferred_call_when_restored_then_parties_follow_the_transfer():
    plan = a_plan(transfer_after_dst_hangup="3003")
    m = CallMachine(plan)
    for now, event in enumerate([ev.Start(), ev.LegAnswered("cb-t-src0"), ev.LegReady("cb-t-dst"),
                                 ev.LegAnswered("cb-t-dst"), ev.LegDestroyed("cb-t-dst", 16)], start=1):
        m.handle(event, float(now))
    back = restore(plan, *rows(m))
    assert (back.state, back.a_party, back.b_party, back.pending) == \
        ("transferring", "cb-t-src0", "cb-t-xfer1", "cb-t-xfer1")
    assert back.transfers_used == {"transfer_after_dst_hangup"} and back.was_connected
