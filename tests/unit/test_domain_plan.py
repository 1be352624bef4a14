"""From a validated request and the site's policy to a CallPlan: caller IDs, ANIs, sounds, limits, routes."""

from __future__ import annotations

import re
from types import MappingProxyType

import pytest

from ari_callback.domain.plan import (
    CallerId,
    ClientPolicy,
    DialingPolicy,
    Extension,
    PlanError,
    Route,
    Trunk,
    is_external,
    make_plan,
    route_number,
)
from ari_callback.domain.request import CallbackRequest

PHONES = Trunk("phones", "Local/{number}@test-phones")
OUT = Trunk("out", "Local/{n}@test-phones", external=True)
DIALING = DialingPolicy(trunks={"phones": PHONES, "out": OUT},
                        routes=(Route(re.compile(r"0(?P<n>[1-7]\d{3})"), "out"),
                                Route(re.compile(r"[1-7]\d{3}"), "phones")))
DIDS = frozenset({"5550001", "5550002"})
ALICE = Extension("e1", "1001", "Alice")
CLIENT = ClientPolicy("acme", external_numbers=DIDS,
                      sounds={1: ("sound:hello",), 2: ("sound:welcome", "sound:beep")},
                      extensions={"e1": ALICE}, caller_id=CallerId("Company", "5550100"))


def plan(extension: Extension | None = ALICE, dialing: DialingPolicy = DIALING, client: ClientPolicy = CLIENT,
         **fields):
    fields.setdefault("src", ["1001"])
    fields.setdefault("dst", "2002")
    return make_plan("call1", CallbackRequest(**fields), client, dialing, extension)


def plan_error(**fields) -> PlanError:
    with pytest.raises(PlanError) as info:
        plan(**fields)
    return info.value


# ---------------------------------------------------------------------------- caller ID chain
def test_given_src_caller_id_then_origins_get_it():
    p = plan(src_caller_id_name="Src", src_caller_id_number="5550111",
             caller_id_name="Both", caller_id_number="5550222")
    assert p.srcs[0].caller_id == CallerId("Src", "5550111")


def test_given_no_src_caller_id_then_origins_get_caller_id():
    p = plan(caller_id_name="Both", caller_id_number="5550222")
    assert p.srcs[0].caller_id == CallerId("Both", "5550222")


def test_given_no_caller_id_at_all_then_origins_get_the_extensions_name_and_number():
    assert plan().srcs[0].caller_id == CallerId("Alice", "1001")


def test_given_no_caller_id_and_no_extension_then_origins_get_the_clients_caller_id():
    assert plan(extension=None).srcs[0].caller_id == CallerId("Company", "5550100")


def test_given_only_src_caller_id_name_then_number_falls_back_to_caller_id_number():
    p = plan(src_caller_id_name="Src", caller_id_number="5550222")
    assert p.srcs[0].caller_id == CallerId("Src", "5550222")


def test_given_only_src_caller_id_number_then_name_falls_back_to_the_extension():
    p = plan(src_caller_id_number="5550111")
    assert p.srcs[0].caller_id == CallerId("Alice", "5550111")


def test_given_empty_caller_id_name_then_it_counts_as_not_given():
    p = plan(src_caller_id_name="", caller_id_name="")
    assert p.srcs[0].caller_id.name == "Alice"


def test_given_src_caller_id_then_destination_does_not_get_it():
    p = plan(src_caller_id_name="Src", src_caller_id_number="5550111")
    assert p.dst_caller_id == CallerId("Alice", "1001")


def test_given_caller_id_then_destination_gets_it():
    p = plan(src_caller_id_name="Src", src_caller_id_number="5550111",
             caller_id_name="Both", caller_id_number="5550222")
    assert p.dst_caller_id == CallerId("Both", "5550222")


def test_given_no_caller_id_and_no_extension_then_destination_gets_the_clients_caller_id():
    assert plan(extension=None).dst_caller_id == CallerId("Company", "5550100")


