"""The plans of customer callbacks in both dial modes, and the checks of a customer's answers."""

from __future__ import annotations

import re
from datetime import UTC

import pytest

from ari_callback.domain import customer as c
from ari_callback.domain.plan import CallerId, ClientPolicy, DialingPolicy, PlanError, Route, Trunk
from ari_callback.domain.snapshot import plan_from_dict, plan_to_dict

DIALING = DialingPolicy(trunks={"out": Trunk("out", "PJSIP/{number}@trunk", "ulaw", external=True)},
                        routes=(Route(re.compile(r"\d+"), "out"),))
CLIENT = ClientPolicy("acme", caller_id=CallerId("Acme", "5550100"))
QUESTIONS = (c.Question("q1", "Account?", type="number", required=True, variable="ACCOUNT"),
             c.Question("q2", "Existing order?", type="yes_no"),
             c.Question("q3", "Topic?", type="choice", choices=("billing", "tech")))


def _profile(mode: str) -> c.Profile:
    option = c.CallOption("o1", "p1", "Support", queue="support", mode=mode, announcement=("sound:hold",),
                          whisper=("sound:beep",), ring_seconds=25, max_hold_seconds=900)
    return c.Profile("p1", "acme", "Acme support", options=(option,), questions=QUESTIONS)


def _plan(mode: str):
    profile = _profile(mode)
    request = c.CustomerRequest("5551234", profile.options[0], answers={"q1": "42", "q2": "yes"})
    return c.customer_plan("call-1", request, profile, CLIENT, DIALING)


def test_given_customer_first_then_the_customer_is_rung_and_the_queue_is_the_destination():
    plan = _plan(c.CUSTOMER_FIRST)
    (customer,) = plan.srcs
    assert (customer.number, customer.endpoint, customer.caller_id) == ("5551234", "PJSIP/5551234@trunk",
                                                                        CallerId("Acme", "5550100"))
    assert (plan.dst_endpoint, plan.announce_media) == ("Local/support@cb-queue", ("sound:hold",))
    assert (plan.wait_for_pickup, plan.dst_wait()) == (25, 900)   # the queue may hold far longer
    assert plan.variables["CB_ANSWER_ACCOUNT"] == "42" and plan.variables["CB_ANSWER_Q2"] == "yes"
    assert (plan.variables["CB_QUEUE_POSITION"], plan.variables["CB_QUEUE_TIMEOUT"]) == ("1", "900")


def test_given_agent_first_then_the_queue_is_rung_the_agent_hears_the_number_then_the_customer():
    plan = _plan(c.AGENT_FIRST)
    (agent,) = plan.srcs
    assert (agent.endpoint, agent.caller_id.number) == ("Local/support@cb-agent-first", "5551234")
    assert plan.announce_media == ("sound:beep", "digits:5551234")
    assert (plan.dst_endpoint, plan.wait_for_pickup, plan.dst_wait()) == ("Local/5551234@dst-route", 900, 25)


@pytest.mark.parametrize("mode", [c.CUSTOMER_FIRST, c.AGENT_FIRST])
def test_a_customer_plan_survives_the_store(mode):
    plan = _plan(mode)
    assert plan_from_dict(plan_to_dict(plan)) == plan


@pytest.mark.parametrize("given, error_id", [
    ({}, "answer_required"), ({"q1": "4x"}, "invalid_answer"), ({"q1": "1", "q2": "maybe"}, "invalid_answer"),
    ({"q1": "1", "q3": "sales"}, "invalid_answer"), ({"q1": "1", "zz": "1"}, "unknown_question"),
])
def test_given_bad_answers_then_refused_with_the_question_named(given, error_id):
    with pytest.raises(PlanError) as refused:
        c.check_answers(_profile(c.CUSTOMER_FIRST), given)
    assert refused.value.error_id == error_id


def test_given_good_answers_then_kept_normalised_and_empty_ones_dropped():
    answers = c.check_answers(_profile(c.CUSTOMER_FIRST), {"q1": " 42 ", "q2": "YES", "q3": ""})
    assert answers == {"q1": "42", "q2": "yes"}


def test_a_paused_or_closed_option_says_why():
    option = _profile(c.CUSTOMER_FIRST).options[0]
    assert option.refusal(0) is None
    from dataclasses import replace
    assert replace(option, status=c.PAUSED).refusal(0).error_id == "option_paused"
    assert replace(option, status=c.CLOSED).refusal(0).error_id == "option_closed"


def test_given_calling_hours_in_the_customers_zone_then_a_retry_waits_for_both_to_be_open():
    from datetime import datetime, timezone

    from ari_callback.domain.hours import OpeningHours
    from ari_callback.domain.retry import RetryPolicy
    utc = lambda *p: datetime(*p, tzinfo=UTC).timestamp()   # noqa: E731
    option_hours = OpeningHours.parse("America/Toronto", {"daily": "08:00-22:00"})
    # The customer is in Vancouver: 09:00-20:00 there is 17:00-04:00 UTC (winter, UTC-8).
    calling = OpeningHours.parse("America/Vancouver", {"daily": "09:00-20:00"})
    terms = c.RetryTerms(RetryPolicy(backoff_seconds=(60,)), option_hours, "src", 1, utc(2026, 12, 7, 13), calling)
    ended = utc(2026, 12, 7, 13, 30)   # 08:30 in Toronto (open), 05:30 in Vancouver (too early)
    assert terms.next_at("src_busy", ended) == utc(2026, 12, 7, 17)   # 09:00 Vancouver, 12:00 Toronto
    late = utc(2026, 12, 8, 3, 30)     # 22:30 Toronto (closed), 19:30 Vancouver
    assert terms.next_at("src_busy", late) is None   # next both-open moment is past the deadline
    no_deadline = c.RetryTerms(RetryPolicy(backoff_seconds=(60,), deadline_seconds=3 * 86400), option_hours,
                               "src", 1, utc(2026, 12, 7, 13), calling)
    assert no_deadline.next_at("src_busy", late) == utc(2026, 12, 8, 17)
