"""The pure part of dialplan triggers: arguments, options, policies, prompts."""

from __future__ import annotations

import re

import pytest

from ari_callback.triggers import rules
from ari_callback.triggers.rules import Reason, TriggerError


def _reason(args: list[str]) -> str:
    with pytest.raises(TriggerError) as caught:
        rules.parse(args)
    return caught.value.reason


def test_given_request_with_an_option_only_then_the_callers_number_is_to_be_confirmed():
    assert rules.parse(["request", "CO1"]) == rules.RequestTrigger("CO1", None)


def test_given_request_with_an_empty_number_then_as_if_absent():
    # Stasis(app,request,CO1,${NUM}) with NUM unset passes an empty last argument.
    assert rules.parse(["request", "CO1", ""]) == rules.RequestTrigger("CO1", None)


def test_given_request_with_ask_then_the_caller_keys_the_number_in():
    assert rules.parse(["request", "CO1", "ASK"]) == rules.RequestTrigger("CO1", None, ask=True)


def test_given_request_with_a_number_then_that_number():
    assert rules.parse(["request", "CO1", "+15551234"]).number == "+15551234"


def test_given_ringback_with_a_mode_then_the_mode():
    assert rules.parse(["ringback", "1002", "prompt"]) == rules.RingbackTrigger("1002", "prompt")


def test_given_call_with_options_then_typed_like_the_rest_api():
    trigger = rules.parse(["call", "1001", "1002", "wait_for_pickup=20&allow_public_transfer=no&var.ACCT=42"])
    request = trigger.request
    assert (request.src, request.dst, request.wait_for_pickup) == (["1001"], "1002", 20)
    assert request.allow_public_transfer is False and request.variables == {"ACCT": "42"}


@pytest.mark.parametrize("args, reason", [
    ([], Reason.UNKNOWN_VERB),
    (["dance", "1"], Reason.UNKNOWN_VERB),
    (["request"], Reason.WRONG_ARGUMENTS),
    (["request", "CO1", "1001", "x"], Reason.WRONG_ARGUMENTS),
    (["request", "CO 1"], Reason.INVALID_OPTION),
    (["request", "CO1", "12ab"], Reason.INVALID_NUMBER),
    (["ringback"], Reason.WRONG_ARGUMENTS),
    (["ringback", "1002", "later"], Reason.INVALID_OPTIONS),
    (["call", "1001"], Reason.WRONG_ARGUMENTS),
    (["call", "abc", "1002"], Reason.INVALID_NUMBER),
    (["call", "1001", "1002", "wait_for_pickup=soon"], Reason.INVALID_OPTIONS),
    (["call", "1001", "1002", "nonsense=1"], Reason.INVALID_OPTIONS),
    (["call", "1001", "1002", "variables=x"], Reason.INVALID_OPTIONS),
    (["call", "1001", "1002", "wait_for_pickup"], Reason.INVALID_OPTIONS),
    (["call", "1001", "1002", "wait_for_pickup=0"], Reason.INVALID_OPTIONS),   # the model's own rule
    (["call", "1001", "1002", "var.CB_X=1"], Reason.INVALID_OPTIONS),          # CB_ is reserved
])
def test_given_bad_arguments_then_a_stable_reason(args, reason):
    assert _reason(args) == reason


def test_given_our_own_legs_args_then_not_a_trigger():
    assert not rules.is_trigger_start(["leg", "abc"]) and not rules.is_trigger_start([])
    assert rules.is_trigger_start(["request", "CO1"]) and rules.is_trigger_start(["nonsense"])


def test_given_a_destination_policy_then_full_matches_only():
    policy = rules.DestinationPolicy((re.compile(r"[1-8]\d{3}"),))
    policy.check("1002")
    with pytest.raises(TriggerError) as caught:
        policy.check("10020")
    assert caught.value.reason == Reason.DESTINATION_NOT_ALLOWED


@pytest.mark.parametrize("value, expected", [
    ("1000", 1000.0), ("1000.5", 1000.5), ("", None), ("soon", None),
    ("999999", None),     # older than a day: a stale variable
    ("1003", None),       # in the future
])
def test_given_cb_queue_joined_then_a_place_only_when_plausible(value, expected):
    now = 1001.0 if value != "999999" else 999999 + 86401.0
    assert rules.queue_joined(value, now) == expected


def test_given_an_estimate_then_whole_minutes_rounded_up_at_least_one():
    assert rules.wait_prompt(30) == ["sound:auth-thankyou", "sound:queue-holdtime", "number:1", "sound:queue-minute"]
    assert rules.wait_prompt(121)[-2:] == ["number:3", "sound:queue-minutes"]
    assert rules.wait_prompt(None) == ["sound:auth-thankyou"]


def test_given_a_number_then_read_back_as_digits_with_the_keys():
    assert "digits:6104" in rules.confirm_prompt("6104") and "digits:1" in rules.confirm_prompt("6104")


def test_given_anonymous_caller_then_no_number():
    assert rules.caller_number("anonymous") is None and rules.caller_number("") is None
    assert rules.caller_number("5551234") == "5551234"


def test_every_reason_has_a_prompt():
    for name, reason in vars(Reason).items():
        if not name.startswith("_"):
            assert rules.error_prompt(reason)[0].startswith("sound:")


class _RecordingAri:
    """Records what the desk asks of ARI (the choice of channels is what is tested here)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        self.calls.append(("set", channel_id, name, value))

    async def continue_in_dialplan(self, channel_id: str) -> None:
        self.calls.append(("continue", channel_id))


async def test_given_a_restart_then_trigger_channels_nobody_runs_are_handed_back_and_legs_left_alone():
    from ari_callback.triggers.desk import TriggerDesk
    ari = _RecordingAri()
    desk = TriggerDesk(ari, None)   # type: ignore[arg-type]
    desk.channels["1700000000.7"] = object()   # type: ignore[assignment]  (a trigger running here)
    released = await desk.release_strays({"1700000000.5", "1700000000.7", "cb-att-src0", "cb-att-dst"})
    assert released == 1
    assert ("set", "1700000000.5", "CB_REASON", "app_restarted") in ari.calls
    assert ari.calls[-1] == ("continue", "1700000000.5")
    assert {c[1] for c in ari.calls} == {"1700000000.5"}