def test_given_every_origin_then_each_gets_the_same_caller_id():
    p = plan(src=["1001", "2001", "3001"], src_caller_id_name="Src")
    assert {s.caller_id for s in p.srcs} == {CallerId("Src", "1001")}


@pytest.mark.parametrize("cid, header", [
    (CallerId("Alice", "1001"), '"Alice" <1001>'),
    (CallerId("", "1001"), "1001"),
    (CallerId("Alice", ""), '"Alice" <>'),
    (CallerId("", ""), ""),
])
def test_given_caller_id_when_header_then_asterisk_callerid_form(cid, header):
    assert cid.header() == header


# ---------------------------------------------------------------------------------------- ANI
def test_given_src_ani_in_dids_when_origin_external_then_it_is_the_origins_number():
    p = plan(src=["01234"], src_ani="5550001", caller_id_number="5550222", src_caller_id_name="Src")
    assert p.srcs[0].caller_id == CallerId("Src", "5550001")


def test_given_src_ani_in_dids_when_origin_internal_then_not_transmitted():
    p = plan(src=["1234"], src_ani="5550001", caller_id_number="5550222")
    assert p.srcs[0].caller_id.number == "5550222"


def test_given_src_ani_in_dids_when_origins_mixed_then_only_external_ones_get_it():
    p = plan(src=["1234", "01234", "2345"], src_ani="5550002", src_caller_id_number="5550111")
    assert [s.caller_id.number for s in p.srcs] == ["5550111", "5550002", "5550111"]
    assert [s.external for s in p.srcs] == [False, True, False]


def test_given_src_ani_not_in_dids_then_silently_ignored():
    p = plan(src=["01234"], src_ani="5559999", src_caller_id_number="5550111")
    assert p.srcs[0].caller_id.number == "5550111"


def test_given_src_ani_not_in_dids_and_nothing_else_then_the_extension_number():
    assert plan(src=["01234"], src_ani="5559999").srcs[0].caller_id.number == "1001"


def test_given_src_ani_then_destination_does_not_get_it():
    assert plan(dst="01234", src_ani="5550001").dst_caller_id.number == "1001"


def test_given_dst_ani_in_dids_when_destination_external_then_it_is_the_destinations_number():
    p = plan(dst="02002", dst_ani="5550002", caller_id_number="5550222", caller_id_name="Both")
    assert p.dst_caller_id == CallerId("Both", "5550002")


def test_given_dst_ani_in_dids_when_destination_internal_then_not_transmitted():
    p = plan(dst="2002", dst_ani="5550002", caller_id_number="5550222")
    assert p.dst_caller_id.number == "5550222"


def test_given_dst_ani_in_dids_when_destination_unknown_to_routes_then_internal_and_not_transmitted():
    assert plan(dst="8002", dst_ani="5550002").dst_caller_id.number == "1001"


def test_given_dst_ani_not_in_dids_then_silently_ignored():
    p = plan(dst="02002", dst_ani="5559999", caller_id_number="5550222")
    assert p.dst_caller_id.number == "5550222"


def test_given_dst_ani_then_origins_do_not_get_it():
    assert plan(src=["01234"], dst="02002", dst_ani="5550002").srcs[0].caller_id.number == "1001"


def test_given_client_without_dids_then_every_ani_is_ignored():
    client = ClientPolicy("lone", extensions={"e1": ALICE})
    p = plan(client=client, src=["01234"], dst="02002", src_ani="5550001", dst_ani="5550002")
    assert (p.srcs[0].caller_id.number, p.dst_caller_id.number) == ("1001", "1001")


# -------------------------------------------------------------------------------------- sounds
def test_given_known_sounds_then_media_uris_from_the_library():
    p = plan(announce_sound_id=1, dst_announce_sound_id=2)
    assert p.announce_media == ("sound:hello",)
    assert p.dst_announce_media == ("sound:welcome", "sound:beep")


def test_given_no_sounds_then_no_media():
    p = plan()
    assert p.announce_media == () and p.dst_announce_media == ()


