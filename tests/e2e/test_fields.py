"""Fields of the callback resource (seed 002) on the real Asterisk; what the phones received
is read from their TestPhone UserEvents seen by the observer app."""

from __future__ import annotations

import asyncio
from datetime import datetime

from .helpers import finished, kinds, leg, place, view, wait_until


def _reports(observer, mark, call_id, action):
    return [r for r in observer.phone_reports(mark, action) if r.get("callback_id") == call_id]


async def _answered_report(observer, mark, call_id, phone, timeout=10.0):
    await observer.wait_for(lambda e: e.type == "ChannelUserevent" and e.userevent.get("phone") == phone
                            and e.userevent.get("callback_id") == call_id
                            and e.userevent.get("action") == "answered", timeout, mark)
    return [r for r in _reports(observer, mark, call_id, "answered") if r["phone"] == phone][0]


def _vars(report: dict) -> dict[str, str]:
    from urllib.parse import unquote
    pairs = [p.split("=", 1) for p in report.get("vars", "").split(";") if "=" in p]
    return {k: unquote(v) for k, v in pairs}


async def test_given_dst_dtmf_when_dst_answers_then_phone_receives_digits_with_pauses(api, observer):
    mark = observer.mark()
    call_id = await place(api, src=["1001"], dst="1002", dst_dtmf="12w3W#", call_duration=8)
    await wait_until(api, call_id, lambda v: len(_reports(observer, mark, call_id, "dtmf")) >= 4, 20)
    digits = _reports(observer, mark, call_id, "dtmf")
    assert [d["digit"] for d in digits] == ["1", "2", "3", "#"]
    t = [d["_timestamp"] for d in digits]
    gaps = [(b - a).total_seconds() for a, b in zip(t, t[1:], strict=False)]
    # 100 ms tone + 100 ms gap per digit; w adds 0.5 s, W adds 1 s (asterisk-ari-facts.md §5).
    # The phone reports through a Read() loop: a digit arriving while the previous report is
    # sent waits in the queue, so a gap can shrink by up to ~0.15 s. The pauses stand out.
    assert 0.0 <= gaps[0] < 0.45, gaps
    assert 0.55 < gaps[1] < 0.95, gaps
    assert 1.05 < gaps[2] < 1.45, gaps
    await api.post(f"/v1/callbacks/{call_id}/cancel")
    await finished(api, call_id)


async def test_given_call_duration_when_connected_then_call_ends_at_the_limit(api):
    call_id = await place(api, src=["1001"], dst="1002", call_duration=3)
    record = await finished(api, call_id, timeout=20)
    assert (record["status"], record["ended_by"]) == ("completed", "duration_limit")
    # Enforced, not timed: how precisely limits fire is measured in benchmarks/limits.py (p95
    # 26 ms). One CI run on the shared machine saw a hang-up 356 ms late (the step's save waited
    # in the store; docs/decisions.md, issue 12's notes), so the bound here is half a second.
    assert 2.95 < record["duration"] < 3.5, record["duration"]


async def test_given_caller_ids_when_calling_then_each_phone_sees_the_fallback_chain(api, observer):
    mark = observer.mark()
    call_id = await place(api, src=["1001"], dst="1002", caller_id_name="Shop", caller_id_number="5550111",
                          src_caller_id_name="Support", call_duration=4)
    src = await _answered_report(observer, mark, call_id, "1001")
    dst = await _answered_report(observer, mark, call_id, "1002")
    # The origin gets src_caller_id_name and (no src number given) caller_id_number.
    assert (src["ring_caller_name"], src["ring_caller_num"]) == ("Support", "5550111")
    # The destination gets caller_id_name / caller_id_number through dst-route.
    assert (dst["ring_caller_name"], dst["ring_caller_num"]) == ("Shop", "5550111")
    await finished(api, call_id)


async def test_given_no_caller_id_then_the_clients_default_is_used(api, observer):
    mark = observer.mark()
    call_id = await place(api, src=["1001"], dst="6001")
    src = await _answered_report(observer, mark, call_id, "1001")
    assert (src["ring_caller_name"], src["ring_caller_num"]) == ("Callback Service", "5550100")
    await finished(api, call_id)


