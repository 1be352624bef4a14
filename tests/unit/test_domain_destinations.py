"""A client's destination policy and calls-per-second pace (issue 13, limits and safety)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ari_callback.domain.admission import pace
from ari_callback.domain.customer import CustomerRequest, customer_plan
from ari_callback.domain.destinations import DestinationPolicy
from ari_callback.domain.plan import PlanError, make_plan
from ari_callback.domain.request import CallbackRequest
from tests.unit.test_domain_customer import _profile
from tests.unit.test_domain_machine import CLIENT, DIALING

PREMIUM_AND_ABROAD = DestinationPolicy.of(deny=[r"0900\d*", r"00\d*"])


@pytest.mark.parametrize(("policy", "number", "refused"), [
    (DestinationPolicy(), "0900123", False),                       # the default refuses nothing
    (PREMIUM_AND_ABROAD, "0900123", True),
    (PREMIUM_AND_ABROAD, "0044207", True),
    (PREMIUM_AND_ABROAD, "09001", True),
    (PREMIUM_AND_ABROAD, "1001", False),
    (PREMIUM_AND_ABROAD, "10900", False),                         # a pattern matches the whole number
    (DestinationPolicy.of(allow=[r"[1-7]\d{3}"]), "1001", False),
    (DestinationPolicy.of(allow=[r"[1-7]\d{3}"]), "01001", True),  # not in the allowed patterns
    (DestinationPolicy.of(allow=[r"\d+"], deny=[r"112"]), "112", True),   # deny wins over allow
])
def test_a_number_is_refused_by_deny_or_by_missing_every_allow(policy, number, refused) -> None:
    assert (policy.refusal(number) is not None) == refused


def _client(policy: DestinationPolicy):
    return replace(CLIENT, destinations=policy)


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"src": ["1001", "0900123"], "dst": "2002"}, "src.1"),
    ({"src": ["1001"], "dst": "0044207"}, "dst"),
    ({"src": ["1001"], "dst": "2002", "transfer_after_dst_hangup": "0900555"}, "transfer_after_dst_hangup"),
])
def test_given_a_denied_number_anywhere_in_a_request_then_403_naming_its_field(request_fields, field) -> None:
    with pytest.raises(PlanError) as refused:
        make_plan("t", CallbackRequest(**request_fields), _client(PREMIUM_AND_ABROAD), DIALING)
    assert (refused.value.error_id, refused.value.status, refused.value.field) == (
        "destination_not_allowed", 403, field)


def test_given_allowed_numbers_then_the_plan_is_made() -> None:
    plan = make_plan("t", CallbackRequest(src=["1001"], dst="2002"), _client(PREMIUM_AND_ABROAD), DIALING)
    assert plan.dst_number == "2002"


def test_given_a_denied_customer_number_then_the_customer_callback_is_refused() -> None:
    profile = _profile("customer_first")
    request = CustomerRequest("0900123", profile.options[0], answers={"q1": "42"})
    with pytest.raises(PlanError) as refused:
        customer_plan("t", request, profile, _client(PREMIUM_AND_ABROAD), DIALING)
    assert (refused.value.error_id, refused.value.field) == ("destination_not_allowed", "number")


@pytest.mark.parametrize(("per_second", "expected"), [
    (None, None), (1, (1, 1.0)), (5, (5, 1.0)), (2.5, (2, 1.0)), (0.5, (1, 2.0)), (0.1, (1, 10.0)),
])
def test_calls_per_second_become_a_count_in_a_window_never_above_the_rate(per_second, expected) -> None:
    assert pace(per_second) == expected
