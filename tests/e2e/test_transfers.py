"""Public transfers (allow_public_transfer) by DTMF and by SIP REFER, and the origin race.

A party keys digits with the `8NNS` test phone: it answers and S seconds later sends the
digits of its per-call variable TP_SEND (SendDTMF); they reach our leg in the bridge as
ChannelDtmfReceived, as a phone's RFC 4733 digits would. REFER comes from a sipp phone
(uas_answer_refer.xml).
"""

from __future__ import annotations

import asyncio

from .helpers import attempt_id, finished, kinds, leg, place, wait_until
from .sipp import SippPhone


async def _connected(api, call_id):
    return await wait_until(api, call_id, lambda v: v["state"] == "connected", 15)


async def test_given_public_transfer_allowed_when_origin_keys_code_and_number_then_dst_transferred(api):
    call_id = await place(api, src=["8011"], dst="1002", variables={"TP_SEND": "##6002#"})
    record = await finished(api, call_id, timeout=30)
    assert record["status"] == "completed"
    xfer = leg(record, "xfer")
    assert xfer["number"] == "6002" and xfer["answered_at"] is not None
    assert leg(record, "src")["hangup_reason"] == "normal"   # the transferring party leaves
    assert "transfer" in kinds(record)


async def test_given_transfer_number_without_terminator_then_it_completes_after_a_pause(api):
    call_id = await place(api, src=["1001"], dst="8011", variables={"TP_SEND": "##6001"})
    record = await finished(api, call_id, timeout=30)
    assert leg(record, "xfer")["number"] == "6001"
    assert leg(record, "dst")["hangup_reason"] == "normal"


async def test_given_public_transfer_refused_for_external_number_then_dtmf_changes_nothing(api):
    # 08011: the keying phone reached as an external number.
    call_id = await place(api, src=["08011"], dst="1002", allow_public_transfer=False,
                          variables={"TP_SEND": "##6002#"})
    await _connected(api, call_id)
    await asyncio.sleep(5.0)   # the digits, then longer than the inter-digit timeout
    record = await wait_until(api, call_id, lambda v: True)
    assert record["state"] == "connected"
    assert "dtmf_received" in kinds(record) and "transfer" not in kinds(record)
    await api.post(f"/v1/callbacks/{call_id}/cancel")
    await finished(api, call_id)


async def test_given_public_transfer_off_but_internal_numbers_only_then_transfer_works(api):
    call_id = await place(api, src=["8011"], dst="1002", allow_public_transfer=False,
                          variables={"TP_SEND": "##6002#"})
    record = await finished(api, call_id, timeout=30)
    assert leg(record, "xfer")["answered_at"] is not None


async def test_given_sip_phone_refers_when_allowed_then_other_party_transferred(api):
    with SippPhone("uas_answer_refer.xml", ring_ms=200, talk_ms=1500, refer_to="6002") as phone:
        call_id = await place(api, src=[phone.number], dst="1001")
        record = await finished(api, call_id, timeout=30)
        await asyncio.to_thread(phone.wait, 15)
    xfer = leg(record, "xfer")
    assert xfer["number"] == "6002" and xfer["answered_at"] is not None
    assert record["status"] == "completed"


async def test_given_sip_phone_refers_when_public_transfer_off_and_external_then_refused(api):
    with SippPhone("uas_answer_refer.xml", ring_ms=200, talk_ms=1500, refer_to="6002") as phone:
        call_id = await place(api, src=[phone.number], dst="1001", allow_public_transfer=False)
        record = await finished(api, call_id, timeout=30)
        await asyncio.to_thread(phone.wait, 15)
    assert [lg["role"] for lg in record["legs"]] == ["src", "dst"]
    assert "transfer_requested" in kinds(record) and "transfer" not in kinds(record)
    assert (record["status"], record["ended_by"]) == ("completed", "src")


async def test_given_two_origins_answering_together_then_exactly_one_is_bridged(api, observer):
    for _ in range(3):
        mark = observer.mark()
        # Both ring 1 s, then answer within milliseconds of each other.
        call_id = await place(api, src=["4011", "4021"], dst="6001")
        record = await finished(api, call_id)
        assert record["status"] == "completed"
        entered = {e.channel.id for e in observer.since(mark, "ChannelEnteredBridge")
                   if e.bridge.id == f"cb-{attempt_id(record)}" and e.channel is not None}
        srcs = {cid for cid in entered if "-src" in cid}
        assert len(srcs) == 1, entered
        loser = [lg for lg in record["legs"] if lg["role"] == "src" and lg["id"] not in srcs][0]
        assert loser["hangup_reason"] == "answered_elsewhere" and loser["cause"] == 26


def _notify_results(phone) -> list[str]:
    """The sipfrag status lines of the transfer NOTIFYs Asterisk sent the phone."""
    return [m.text.split("\n\n", 1)[-1].strip().splitlines()[0] for m in phone.message_list()
            if m.direction == "received" and m.text.startswith("NOTIFY") and "\n\n" in m.text
            and "SIP/2.0" in m.text.split("\n\n", 1)[-1]]


async def test_given_destination_phone_refers_when_allowed_then_asterisk_transfers_it(api):
    with SippPhone("uas_answer_refer.xml", ring_ms=200, talk_ms=1500, refer_to="6002") as phone:
        call_id = await place(api, src=["1001"], dst=phone.number)
        record = await finished(api, call_id, timeout=30)
        await asyncio.to_thread(phone.wait, 15)
        results = _notify_results(phone)
    assert any(r.startswith("SIP/2.0 200") for r in results), results
    # 6002 took the origin over inside the dialplan and hung up after 2 s: the call ends then.
    assert (record["status"], record["ended_by"]) == ("completed", "dst")
    assert record["duration"] > 3.0


async def test_given_destination_phone_refers_when_public_transfer_off_and_external_then_nothing(api):
    with SippPhone("uas_answer_refer.xml", ring_ms=200, talk_ms=1500, refer_to="6002") as phone:
        call_id = await place(api, src=["1001"], dst=phone.number, allow_public_transfer=False)
        record = await finished(api, call_id, timeout=30)
        await asyncio.to_thread(phone.wait, 15)
        results = _notify_results(phone)
    assert not any(r.startswith("SIP/2.0 200") for r in results), results
    assert (record["status"], record["ended_by"]) == ("completed", "dst")
    assert record["duration"] < 3.0   # the phone's own BYE, 1 s after its REFER, ended it