async def test_given_src_ani_then_used_only_for_external_origins_and_known_dids(api, observer):
    mark = observer.mark()
    # 01001 is the 1001 phone reached as an external number; 5550199 is one of the client's DIDs.
    call_id = await place(api, src=["01001"], dst="6001", src_ani="5550199")
    ext = await _answered_report(observer, mark, call_id, "1001")
    assert ext["ring_caller_num"] == "5550199"
    await finished(api, call_id)
    mark = observer.mark()
    call_id = await place(api, src=["1001"], dst="6001", src_ani="5550199")
    internal = await _answered_report(observer, mark, call_id, "1001")
    assert internal["ring_caller_num"] == "5550100"   # internal number: ANI not passed
    await finished(api, call_id)
    mark = observer.mark()
    call_id = await place(api, src=["01001"], dst="6001", src_ani="5559999")
    unknown = await _answered_report(observer, mark, call_id, "1001")
    assert unknown["ring_caller_num"] == "5550100"    # not a DID of the client: silently ignored
    await finished(api, call_id)


async def test_given_dst_ani_then_external_destination_sees_it(api, observer):
    mark = observer.mark()
    call_id = await place(api, src=["6002"], dst="01002", dst_ani="5550199")
    dst = await _answered_report(observer, mark, call_id, "1002")
    assert dst["ring_caller_num"] == "5550199"
    await finished(api, call_id)


async def test_given_variables_then_both_legs_carry_them(api, observer):
    mark = observer.mark()
    call_id = await place(api, src=["1001"], dst="1002", call_duration=3,
                          variables={"autoanswer": "4", "testvar": "'testval"})
    for phone in ("1001", "1002"):
        report = await _answered_report(observer, mark, call_id, phone)
        values = _vars(report)
        assert values.get("autoanswer") == "4" and values.get("testvar") == "'testval", report
    await finished(api, call_id)


async def test_given_announcements_then_played_and_call_goes_on(api):
    call_id = await place(api, src=["1001"], dst="6002", announce_sound_id=2, dst_announce_sound_id=2)
    record = await finished(api, call_id)
    assert record["status"] == "completed"
    states = [e["detail"].get("state") for e in record["timeline"] if e["kind"] == "state"]
    assert states[:4] == ["calling_src", "announcing", "calling_dst", "connected"]


async def test_given_unknown_sound_then_422_and_nothing_dialled(api, ari):
    response = await api.post("/v1/callbacks", json={"src": ["1001"], "dst": "1002", "announce_sound_id": 999})
    assert (response.status_code, response.json()["error_id"]) == (422, "unknown_sound")
    assert await ari.list_channels() == []


async def test_given_transfer_after_dst_hangup_then_origin_is_transferred(api):
    call_id = await place(api, src=["1001"], dst="6001", transfer_after_dst_hangup="6002")
    record = await finished(api, call_id)
    assert (record["status"], record["ended_by"]) == ("completed", "dst")
    xfer = leg(record, "xfer")
    assert xfer["number"] == "6002" and xfer["answered_at"] is not None
    assert "transfer" in kinds(record)


async def test_given_transfer_after_src_hangup_then_destination_is_transferred(api):
    call_id = await place(api, src=["6001"], dst="1001", transfer_after_src_hangup="6002")
    record = await finished(api, call_id)
    assert record["status"] == "completed"
    assert leg(record, "xfer")["answered_at"] is not None


async def test_given_transfer_after_dst_hangup_when_dst_busy_then_origin_transferred(api):
    call_id = await place(api, src=["1001"], dst="3001", transfer_after_dst_hangup="6001")
    record = await finished(api, call_id)
    assert record["status"] == "completed"
    assert leg(record, "xfer")["answered_at"] is not None


async def test_given_callback_rate_limit_100_then_always_refused(api, service):
    before = len(await service.store.list_recent(limit=1000))
    response = await api.post("/v1/callbacks", json={"src": ["1001"], "dst": "1002", "callback_rate_limit": 100})
    assert (response.status_code, response.json()["error_id"]) == (429, "callback_rate_limit_exceeded")
    assert len(await service.store.list_recent(limit=1000)) == before


