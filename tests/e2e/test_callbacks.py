"""Callbacks on the real Asterisk, through the native API, with the test phones.

Phones (docs/test-phones.md): 1NNN answers and stays up, 2NNN rings forever, 3NNN busy,
4NNS answers after S s, 5NNS early media for S s then answers, 6NNS answers and hangs up
after S s, 7NNN congestion.
"""

from __future__ import annotations

import asyncio

from .helpers import attempt_id, finished, kinds, leg, leg_id, place, view, wait_until


async def test_given_one_origin_when_both_answer_and_dst_hangs_up_then_completed_with_timeline(api):
    call_id = await place(api, src=["1001"], dst="6002")
    record = await finished(api, call_id)
    assert (record["status"], record["status_detail"], record["ended_by"]) == ("completed", "answered", "dst")
    src, dst = leg(record, "src"), leg(record, "dst")
    assert src["answered_at"] and dst["answered_at"]
    assert dst["cause"] == 16 and src["cause"] == 16
    assert 1.5 < record["duration"] < 4.0   # 6002 hangs up 2 s after answering
    for one_leg in (src["id"], dst["id"]):
        assert {"leg_created", "answered", "ended"} <= set(kinds(record, one_leg))
    assert "hangup_requested" in kinds(record, src["id"])   # we hung the origin up


async def test_given_origin_hangs_up_first_when_connected_then_dst_hung_up_and_ended_by_src(api):
    call_id = await place(api, src=["6002"], dst="1001")
    record = await finished(api, call_id)
    assert (record["status"], record["ended_by"]) == ("completed", "src")
    assert leg(record, "dst")["hangup_reason"] == "normal"


async def test_given_three_origins_when_one_answers_first_then_others_cancelled_with_cause_26(api):
    call_id = await place(api, src=["2001", "1001", "4003"], dst="6001")
    record = await finished(api, call_id)
    assert record["status"] == "completed"
    winner = leg(record, "src", 1)
    assert winner["answered_at"] and winner["cause"] == 16
    for index in (0, 2):
        loser = leg(record, "src", index)
        assert loser["answered_at"] is None
        assert loser["hangup_reason"] == "answered_elsewhere"
        assert loser["cause"] == 26, loser
        assert loser["outcome"] == "answered_elsewhere"


async def test_given_two_origins_answering_at_different_times_then_the_earlier_wins(api):
    call_id = await place(api, src=["4003", "4001"], dst="6001")
    record = await finished(api, call_id)
    assert record["status"] == "completed"
    assert leg(record, "src", 1)["answered_at"] is not None
    assert leg(record, "src", 0)["answered_at"] is None
    assert leg(record, "src", 0)["cause"] == 26


async def test_given_busy_origin_when_called_then_failed_src_busy_and_nothing_dialled(api):
    call_id = await place(api, src=["3001"], dst="1001")
    record = await finished(api, call_id)
    assert (record["status"], record["status_detail"]) == ("failed", "src_busy")
    assert [lg["role"] for lg in record["legs"]] == ["src"]


async def test_given_origin_never_answers_when_ring_limit_passes_then_failed_src_no_answer(api):
    call_id = await place(api, src=["2001", "2002"], dst="1001", wait_for_pickup=2)
    record = await finished(api, call_id)
    assert (record["status"], record["status_detail"]) == ("failed", "src_no_answer")
    for index in (0, 1):
        src = leg(record, "src", index)
        assert src["hangup_reason"] == "no_answer" and src["cause"] == 19


async def test_given_busy_destination_when_dialled_then_failed_dst_busy_and_origin_hung_up(api):
    call_id = await place(api, src=["1001"], dst="3001")
    record = await finished(api, call_id)
    assert (record["status"], record["status_detail"]) == ("failed", "dst_busy")
    assert leg(record, "src")["answered_at"] is not None
    assert leg(record, "dst")["answered_at"] is None


async def test_given_destination_congested_when_dialled_then_failed_dst_congestion(api):
    call_id = await place(api, src=["1001"], dst="7001")
    record = await finished(api, call_id)
    assert (record["status"], record["status_detail"]) == ("failed", "dst_congestion")


async def test_given_destination_never_answers_when_ring_limit_passes_then_failed_dst_no_answer(api):
    call_id = await place(api, src=["1001"], dst="2001", wait_for_pickup=2)
    record = await finished(api, call_id)
    assert (record["status"], record["status_detail"]) == ("failed", "dst_no_answer")
    dst = leg(record, "dst")
    assert dst["hangup_reason"] == "no_answer"
    assert "ringing" in kinds(record, dst["id"])


async def test_given_ringing_origin_when_cancelled_then_cancelled_and_leg_hung_up(api):
    call_id = await place(api, src=["2001"], dst="1001")
    await wait_until(api, call_id, lambda v: "ringing" in kinds(v))
    response = await api.post(f"/v1/callbacks/{call_id}/cancel")
    assert response.status_code == 202, response.text
    record = await finished(api, call_id)
    assert (record["status"], record["ended_by"]) == ("cancelled", "cancel")
    assert leg(record, "src")["hangup_reason"] == "normal"
    again = await api.post(f"/v1/callbacks/{call_id}/cancel")
    assert again.status_code == 409 and again.json()["error_id"] == "callback_finished"


