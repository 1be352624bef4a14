"""A stored call plan gives back exactly the plan that was accepted, or is refused by key."""

from __future__ import annotations

import dataclasses
import json
import re
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ari_callback.domain.plan import CallerId, CallPlan, ClientPolicy, DialingPolicy, Route, SrcTarget, Trunk, make_plan
from ari_callback.domain.request import CallbackRequest
from ari_callback.domain.snapshot import plan_from_dict, plan_to_dict

TEXT = st.text(max_size=12)
CALLER_IDS = st.builds(CallerId, name=TEXT, number=TEXT)
SRCS = st.builds(SrcTarget, number=TEXT, endpoint=TEXT, formats=st.none() | TEXT, external=st.booleans(),
                 caller_id=CALLER_IDS)
MEDIA = st.lists(TEXT, max_size=3).map(tuple)
PLANS = st.builds(
    CallPlan, call_id=TEXT, client_id=TEXT, srcs=st.lists(SRCS, max_size=4).map(tuple), dst_number=TEXT,
    dst_endpoint=TEXT, dst_formats=TEXT, dst_external=st.booleans(), dst_caller_id=CALLER_IDS,
    wait_for_pickup=st.integers(-(2 ** 53), 2 ** 53), call_duration=st.integers(0, 86400),
    announce_media=MEDIA, dst_announce_media=MEDIA, dst_dtmf=TEXT,
    variables=st.dictionaries(TEXT, TEXT, max_size=4).map(MappingProxyType),
    allow_public_transfer=st.booleans(), transfer_after_dst_hangup=TEXT, transfer_after_src_hangup=TEXT,
    transfer_context=TEXT, transfer_code=TEXT,
    playback_timeout=st.floats(allow_nan=False, allow_infinity=False), simultaneous=st.booleans())

DIALING = DialingPolicy(trunks={"phones": Trunk("phones", "Local/{number}@test-phones"),
                                "out": Trunk("out", "Local/{n}@test-phones", formats=None, external=True)},
                        routes=(Route(re.compile(r"0(?P<n>[1-7]\d{3})"), "out"),
                                Route(re.compile(r"[1-7]\d{3}"), "phones")))
CLIENT = ClientPolicy("acme", sounds={1: ("sound:hello",), 2: ("sound:welcome", "sound:beep")},
                      caller_id=CallerId("Callback", "5550100"), external_numbers=frozenset({"5550199"}))


def stored(plan: CallPlan) -> CallPlan:
    """Through the store: to data, to JSON text, back."""
    return plan_from_dict(json.loads(json.dumps(plan_to_dict(plan))))


def json_safe(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_safe(v) for k, v in value.items())
    if isinstance(value, list):
        return all(json_safe(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def a_plan(**options) -> CallPlan:
    options.setdefault("src", ["1001", "02001"])
    options.setdefault("dst", "2002")
    return make_plan("t", CallbackRequest(**options), CLIENT, DIALING)


@settings(max_examples=300)
@given(plan=PLANS)
def test_given_any_plan_when_stored_as_json_and_read_back_then_it_is_the_same_plan(plan):
    data = plan_to_dict(plan)
    assert json_safe(data)
    back = stored(plan)
    assert back == plan
    assert isinstance(back.variables, MappingProxyType) and dict(back.variables) == dict(plan.variables)
    assert isinstance(back.srcs, tuple) and all(isinstance(s.caller_id, CallerId) for s in back.srcs)
    assert isinstance(back.announce_media, tuple) and isinstance(back.dst_announce_media, tuple)


def test_given_a_resolved_plan_with_every_option_when_stored_then_each_field_comes_back():
    plan = a_plan(announce_sound_id=1, dst_announce_sound_id=2, dst_dtmf="12w#", variables={"A": "1", "B": ""},
                  transfer_after_dst_hangup="3003", transfer_after_src_hangup="3004", simultaneous=True,
                  allow_public_transfer=False, src_ani="5550199", caller_id_name="Ann")
    back = stored(plan)
    for field in dataclasses.fields(CallPlan):
        assert getattr(back, field.name) == getattr(plan, field.name), field.name
    assert back.simultaneous is True and back.srcs[1].formats is None and back.srcs[1].external is True
    assert back.dst_announce_media == ("sound:welcome", "sound:beep")


def test_given_a_plan_then_its_data_names_every_plan_field_and_a_version():
    data = plan_to_dict(a_plan())
    assert data["version"] == 1
    assert set(data) == {"version"} | {f.name for f in dataclasses.fields(CallPlan)}


@pytest.mark.parametrize("key", ["version", "call_id", "srcs", "variables", "simultaneous"])
def test_given_stored_plan_missing_a_key_then_refused_naming_it(key):
    data = plan_to_dict(a_plan())
    del data[key]
    with pytest.raises(ValueError, match=key):
        plan_from_dict(data)


def test_given_stored_plan_with_an_unknown_key_then_refused_naming_it():
    data = plan_to_dict(a_plan())
    data["ring_strategy"] = "all"
    with pytest.raises(ValueError, match="ring_strategy"):
        plan_from_dict(data)


def test_given_nested_caller_id_with_unknown_key_then_refused_naming_where():
    data = plan_to_dict(a_plan())
    data["srcs"][1]["caller_id"]["tag"] = "x"
    with pytest.raises(ValueError, match=r"srcs\[1\]\.caller_id.*'tag'"):
        plan_from_dict(data)


def test_given_nested_origin_missing_a_key_then_refused_naming_it():
    data = plan_to_dict(a_plan())
    del data["srcs"][0]["external"]
    with pytest.raises(ValueError, match="external"):
        plan_from_dict(data)


def test_given_another_version_then_refused():
    data = plan_to_dict(a_plan())
    data["version"] = 2
    with pytest.raises(ValueError, match="version"):
        plan_from_dict(data)


@pytest.mark.parametrize("key,value", [("wait_for_pickup", True), ("wait_for_pickup", "30"), ("simultaneous", 1),
                                       ("announce_media", "sound:hello"), ("dst_caller_id", ["a", "b"]),
                                       ("variables", [["A", "1"]]), ("call_id", None)])
def test_given_a_value_of_the_wrong_type_then_refused_naming_the_key(key, value):
    data = plan_to_dict(a_plan())
    data[key] = value
    with pytest.raises(ValueError, match=key):
        plan_from_dict(data)


def test_given_a_playback_timeout_without_json_form_then_refused():
    plan = dataclasses.replace(a_plan(), playback_timeout=float("inf"))
    with pytest.raises(ValueError, match="playback_timeout"):
        plan_to_dict(plan)
