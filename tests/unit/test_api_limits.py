"""A client's calls-per-second limit and destination policy as each API shape answers them
(issue 13, limits and safety), in process on a real SQLite store."""

from __future__ import annotations

from ari_callback.config import DestinationSettings

from .fonolo_app import OPEN, SID, TOKEN, client
from .test_api_fonolo import failed
from .test_api_hardening import GOOD, KEY, PBX, _stored, hardened

DENY = DestinationSettings(deny=[r"0900\d*", r"00\d*"])


async def test_given_2_calls_per_second_then_the_third_is_429_with_retry_after_1(tmp_path):
    async with hardened(tmp_path / "data", max_calls_per_second=2) as built, client(built.app, headers=KEY) as api:
        answers = [await api.post("/v1/callbacks", json=GOOD) for _ in range(2)]
        third = await api.post("/v1/callbacks", json=GOOD)
        pbx = await api.post("/extension/100/callback/", json=PBX)
        stored = await _stored(built)
    assert [a.status_code for a in answers] == [201, 201]
    for refused in (third, pbx):
        assert (refused.status_code, refused.json()["error_id"]) == (429, "calls_per_second_exceeded"), refused.text
        assert refused.headers["retry-after"] == "1"
    assert stored == 2


async def test_given_half_a_call_per_second_then_retry_after_is_the_2_s_window(tmp_path):
    async with hardened(tmp_path / "data", max_calls_per_second=0.5) as built, client(built.app, headers=KEY) as api:
        first = await api.post("/v1/callbacks", json=GOOD)
        second = await api.post("/v1/callbacks", json=GOOD)
    assert (first.status_code, second.status_code, second.headers["retry-after"]) == (201, 429, "2")


async def test_given_a_denied_destination_then_403_naming_the_field_in_each_shape_and_nothing_stored(tmp_path):
    async with hardened(tmp_path / "data", destinations=DENY) as built, client(built.app, headers=KEY) as api:
        native = await api.post("/v1/callbacks", json={**GOOD, "dst": "0900123456"})
        pbx = await api.post("/extension/100/callback/", json={**PBX, "src_num": ["1001", "0044207946"]})
        allowed = await api.post("/v1/callbacks", json=GOOD)
        stored = await _stored(built)
    assert (native.status_code, native.json()["error_id"]) == (403, "destination_not_allowed"), native.text
    assert native.json()["errors"][0]["field"] == "dst"
    assert (pbx.status_code, pbx.json()["error_id"]) == (403, "destination_not_allowed"), pbx.text
    assert allowed.status_code == 201 and stored == 1


async def test_given_a_denied_customer_number_then_fonolo_answers_403_in_its_envelope(tmp_path):
    async with hardened(tmp_path / "data", destinations=DENY) as built, \
            client(built.app, auth=(SID, TOKEN)) as api:
        refused = await api.post("/3.0/callback", data={"fc_number": "09005551234", "fc_option": OPEN})
        stored = await _stored(built)
    failed(refused, 403, "destination_not_allowed")
    assert stored == 0