async def test_given_connected_call_when_cancelled_then_both_legs_hung_up(api):
    call_id = await place(api, src=["1001"], dst="1002")
    await wait_until(api, call_id, lambda v: v["state"] == "connected")
    assert (await api.post(f"/v1/callbacks/{call_id}/cancel")).status_code == 202
    record = await finished(api, call_id)
    assert (record["status"], record["ended_by"]) == ("cancelled", "cancel")
    assert all(lg["ended_at"] for lg in record["legs"])


async def test_given_ringing_destination_then_origin_bridged_before_dst_is_dialled(api, ari):
    call_id = await place(api, src=["1001"], dst="2001", wait_for_pickup=3)
    record = await wait_until(api, call_id,
                              lambda v: leg_id(v, "dst") is not None and "ringing" in kinds(v, leg_id(v, "dst")))
    attempt = attempt_id(record)   # channel and bridge ids are the attempt's, not the callback's
    bridge = await ari.get_bridge(f"cb-{attempt}")
    assert set(bridge.channels) == {f"cb-{attempt}-src0", f"cb-{attempt}-dst"}
    assert record["state"] == "calling_dst"
    await finished(api, call_id)


async def test_given_bad_bodies_then_4xx_with_error_id_and_nothing_stored(api, service, ari):
    before = len(await service.store.list_recent(limit=1000))
    cases = [
        ({"dst": "1001"}, 422, "missing_src"),
        ({"src": [], "dst": "1001"}, 422, "invalid_src"),
        ({"src": ["1001"]}, 422, "missing_dst"),
        ({"src": ["10a1"], "dst": "1001"}, 422, "invalid_src"),
        ({"src": "1001", "dst": "1001"}, 422, "invalid_src"),
        ({"src": ["1001"], "dst": "1001", "wait_for_pickup": "5"}, 422, "invalid_wait_for_pickup"),
        ({"src": ["1001"], "dst": "1001", "bogus": 1}, 422, "unknown_field"),
        ({"src": ["1001"], "dst": "1001&Local/2001@test-phones"}, 422, "invalid_dst"),
    ]
    for body, status, error_id in cases:
        response = await api.post("/v1/callbacks", json=body)
        assert (response.status_code, response.json()["error_id"]) == (status, error_id), (body, response.text)
    malformed = await api.post("/v1/callbacks", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (malformed.status_code, malformed.json()["error_id"]) == (400, "malformed_json")
    assert len(await service.store.list_recent(limit=1000)) == before
    assert await ari.list_channels() == []


async def test_given_bad_or_missing_api_key_then_401_and_nothing_dialled(api, service):
    before = len(await service.store.list_recent(limit=1000))
    for headers in ({"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}, {"X-API-Key": ""}):
        response = await api.post("/v1/callbacks", json={"src": ["1001"], "dst": "1002"}, headers=headers)
        assert (response.status_code, response.json()["error_id"]) == (401, "unauthorized")
    bare = await api.get("/v1/callbacks/x", headers={"X-API-Key": ""})
    assert bare.status_code == 401
    assert len(await service.store.list_recent(limit=1000)) == before


async def test_given_bearer_key_when_creating_then_accepted_and_other_client_cannot_see_it(api):
    response = await api.post("/v1/callbacks", json={"src": ["6001"], "dst": "1001"},
                              headers={"X-API-Key": "", "Authorization": "Bearer test-key"})
    assert response.status_code == 201, response.text
    call_id = response.json()["id"]
    assert response.headers["Location"] == f"/v1/callbacks/{call_id}"
    other = await api.get(f"/v1/callbacks/{call_id}", headers={"X-API-Key": "other-client-key"})
    assert (other.status_code, other.json()["error_id"]) == (404, "callback_not_found")
    await finished(api, call_id)


async def test_given_a_bridge_left_by_a_finished_attempt_then_the_sweep_removes_it(api, ari):
    """A request a dead instance had sent can be carried out after its call was adopted and
    ended: the bridge or channel it makes belongs to nobody. The sweep removes such leftovers
    of finished attempts, and only of those."""
    call_id = await place(api, src=["1001"], dst="6001")
    record = await finished(api, call_id)
    await ari.create_bridge(f"cb-{attempt_id(record)}", type="mixing")
    await ari.create_bridge("cb-of-no-known-attempt", type="mixing")
    try:
        for _ in range(150):
            left = {b.id for b in await ari.list_bridges()}
            if f"cb-{attempt_id(record)}" not in left:
                break
            await asyncio.sleep(0.1)
        assert left == {"cb-of-no-known-attempt"}
    finally:
        await ari.destroy_bridge("cb-of-no-known-attempt")
