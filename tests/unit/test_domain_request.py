"""The callback request models (seed 002 field names): strict types, limits, numbers, DTMF, variables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ari_callback.domain.request import MAX_VARIABLE_VALUE, MAX_VARIABLES, CallbackOptions, CallbackRequest

BASE = {"src": ["1001"], "dst": "1002"}

NUMBER_FIELDS = ["caller_id_number", "src_caller_id_number", "src_ani", "dst_ani",
                 "transfer_after_dst_hangup", "transfer_after_src_hangup"]
NAME_FIELDS = ["caller_id_name", "src_caller_id_name"]
SECONDS_FIELDS = ["call_duration", "wait_for_pickup"]
SOUND_FIELDS = ["announce_sound_id", "dst_announce_sound_id"]

GOOD_NUMBERS = ["1001", "0", "+79161234567", "*97", "#1", "1" * 32, "+" + "9" * 32]
BAD_NUMBERS = ["", "abc", "10a1", "1" * 33, "1001&PJSIP/x", "1001@ctx", "1001 ", " 1001", "1001\n",
               "10 01", "++1", "1-001", "1001,1", "+", "1001;2", "Local/1001", "١٠٠١"]


def request(**fields) -> CallbackRequest:
    return CallbackRequest(**{**BASE, **fields})


def refused(field: str, **fields) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        request(**fields)
    locations = [error["loc"][0] for error in info.value.errors()]
    assert field in locations, info.value
    return info.value


# ------------------------------------------------------------------------------------ the minimum
def test_given_only_src_and_dst_then_defaults_are_the_seeds():
    r = request()
    assert r.src == ["1001"] and r.dst == "1002"
    assert r.allow_public_transfer is True
    assert r.simultaneous is False
    assert r.variables == {}
    for name in [*NUMBER_FIELDS, *NAME_FIELDS, *SECONDS_FIELDS, *SOUND_FIELDS, "dst_dtmf", "callback_rate_limit",
                 "client_id", "extension_id"]:
        assert getattr(r, name) is None, name


def test_given_every_field_valid_then_request_is_accepted_as_given():
    fields = dict(allow_public_transfer=False, announce_sound_id=0, dst_announce_sound_id=7, call_duration=60,
                  wait_for_pickup=1, caller_id_name="Ivan", caller_id_number="5550100",
                  src_caller_id_name="Src", src_caller_id_number="5550101", src_ani="5550102",
                  dst_ani="5550103", dst_dtmf="12w#W*", transfer_after_dst_hangup="3003",
                  transfer_after_src_hangup="3004", callback_rate_limit=100,
                  variables={"autoanswer": "4", "testvar": "'testval"}, client_id="acme", extension_id="34535",
                  simultaneous=True)
    r = request(**fields)
    for name, value in fields.items():
        assert getattr(r, name) == value, name


def test_given_missing_src_then_refused():
    with pytest.raises(ValidationError) as info:
        CallbackRequest(dst="1002")
    assert info.value.errors()[0]["loc"] == ("src",)


def test_given_missing_dst_then_refused():
    with pytest.raises(ValidationError) as info:
        CallbackRequest(src=["1001"])
    assert info.value.errors()[0]["loc"] == ("dst",)


# ------------------------------------------------------------------------------------ src and dst
def test_given_empty_src_list_then_refused():
    refused("src", src=[])


def test_given_duplicate_src_then_refused():
    refused("src", src=["1001", "1002", "1001"])


def test_given_several_distinct_src_then_kept_in_order():
    assert request(src=["3001", "1001", "02001"]).src == ["3001", "1001", "02001"]


@pytest.mark.parametrize("src", ["1001", 1001, [1001], None, ("1001", None)])
def test_given_src_not_a_list_of_strings_then_refused(src):
    refused("src", src=src)


@pytest.mark.parametrize("number", GOOD_NUMBERS)
def test_given_good_number_when_src_or_dst_then_accepted(number):
    assert request(src=[number], dst=number).dst == number


@pytest.mark.parametrize("number", BAD_NUMBERS)
def test_given_bad_number_when_dst_then_refused(number):
    refused("dst", dst=number)


@pytest.mark.parametrize("number", BAD_NUMBERS)
def test_given_bad_number_among_src_then_refused(number):
    refused("src", src=["1001", number])


@pytest.mark.parametrize("value", [1002, 1002.0, True, None, ["1002"]])
def test_given_dst_not_a_string_then_refused(value):
    refused("dst", dst=value)


# -------------------------------------------------------------------------------- other numbers
@pytest.mark.parametrize("field", NUMBER_FIELDS)
@pytest.mark.parametrize("number", GOOD_NUMBERS)
def test_given_good_number_when_number_field_then_accepted(field, number):
    assert getattr(request(**{field: number}), field) == number


@pytest.mark.parametrize("field", NUMBER_FIELDS)
@pytest.mark.parametrize("number", BAD_NUMBERS)
def test_given_bad_number_when_number_field_then_refused(field, number):
    refused(field, **{field: number})


@pytest.mark.parametrize("field", NUMBER_FIELDS)
@pytest.mark.parametrize("value", [5550100, 5550100.0, True, ["5550100"]])
def test_given_number_field_not_a_string_then_refused(field, value):
    refused(field, **{field: value})


# -------------------------------------------------------------------------------- caller names
@pytest.mark.parametrize("field", NAME_FIELDS)
@pytest.mark.parametrize("name", ["Ivan", "", "O'Brien & Co. (Sales)", "Иван Петров", "x" * 64])
def test_given_good_caller_name_then_accepted(field, name):
    assert getattr(request(**{field: name}), field) == name


@pytest.mark.parametrize("field", NAME_FIELDS)
@pytest.mark.parametrize("name", ['Ivan "the" Great', "Ivan <1001>", "a>b", "a\nb", "a\rb", "a\tb", "a\x00",
                                  "a\x7f", "x" * 65])
def test_given_caller_name_that_would_break_the_header_then_refused(field, name):
    refused(field, **{field: name})


@pytest.mark.parametrize("field", NAME_FIELDS)
@pytest.mark.parametrize("value", [5, True, ["Ivan"]])
def test_given_caller_name_not_a_string_then_refused(field, value):
    refused(field, **{field: value})


# --------------------------------------------------------------------------------- integers
@pytest.mark.parametrize("field", SECONDS_FIELDS)
@pytest.mark.parametrize("value", [1, 2, 30, 86400])
def test_given_positive_seconds_then_accepted(field, value):
    assert getattr(request(**{field: value}), field) == value


@pytest.mark.parametrize("field", SECONDS_FIELDS)
@pytest.mark.parametrize("value", [0, -1, -30])
def test_given_seconds_below_one_then_refused(field, value):
    refused(field, **{field: value})


@pytest.mark.parametrize("field", [*SECONDS_FIELDS, *SOUND_FIELDS, "callback_rate_limit"])
@pytest.mark.parametrize("value", [False, True, "5", "05", 5.0, 5.5, [5], {"n": 5}])
def test_given_integer_field_with_wrong_type_then_refused_not_guessed(field, value):
    refused(field, **{field: value})


@pytest.mark.parametrize("field", SOUND_FIELDS)
@pytest.mark.parametrize("value", [0, 1, 123456789012])
def test_given_sound_id_zero_or_more_then_accepted(field, value):
    assert getattr(request(**{field: value}), field) == value


@pytest.mark.parametrize("field", SOUND_FIELDS)
def test_given_negative_sound_id_then_refused(field):
    refused(field, **{field: -1})


@pytest.mark.parametrize("value", [0, 1, 50, 100])
def test_given_rate_limit_between_0_and_100_then_accepted(value):
    assert request(callback_rate_limit=value).callback_rate_limit == value


@pytest.mark.parametrize("value", [-1, 101, 1000])
def test_given_rate_limit_outside_0_to_100_then_refused(value):
    refused("callback_rate_limit", callback_rate_limit=value)


# ---------------------------------------------------------------------------------- booleans
@pytest.mark.parametrize("field", ["allow_public_transfer", "simultaneous"])
@pytest.mark.parametrize("value", [True, False])
def test_given_boolean_then_accepted(field, value):
    assert getattr(request(**{field: value}), field) is value


@pytest.mark.parametrize("field", ["allow_public_transfer", "simultaneous"])
@pytest.mark.parametrize("value", [0, 1, "true", "false", "yes", None, 1.0])
def test_given_boolean_field_with_wrong_type_then_refused(field, value):
    refused(field, **{field: value})


# ------------------------------------------------------------------------------------- DTMF
@pytest.mark.parametrize("digits", ["1", "0123456789", "*#", "1w2W3", "wW", "#" * 64, "12w#"])
def test_given_dtmf_of_digits_star_hash_and_pauses_then_accepted(digits):
    assert request(dst_dtmf=digits).dst_dtmf == digits


@pytest.mark.parametrize("digits", ["", "A", "a", "D", "x", ",", "p", "P", "1,2", "12p3", "1 2", "f", "F", "!",
                                    "1\n", "1" * 65, "١"])
def test_given_dtmf_asterisk_would_drop_silently_then_refused(digits):
    refused("dst_dtmf", dst_dtmf=digits)


@pytest.mark.parametrize("value", [123, 1.5, True, ["1"]])
def test_given_dtmf_not_a_string_then_refused(value):
    refused("dst_dtmf", dst_dtmf=value)


# -------------------------------------------------------------------------------- variables
def test_given_seed_example_variables_then_accepted():
    r = request(variables={"autoanswer": "4", "testvar": "'testval"})
    assert r.variables == {"autoanswer": "4", "testvar": "'testval"}


@pytest.mark.parametrize("name", ["a", "_x", "A_1", "x" * 64, "cbx", "XCB_1", "C_B"])
def test_given_good_variable_name_then_accepted(name):
    assert request(variables={name: "v"}).variables == {name: "v"}


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a b", "a.b", "a$", "${X}", "a(b)", "x" * 65, "é",
                                  "a=b"])
def test_given_bad_variable_name_then_refused(name):
    refused("variables", variables={name: "v"})


@pytest.mark.parametrize("name", ["foo\n", "foo\r", "foo\x00", "foo\t"])
def test_given_variable_name_with_control_character_then_refused(name):
    # Python's `$` also matches before a final "\n": the name check must not let it through.
    refused("variables", variables={name: "v"})


@pytest.mark.parametrize("name", ["CB_CALL_ID", "CB_ROLE", "cb_x", "Cb_DST_CID_NUM", "CB_"])
def test_given_variable_with_reserved_cb_prefix_then_refused(name):
    refused("variables", variables={name: "v"})


def test_given_as_many_variables_as_allowed_then_accepted():
    variables = {f"v{i}": str(i) for i in range(MAX_VARIABLES)}
    assert request(variables=variables).variables == variables


def test_given_too_many_variables_then_refused():
    refused("variables", variables={f"v{i}": str(i) for i in range(MAX_VARIABLES + 1)})


def test_given_longest_variable_value_then_accepted():
    assert request(variables={"v": "x" * MAX_VARIABLE_VALUE}).variables["v"] == "x" * MAX_VARIABLE_VALUE


def test_given_too_long_variable_value_then_refused():
    refused("variables", variables={"v": "x" * (MAX_VARIABLE_VALUE + 1)})


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "\x00", "a\tb", "\x1b[31m", "a\x1f", "a\x7f"])
def test_given_variable_value_with_control_character_then_refused(value):
    refused("variables", variables={"v": value})


@pytest.mark.parametrize("value", ["", "'testval", "a b", 'quote "x"', "a,b;c|d", "Иван", "${EXTEN}"])
def test_given_printable_variable_value_then_accepted(value):
    assert request(variables={"v": value}).variables == {"v": value}


@pytest.mark.parametrize("value", [4, 4.0, True, None, ["x"], {"a": "b"}])
def test_given_variable_value_not_a_string_then_refused(value):
    refused("variables", variables={"v": value})


@pytest.mark.parametrize("variables", [["a", "b"], "a=b", 5])
def test_given_variables_not_a_dict_then_refused(variables):
    refused("variables", variables=variables)


# --------------------------------------------------------------------------- unknown fields
@pytest.mark.parametrize("field", ["src_num", "dst_num", "timeout", "extra", "callerid", "call_api_id"])
def test_given_unknown_field_when_request_then_refused(field):
    with pytest.raises(ValidationError) as info:
        request(**{field: "1"})
    assert info.value.errors()[0]["type"] == "extra_forbidden"
    assert info.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize("field", ["src", "dst", "foo"])
def test_given_unknown_field_when_options_alone_then_refused(field):
    with pytest.raises(ValidationError) as info:
        CallbackOptions(**{field: "1"})
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_given_options_alone_then_same_defaults_as_request():
    assert CallbackOptions().model_dump() == request().model_dump(
        exclude={"src", "dst", "client_id", "extension_id", "simultaneous"})


@pytest.mark.parametrize("field", ["client_id", "extension_id"])
@pytest.mark.parametrize("value", [5, True, ["x"]])
def test_given_client_or_extension_id_not_a_string_then_refused(field, value):
    refused(field, **{field: value})


# ---------------------------------------------------------------------------- frozen, options()
def test_given_request_when_assigning_a_field_then_refused():
    r = request()
    with pytest.raises(ValidationError):
        r.dst = "2002"
    assert r.dst == "1002"


def test_given_request_when_options_then_only_given_options_without_numbers_or_ids():
    r = request(client_id="acme", extension_id="e1", wait_for_pickup=20, dst_dtmf="1#", variables={"a": "b"})
    assert r.options() == {"allow_public_transfer": True, "wait_for_pickup": 20, "dst_dtmf": "1#",
                           "variables": {"a": "b"}, "simultaneous": False}


def test_given_stored_options_when_rebuilt_then_same_request():
    r = request(src=["1001", "02001"], wait_for_pickup=20, call_duration=60, allow_public_transfer=False,
                variables={"a": "b"}, transfer_after_dst_hangup="3003")
    assert CallbackRequest(src=r.src, dst=r.dst, **r.options()) == r