async def test_given_pbx_shape_when_posting_then_call_api_id_and_history(api):
    response = await api.post("/extension/100/callback/", json={"src_num": ["1001"], "dst_num": "6001"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"call_api_id", "call_id"}
    await finished(api, body["call_id"])
    history = await api.get(f"/client/default/call_history/{body['call_id']}")
    assert history.status_code == 200, history.text
    h = history.json()
    assert (h["status"], h["hangup_first"]) == ("completed", "dst")
    assert [lg["role"] for lg in h["legs"]] == ["src", "dst"]
    assert [(a["number"], a["state"], [lg["role"] for lg in a["legs"]]) for a in h["attempts"]] == [
        (1, "completed", ["src", "dst"])]
    other = await api.get(f"/client/other/call_history/{body['call_id']}")
    assert (other.status_code, other.json()["error_id"]) == (404, "client_not_found")


async def test_given_pbx_shape_with_unknown_extension_then_404(api):
    response = await api.post("/extension/999/callback/", json={"src_num": ["1001"], "dst_num": "6001"})
    assert (response.status_code, response.json()["error_id"]) == (404, "extension_not_found")
    bad = await api.post("/extension/100/callback/", json={"src_num": [], "dst_num": "6001"})
    assert (bad.status_code, bad.json()["error_id"]) == (422, "invalid_src_num")


async def test_given_voice_shape_then_leg_a_first_and_each_leg_sees_the_others_number(api, observer):
    mark = observer.mark()
    response = await api.post("/voice/call/callback", json={"leg_A": {"to": "1001", "from": "1002"},
                                                            "leg_B": {"to": "6002", "from": "1001"}})
    assert response.status_code == 200, response.text
    call_id = response.json()["call_id"]
    a = await _answered_report(observer, mark, call_id, "1001")
    assert a["ring_caller_num"] == "1002"
    record = await finished(api, call_id)
    assert (leg(record, "src")["number"], leg(record, "dst")["number"]) == ("1001", "6002")


async def test_given_announcement_file_missing_then_call_goes_on_at_once(api):
    call_id = await place(api, src=["1001"], dst="6001", announce_sound_id=9)
    record = await finished(api, call_id)
    assert record["status"] == "completed"
    assert "announce_failed" in kinds(record)
    created = [e for e in record["timeline"] if e["kind"] == "leg_created" and e["leg"].endswith("-dst")][0]
    assert created["offset"] < 1.0


async def test_given_announcement_that_never_finishes_then_cut_after_playback_timeout(api):
    call_id = await place(api, src=["1001"], dst="6001", announce_sound_id=8)   # tone:ring never ends
    record = await finished(api, call_id)
    assert record["status"] == "completed"
    assert "announce_timeout" in kinds(record)
    created = [e for e in record["timeline"] if e["kind"] == "leg_created" and e["leg"].endswith("-dst")][0]
    assert 1.9 < created["offset"] < 3.0   # playback_timeout is 2 s in the test configuration


async def test_given_voice_shape_simultaneous_then_both_legs_ring_at_once_and_join(api):
    response = await api.post("/voice/call/callback", json={"leg_A": {"to": "4002", "from": "1002"},
                                                            "leg_B": {"to": "4001", "from": "1001"},
                                                            "mode": "simultaneous", "call_duration": 3})
    assert response.status_code == 200, response.text
    record = await finished(api, response.json()["call_id"], timeout=20)
    src, dst = leg(record, "src"), leg(record, "dst")
    created = {e["leg"]: e["offset"] for e in record["timeline"] if e["kind"] == "leg_created"}
    assert abs(created[src["id"]] - created[dst["id"]]) < 0.5   # both rung at once
    assert dst["answered_at"] < src["answered_at"]              # B answered first, waited for A
    assert (record["status"], record["ended_by"]) == ("completed", "duration_limit")


async def test_given_voice_shape_simultaneous_when_one_leg_busy_then_the_other_is_hung_up(api):
    response = await api.post("/voice/call/callback", json={"leg_A": {"to": "2001"}, "leg_B": {"to": "3001"},
                                                            "mode": "simultaneous"})
    record = await finished(api, response.json()["call_id"])
    assert (record["status"], record["status_detail"]) == ("failed", "dst_busy")
    assert leg(record, "src")["hangup_reason"] == "normal"


async def test_given_rate_limit_50_on_a_client_of_2_calls_then_second_callback_refused(api):
    other = {"X-API-Key": "other-client-key"}   # client "other": max_concurrent_calls 2
    body = {"src": ["2001"], "dst": "1001", "callback_rate_limit": 50}
    first = await api.post("/v1/callbacks", json=body, headers=other)
    assert first.status_code == 201, first.text
    second = await api.post("/v1/callbacks", json=body, headers=other)
    assert (second.status_code, second.json()["error_id"]) == (429, "callback_rate_limit_exceeded")
    without = await api.post("/v1/callbacks", json={"src": ["2002"], "dst": "1001"}, headers=other)
    assert without.status_code == 201   # the whole limit (2) applies without the option
    for created in (first, without):
        call_id = created.json()["id"]
        assert (await api.post(f"/v1/callbacks/{call_id}/cancel", headers=other)).status_code == 202
        await finished(api, call_id, headers=other)

