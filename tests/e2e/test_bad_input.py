"""Bad input for every field of the callback resource: a 4xx with a stable error_id, and
nothing stored, nothing dialled."""

from __future__ import annotations

import pytest

GOOD = {"src": ["1001"], "dst": "1002"}
CASES = [
    ("allow_public_transfer", "yes", "invalid_allow_public_transfer"),
    ("allow_public_transfer", 1, "invalid_allow_public_transfer"),
    ("announce_sound_id", "1", "invalid_announce_sound_id"),
    ("announce_sound_id", -1, "invalid_announce_sound_id"),
    ("announce_sound_id", 999, "unknown_sound"),
    ("dst_announce_sound_id", 1.5, "invalid_dst_announce_sound_id"),
    ("dst_announce_sound_id", 999, "unknown_sound"),
    ("call_duration", -5, "invalid_call_duration"),
    ("call_duration", 0, "invalid_call_duration"),
    ("call_duration", 10**9, "invalid_call_duration"),
    ("call_duration", False, "invalid_call_duration"),
    ("wait_for_pickup", 0, "invalid_wait_for_pickup"),
    ("wait_for_pickup", 100000, "invalid_wait_for_pickup"),
    ("wait_for_pickup", "30", "invalid_wait_for_pickup"),
    ("caller_id_name", 'Evil" <666>', "invalid_caller_id_name"),
    ("caller_id_name", 42, "invalid_caller_id_name"),
    ("caller_id_number", "abc", "invalid_caller_id_number"),
    ("src_caller_id_name", "x" * 65, "invalid_src_caller_id_name"),
    ("src_caller_id_number", "1001,1", "invalid_src_caller_id_number"),
    ("src_ani", 5550199, "invalid_src_ani"),
    ("dst_ani", "555 0199", "invalid_dst_ani"),
    ("dst_dtmf", "12x", "invalid_dst_dtmf"),
    ("dst_dtmf", "A", "invalid_dst_dtmf"),
    ("dst_dtmf", "1,2", "invalid_dst_dtmf"),
    ("dst_dtmf", "", "invalid_dst_dtmf"),
    ("transfer_after_dst_hangup", "6001@evil", "invalid_transfer_after_dst_hangup"),
    ("transfer_after_src_hangup", "", "invalid_transfer_after_src_hangup"),
    ("callback_rate_limit", 101, "invalid_callback_rate_limit"),
    ("callback_rate_limit", -1, "invalid_callback_rate_limit"),
    ("callback_rate_limit", "50", "invalid_callback_rate_limit"),
    ("variables", {"CB_CALL_ID": "x"}, "invalid_variables"),
    ("variables", {"bad name": "1"}, "invalid_variables"),
    ("variables", {"k": 5}, "invalid_variables"),
    ("variables", ["k=v"], "invalid_variables"),
    ("variables", {"k": "line\nbreak"}, "invalid_variables"),
    ("src", [], "invalid_src"),
    ("src", ["1001", "1001"], "invalid_src"),
    ("src", [str(1001 + i) for i in range(11)], "too_many_numbers"),
    ("src", ["1001/x"], "invalid_src"),
    ("dst", "", "invalid_dst"),
    ("dst", ["1002"], "invalid_dst"),
]


@pytest.mark.parametrize(("field", "value", "error_id"), CASES, ids=[f"{f}={v!r}"[:60] for f, v, _ in CASES])
async def test_given_bad_value_then_4xx_with_error_id_and_nothing_stored_or_dialled(api, service, ari, field,
                                                                                    value, error_id):
    before = len(await service.store.list_recent(limit=10000))
    response = await api.post("/v1/callbacks", json={**GOOD, field: value})
    body = response.json()
    assert 400 <= response.status_code < 500 and body["error_id"] == error_id, (response.status_code, body)
    assert body["message"]
    assert len(await service.store.list_recent(limit=10000)) == before
    assert await ari.list_channels() == []


async def test_given_seed_shapes_with_bad_input_then_same_validation(api):
    pbx = await api.post("/extension/100/callback/", json={"src_num": ["1001"], "dst_num": "1002", "dst_dtmf": "x"})
    assert (pbx.status_code, pbx.json()["error_id"]) == (422, "invalid_dst_dtmf")
    unknown_var = await api.post("/extension/@{NOPE}/callback/", json={"src_num": ["1001"], "dst_num": "1002"})
    assert (unknown_var.status_code, unknown_var.json()["error_id"]) == (422, "unknown_variable")
    voice = await api.post("/voice/call/callback", json={"leg_A": {"to": "1001"}, "leg_B": {"to": "x"}})
    assert (voice.status_code, voice.json()["error_id"]) == (422, "invalid_leg_B")