@pytest.mark.parametrize("field", ["announce_sound_id", "dst_announce_sound_id"])
def test_given_unknown_sound_then_plan_error_unknown_sound_on_that_field(field):
    error = plan_error(**{field: 99})
    assert (error.error_id, error.field, error.status) == ("unknown_sound", field, 422)
    assert "99" in error.message


def test_given_sound_id_of_another_client_then_unknown_sound():
    other = ClientPolicy("other", sounds={}, extensions={"e1": ALICE})
    with pytest.raises(PlanError) as info:
        plan(client=other, announce_sound_id=1)
    assert info.value.error_id == "unknown_sound"


# ---------------------------------------------------------------------------------- limits
def test_given_no_limits_then_policy_defaults():
    p = plan()
    assert (p.wait_for_pickup, p.call_duration) == (30, 3600)
    assert p.playback_timeout == 60.0


def test_given_custom_policy_defaults_then_used():
    dialing = DialingPolicy(trunks=DIALING.trunks, routes=DIALING.routes, default_wait_for_pickup=12,
                            default_call_duration=90, playback_timeout=5.0)
    p = plan(dialing=dialing)
    assert (p.wait_for_pickup, p.call_duration, p.playback_timeout) == (12, 90, 5.0)


def test_given_limits_at_the_maximum_then_accepted():
    p = plan(wait_for_pickup=300, call_duration=86400)
    assert (p.wait_for_pickup, p.call_duration) == (300, 86400)


@pytest.mark.parametrize("field, value", [("wait_for_pickup", 301), ("call_duration", 86401)])
def test_given_limit_over_the_maximum_then_plan_error_invalid_field(field, value):
    error = plan_error(**{field: value})
    assert (error.error_id, error.field) == (f"invalid_{field}", field)


def test_given_lower_policy_maximum_then_it_applies():
    dialing = DialingPolicy(trunks=DIALING.trunks, routes=DIALING.routes, max_wait_for_pickup=10,
                            default_wait_for_pickup=10, max_call_duration=60, default_call_duration=60)
    with pytest.raises(PlanError) as info:
        plan(dialing=dialing, wait_for_pickup=11)
    assert info.value.error_id == "invalid_wait_for_pickup"
    with pytest.raises(PlanError) as info:
        plan(dialing=dialing, call_duration=61)
    assert info.value.error_id == "invalid_call_duration"


def test_given_as_many_origins_as_allowed_then_accepted():
    assert len(plan(src=[str(1001 + i) for i in range(10)]).srcs) == 10


def test_given_too_many_origins_then_plan_error_too_many_numbers():
    error = plan_error(src=[str(1001 + i) for i in range(11)])
    assert (error.error_id, error.field) == ("too_many_numbers", "src")


def test_given_policy_allowing_two_origins_when_three_then_too_many_numbers():
    dialing = DialingPolicy(trunks=DIALING.trunks, routes=DIALING.routes, max_src_numbers=2)
    with pytest.raises(PlanError) as info:
        plan(dialing=dialing, src=["1001", "1002", "1003"])
    assert info.value.error_id == "too_many_numbers"


# ---------------------------------------------------------------------------------- routing
def test_given_internal_origin_then_dialled_on_the_phones_trunk():
    s = plan(src=["1234"]).srcs[0]
    assert (s.number, s.endpoint, s.formats, s.external) == ("1234", "Local/1234@test-phones", "ulaw", False)


def test_given_external_origin_then_named_group_fills_the_dial_template():
    s = plan(src=["01234"]).srcs[0]
    assert (s.number, s.endpoint, s.external) == ("01234", "Local/1234@test-phones", True)


def test_given_overlapping_routes_then_the_first_match_wins():
    dialing = DialingPolicy(trunks={"a": Trunk("a", "PJSIP/{number}@a", formats=None), "b": Trunk("b", "B/{number}")},
                            routes=(Route(re.compile(r"1\d{3}"), "a"), Route(re.compile(r"\d{4}"), "b")))
    assert route_number(dialing, "1234") == (dialing.trunks["a"], "PJSIP/1234@a")
    assert route_number(dialing, "2234") == (dialing.trunks["b"], "B/2234")
    assert plan(dialing=dialing, src=["1234"]).srcs[0].formats is None


