"""A leg's outcome is decided once, by the machine, when the leg is destroyed, by the same rule
that names the call's ``<side>_<kind>``: the legs and the call never tell two stories."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ari_callback.domain import causes
from ari_callback.domain import events as ev
from ari_callback.domain.machine import CallMachine, IllegalTransition
from ari_callback.domain.states import TERMINAL

from .test_domain_machine import DST, SRC0, SRC1, SRC2, XFER1, Call, calling_dst, connected, started
from .test_domain_machine_model import DIGITS, FakeAsterisk, plans

DOCUMENTED_KINDS = {"busy", "no_answer", "rejected", "congestion", "invalid_number", "unavailable", "unknown"}
SIDE_ROLES = {"src": ("src",), "dst": ("dst", "xfer")}


def the_rule(leg) -> str:
    return causes.leg_outcome(leg.cause, leg.dialstatus, leg.answered, leg.hangup_reason)


def drive(m: CallMachine, fake: FakeAsterisk, draw, now: float) -> float:
    """One report from the fake Asterisk: mostly what was asked for, sometimes anything."""
    talking = [leg for leg in fake.created if leg in fake.answered and leg not in fake.destroyed]
    source = draw(st.sampled_from(["likely"] * 6 + ["anything", "digits"]))
    if source == "digits" and talking:
        leg = draw(st.sampled_from(talking))
        events = [ev.DtmfReceived(leg, digit) for digit in draw(st.sampled_from(DIGITS))]
    else:
        likely = fake.likely()
        events = [draw(st.sampled_from(likely if source == "likely" and likely else fake.anything()))]
    for event in events:
        now += 0.25
        try:
            fake.take(m, m.handle(event, now))
        except IllegalTransition:
            pass
        fake.saw(event)
        check_legs(m)
    return now


def check_legs(m: CallMachine) -> None:
    for leg in m.legs.values():
        if leg.destroyed:
            assert leg.outcome == the_rule(leg), f"{leg.id}: outcome {leg.outcome!r} is not the rule's"
        else:
            assert leg.outcome == "", f"{leg.id} has an outcome before it ended"


def check_call_agrees_with_legs(m: CallMachine) -> None:
    side, _, kind = m.status_detail.partition("_")
    if side not in SIDE_ROLES or kind == "abandoned":
        return
    assert kind in DOCUMENTED_KINDS, m.status_detail
    outcomes = {leg.outcome for leg in m.legs.values() if leg.role in SIDE_ROLES[side]}
    assert kind in outcomes, f"{m.status_detail} but the {side} legs ended {outcomes}"


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans(), data=st.data())
def test_given_any_call_when_it_finishes_then_status_detail_kind_is_among_its_sides_leg_outcomes(plan, data):
    m, fake, now = CallMachine(plan), FakeAsterisk(), 0.0
    fake.take(m, m.handle(ev.Start(), now))
    for _ in range(data.draw(st.integers(0, 40), label="steps")):
        now = drive(m, fake, data.draw, now)
    for _ in range(10):   # Asterisk ends everything
        for leg in [leg for leg in fake.created if leg not in fake.destroyed]:
            now += 0.1
            fake.take(m, m.handle(ev.LegDestroyed(leg, 16), now))
            fake.saw(ev.LegDestroyed(leg, 16))
    assert m.state in TERMINAL
    check_legs(m)
    check_call_agrees_with_legs(m)


# ================================================================================ examples
def test_given_destination_cleared_unanswered_with_normal_cause_then_leg_and_call_both_say_no_answer():
    # The API used to call this leg "normal" while the call said dst_no_answer.
    call = calling_dst()
    call.destroy(DST, 16)
    call.destroy(SRC0)
    assert (call.leg(DST).outcome, call.m.status_detail) == ("no_answer", "dst_no_answer")


def test_given_origins_lose_to_another_when_destroyed_then_they_ended_answered_elsewhere():
    call = started(src=["1001", "2001", "3001"])
    call(ev.LegAnswered(SRC1))
    call.destroy(SRC0, 26)
    call.destroy(SRC2, 26)
    assert [call.leg(leg).outcome for leg in (SRC0, SRC2)] == ["answered_elsewhere"] * 2
    assert call.leg(SRC1).outcome == ""   # still up


def test_given_a_connected_call_when_both_hang_up_then_each_leg_ended_normal():
    call = connected()
    call.destroy(DST, 16)
    call.destroy(SRC0, 16)
    assert [call.leg(leg).outcome for leg in (SRC0, DST)] == ["normal", "normal"]
    assert call.m.status_detail == "answered"


@pytest.mark.parametrize("reason,cause,kind", [("busy", 17, "busy"), ("no_answer", 16, "no_answer"),
                                               ("congestion", 0, "congestion")])
def test_given_we_hung_the_destination_up_for_a_reason_then_its_outcome_and_the_call_say_it(reason, cause, kind):
    call = calling_dst()
    status = {"busy": "BUSY", "congestion": "CONGESTION"}.get(reason)
    if status:
        call(ev.LegDialStatus(DST, status))
    else:
        call.fire("dst_ring")
    assert call.leg(DST).hangup_reason == reason
    call.destroy(DST, cause)
    call.destroy(SRC0)
    assert (call.leg(DST).outcome, call.m.status_detail) == (kind, f"dst_{kind}")


def test_given_a_dial_status_after_the_leg_is_destroyed_then_its_outcome_does_not_change():
    call = calling_dst()
    call.destroy(DST, 21)
    call(ev.LegDialStatus(DST, "BUSY"))
    call.destroy(SRC0)
    assert (call.leg(DST).outcome, call.leg(DST).dialstatus, call.m.status_detail) == ("rejected", "", "dst_rejected")
    assert "dial_status" in call.kinds(DST)   # still on the timeline: Asterisk said it


def test_given_a_transfer_target_fails_before_anyone_talked_then_the_blamed_leg_names_the_kind():
    call = calling_dst(transfer_after_dst_hangup="3003")
    call(ev.LegDialStatus(DST, "BUSY"))
    call.destroy(DST, 17)
    call(ev.LegReady(XFER1))
    call.destroy(XFER1, 1)
    call.destroy(SRC0)
    assert call.m.status_detail == "dst_busy"
    assert (call.leg(DST).outcome, call.leg(XFER1).outcome) == ("busy", "invalid_number")


def test_given_a_leg_asterisk_refused_then_its_outcome_is_set_when_it_fails():
    call = Call(src=["1001"])
    call(ev.Start())
    call(ev.LegFailed(SRC0, "allocation failed"))
    assert call.leg(SRC0).outcome == "unknown" and call.m.status_detail == "src_unknown"