def test_given_route_pattern_then_the_whole_number_must_match():
    with pytest.raises(PlanError):
        route_number(DIALING, "12345")
    with pytest.raises(PlanError):
        route_number(DIALING, "01234567")


def test_given_template_with_several_named_groups_then_all_are_filled():
    dialing = DialingPolicy(trunks={"t": Trunk("t", "PJSIP/{cc}{rest}@{cc}-trunk")},
                            routes=(Route(re.compile(r"\+(?P<cc>\d{2})(?P<rest>\d+)"), "t"),))
    assert route_number(dialing, "+4930123")[1] == "PJSIP/4930123@49-trunk"


def test_given_optional_group_not_matched_then_template_uses_number_and_other_groups():
    dialing = DialingPolicy(trunks={"t": Trunk("t", "X/{n}/{number}")},
                            routes=(Route(re.compile(r"(?P<plus>\+)?(?P<n>\d+)"), "t"),))
    assert route_number(dialing, "123")[1] == "X/123/123"


@pytest.mark.parametrize("number", ["8001", "0801", "12345", "*97", "+491234"])
def test_given_origin_no_route_dials_then_plan_error_unroutable_number(number):
    error = plan_error(src=["1001", number])
    assert (error.error_id, error.field) == ("unroutable_number", "src")
    assert number in error.message


def test_given_destination_no_route_knows_then_it_is_internal_and_goes_to_the_dialplan():
    p = plan(dst="8001")
    assert (p.dst_number, p.dst_endpoint, p.dst_external) == ("8001", "Local/8001@dst-route", False)


def test_given_external_destination_then_dialplan_gets_the_number_as_given():
    p = plan(dst="02002")
    assert (p.dst_endpoint, p.dst_external, p.dst_formats) == ("Local/02002@dst-route", True, "ulaw")


def test_given_number_then_is_external_follows_the_trunk():
    assert is_external(DIALING, "01234") is True
    assert is_external(DIALING, "1234") is False
    assert is_external(DIALING, "9999") is False


def test_given_custom_contexts_then_destination_and_transfers_use_them():
    dialing = DialingPolicy(trunks=DIALING.trunks, routes=DIALING.routes, dst_context="my-dst",
                            transfer_context="my-xfer", dst_formats="alaw", transfer_code="*9")
    p = plan(dialing=dialing)
    assert p.dst_endpoint == "Local/2002@my-dst" and p.dst_formats == "alaw"
    assert p.transfer_endpoint("3003") == "Local/3003@my-xfer"
    assert p.transfer_code == "*9"


# ------------------------------------------------------------------------------- the rest
def test_given_every_option_then_plan_carries_it():
    p = plan(src=["1001", "01234"], dst="2002", dst_dtmf="12w#", variables={"a": "1"},
             allow_public_transfer=False, transfer_after_dst_hangup="3003", transfer_after_src_hangup="3004",
             simultaneous=True)
    assert p.call_id == "call1" and p.client_id == "acme"
    assert [s.number for s in p.srcs] == ["1001", "01234"]
    assert p.dst_dtmf == "12w#"
    assert dict(p.variables) == {"a": "1"}
    assert p.allow_public_transfer is False
    assert (p.transfer_after_dst_hangup, p.transfer_after_src_hangup) == ("3003", "3004")
    assert p.transfer_endpoint("3003") == "Local/3003@transfer-targets"
    assert p.transfer_code == "##"
    assert p.simultaneous is True


def test_given_no_optional_strings_then_plan_has_empty_strings():
    p = plan()
    assert (p.dst_dtmf, p.transfer_after_dst_hangup, p.transfer_after_src_hangup) == ("", "", "")
    assert p.allow_public_transfer is True and dict(p.variables) == {}


def test_given_plan_then_its_variables_cannot_be_changed():
    p = plan(variables={"a": "1"})
    assert isinstance(p.variables, MappingProxyType)
    with pytest.raises(TypeError):
        p.variables["a"] = "2"  # type: ignore[index]
