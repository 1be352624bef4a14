"""Callbacks with a real SIP phone (sipp) on either side, on the real Asterisk.

An origin `9<port>` is dialled directly (`PJSIP/sipp-trunk/sip:<port>@127.0.0.1:<port>`, so its
leg has the SIP code as `sip_code`); a destination `9<port>` goes through `dst-route`. We assert
on the stored record (status, outcome, causes, timeline) and on what sipp received (CANCEL/BYE
Reason headers, the INVITE's From and P-Asserted-Identity). Scenarios: docs/test-phones.md.
"""

from __future__ import annotations

import asyncio
import random
import socket
from dataclasses import dataclass

from .helpers import finished, kinds, leg, place
from .sipp import SipMessage, SippPhone

Q850_NO_ANSWER = "Q.850;cause=19"
ELSEWHERE_SIP = 'SIP;cause=200;text="Call completed elsewhere"'
ELSEWHERE_Q850 = "Q.850;cause=26"


def sipp_port() -> int:
    """A free UDP port on 127.0.0.1 in 30000-39999 (this suite's range)."""
    for _ in range(200):
        port = random.randint(30000, 39999)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free UDP port in 30000-39999")


@dataclass
class SipRun:
    record: dict            # GET /v1/callbacks/{id} once finished
    exit_code: int          # sipp's exit code (0: the call went as scripted)
    messages: list[SipMessage]
    errors: str             # sipp's error log (wait slices filtered out)

    def received(self, method: str, index: int = 0) -> str:
        found = [m.text for m in self.messages if m.direction == "received" and m.text.startswith(method + " ")]
        assert len(found) > index, f"sipp received no {method} #{index}: {self.trace()}"
        return found[index]

    def reasons(self, method: str) -> list[str]:
        return SippPhone.headers(self.received(method), "Reason")

    def sent_codes(self) -> list[int]:
        return [int(m.first_line.split()[1]) for m in self.messages
                if m.direction == "sent" and m.text.startswith("SIP/2.0 ")]

    def trace(self) -> list[tuple[str, str]]:
        return [(m.direction, m.first_line) for m in self.messages]


async def sip_call(api, scenario: str, role: str, *, others: tuple[str, ...] = (), dst: str = "1001",
                   timeout: float = 20.0, keys: dict | None = None, **body) -> SipRun:
    """Place one callback with a sipp phone as the origin (role "src", beside `others`) or as
    the destination (role "dst", origins `others` or 1001); wait for the end of the callback and of sipp."""
    with SippPhone(scenario, port=sipp_port(), timeout=60, **(keys or {})) as phone:
        if role == "src":
            body.update(src=[phone.number, *others], dst=dst)
        else:
            body.update(src=list(others or ("1001",)), dst=phone.number)
        call_id = await place(api, **body)
        record = await finished(api, call_id, timeout)
        exit_code = await asyncio.to_thread(phone.wait, 10)
        return SipRun(record, exit_code, phone.message_list(), phone.errors)


def describe(run: SipRun) -> str:
    """What a failed assertion shows: the outcome, each leg and the timeline."""
    r = run.record
    legs = [(lg["id"].rsplit("-", 1)[-1], lg["cause"], lg["sip_code"], lg["hangup_reason"], lg["outcome"])
            for lg in r["legs"]]
    timeline = [(e["offset"], (e["leg"] or "").rsplit("-", 1)[-1], e["kind"], e["detail"]) for e in r["timeline"]]
    return (f"{r['status']}/{r['status_detail']} ended_by={r['ended_by']} legs={legs} "
            f"timeline={timeline} sipp={run.exit_code} {run.trace()} {run.errors}")


def offset_of(record: dict, kind: str, leg_id: str) -> float:
    found = [e["offset"] for e in record["timeline"] if e["kind"] == kind and e["leg"] == leg_id]
    assert found, f"no {kind} for {leg_id}"
    return found[0]


def identity(invite: str) -> tuple[str, str]:
    return SippPhone.header(invite, "From"), SippPhone.header(invite, "P-Asserted-Identity")


def assert_identity(invite: str, name: str | None, number: str) -> None:
    for value in identity(invite):
        assert f"<sip:{number}@" in value, identity(invite)
        if name is not None:
            assert value.startswith(f'"{name}"'), identity(invite)


# ----------------------------------------------------------------------------- origin refuses
async def _src_refuses(api, scenario: str, detail: str, cause: int, sip_code: int) -> None:
    run = await sip_call(api, scenario, "src")
    record = run.record
    assert (record["status"], record["status_detail"]) == ("failed", detail), describe(run)
    src = leg(record, "src")
    # A phone on this host may refuse before the app's subscription to the origin reaches
    # Asterisk; then the origin context's hangup handler reports the end, with the Q.850 cause
    # but without the SIP code or the hang-up request (docs/decisions.md, "origin context").
    reported = src["sip_code"] is None and "hangup" not in kinds(record, src["id"])
    assert (src["cause"], src["answered_at"]) == (cause, None), describe(run)
    assert src["sip_code"] == sip_code or reported, describe(run)
    assert src["hangup_reason"] == "" and "hangup_requested" not in kinds(record), describe(run)  # the phone ended it
    assert {"leg_created", "ended"} <= set(kinds(record, src["id"])), describe(run)
    assert "hangup" in kinds(record, src["id"]) or reported, describe(run)
    assert [lg["role"] for lg in record["legs"]] == ["src"], describe(run)
    assert run.exit_code == 0 and run.sent_codes()[-1] == sip_code, describe(run)


async def test_given_sip_origin_busy_when_called_then_failed_src_busy_with_486(api):
    await _src_refuses(api, "uas_busy.xml", "src_busy", 17, 486)


async def test_given_sip_origin_unavailable_when_called_then_failed_src_no_answer_with_480(api):
    await _src_refuses(api, "uas_unavailable.xml", "src_no_answer", 19, 480)


async def test_given_sip_origin_declines_when_called_then_failed_src_rejected_with_603(api):
    await _src_refuses(api, "uas_decline.xml", "src_rejected", 21, 603)


async def test_given_sip_origin_rings_forever_when_ring_limit_passes_then_cancel_with_cause_19(api):
    run = await sip_call(api, "uas_ring_forever.xml", "src", wait_for_pickup=2)
    record = run.record
    assert (record["status"], record["status_detail"]) == ("failed", "src_no_answer"), describe(run)
    src = leg(record, "src")
    assert (src["cause"], src["hangup_reason"]) == (19, "no_answer"), describe(run)
    assert "ringing" in kinds(record, src["id"])
    assert 1.8 < offset_of(record, "hangup_requested", src["id"]) < 2.5, describe(run)
    assert Q850_NO_ANSWER in run.reasons("CANCEL"), describe(run)
    assert run.exit_code == 0 and 487 in run.sent_codes(), describe(run)


async def test_given_sip_origin_answers_when_it_hangs_up_while_connected_then_completed_ended_by_src(api):
    run = await sip_call(api, "uas_answer_bye.xml", "src", keys={"ring_ms": 200, "talk_ms": 1500})
    record = run.record
    assert (record["status"], record["status_detail"], record["ended_by"]) == ("completed", "answered", "src"), \
        describe(run)
    src, dst = leg(record, "src"), leg(record, "dst")
    assert src["answered_at"] and dst["answered_at"], describe(run)
    # A BYE without Reason: Asterisk reports 16 (or 0, docs/test-phones.md); either is a normal end.
    assert src["cause"] in (0, 16) and src["outcome"] == "normal", describe(run)
    assert dst["hangup_reason"] == "normal" and dst["cause"] == 16, describe(run)
    assert 1.0 < record["duration"] < 3.0, describe(run)
    assert run.exit_code == 0, describe(run)


async def test_given_sip_origin_and_test_phone_when_phone_answers_first_then_sip_cancelled_elsewhere(api):
    run = await sip_call(api, "uas_ring_forever.xml", "src", others=("1001",), dst="6001")
    record = run.record
    assert (record["status"], record["ended_by"]) == ("completed", "dst"), describe(run)
    sip, phone = leg(record, "src", 0), leg(record, "src", 1)
    assert phone["answered_at"] is not None and sip["answered_at"] is None, describe(run)
    assert (sip["cause"], sip["hangup_reason"], sip["outcome"]) == (26, "answered_elsewhere",
                                                                    "answered_elsewhere"), describe(run)
    reasons = run.reasons("CANCEL")
    assert ELSEWHERE_SIP in reasons and ELSEWHERE_Q850 in reasons, (reasons, describe(run))
    assert run.exit_code == 0, describe(run)


# ----------------------------------------------------------------------------- origin caller ID
async def test_given_src_caller_id_when_sip_origin_called_then_from_and_pai_carry_it(api):
    run = await sip_call(api, "uas_busy.xml", "src", src_caller_id_name="Support Desk",
                         src_caller_id_number="5550123")
    assert_identity(run.received("INVITE"), "Support Desk", "5550123")


async def test_given_src_ani_a_did_of_the_client_when_sip_origin_called_then_it_gets_the_did(api):
    run = await sip_call(api, "uas_busy.xml", "src", src_caller_id_name="Support Desk",
                         src_caller_id_number="5550123", src_ani="5550199")
    assert_identity(run.received("INVITE"), "Support Desk", "5550199")


async def test_given_src_ani_not_a_did_when_sip_origin_called_then_it_gets_the_normal_number(api):
    run = await sip_call(api, "uas_busy.xml", "src", src_caller_id_number="5550123", src_ani="5559999")
    assert_identity(run.received("INVITE"), None, "5550123")
    run = await sip_call(api, "uas_busy.xml", "src", src_ani="5559999")    # the client's default
    assert_identity(run.received("INVITE"), "Callback Service", "5550100")


# ----------------------------------------------------------------------------- destination refuses
async def _dst_refuses(api, scenario: str, detail: str, cause: int) -> None:
    run = await sip_call(api, scenario, "dst")
    record = run.record
    assert (record["status"], record["status_detail"]) == ("failed", detail), describe(run)
    src, dst = leg(record, "src"), leg(record, "dst")
    assert dst["cause"] == cause and dst["answered_at"] is None, describe(run)
    assert src["answered_at"] is not None and src["ended_at"] is not None, describe(run)
    assert src["hangup_reason"] == "normal" and "hangup_requested" in kinds(record, src["id"]), describe(run)
    assert run.exit_code == 0, describe(run)


async def test_given_sip_destination_busy_when_dialled_then_failed_dst_busy_and_origin_hung_up(api):
    await _dst_refuses(api, "uas_busy.xml", "dst_busy", 17)


async def test_given_sip_destination_unavailable_when_dialled_then_failed_dst_no_answer(api):
    await _dst_refuses(api, "uas_unavailable.xml", "dst_no_answer", 19)


async def test_given_sip_destination_declines_when_dialled_then_failed_dst_rejected(api):
    await _dst_refuses(api, "uas_decline.xml", "dst_rejected", 21)


async def test_given_sip_destination_rings_forever_when_ring_limit_passes_then_cancel_with_cause_19(api):
    run = await sip_call(api, "uas_ring_forever.xml", "dst", wait_for_pickup=2)
    record = run.record
    assert (record["status"], record["status_detail"]) == ("failed", "dst_no_answer"), describe(run)
    dst = leg(record, "dst")
    assert (dst["cause"], dst["hangup_reason"]) == (19, "no_answer"), describe(run)
    assert Q850_NO_ANSWER in run.reasons("CANCEL"), describe(run)
    assert run.exit_code == 0, describe(run)


# ----------------------------------------------------------------------------- destination answers
async def test_given_sip_destination_with_early_media_when_it_answers_then_progress_before_answered(api):
    run = await sip_call(api, "uas_early_media.xml", "dst", keys={"ring_ms": 300, "early_ms": 1000},
                         call_duration=2)
    record = run.record
    assert (record["status"], record["status_detail"]) == ("completed", "answered"), describe(run)
    dst_kinds = kinds(record, leg(record, "dst")["id"])
    assert "progress" in dst_kinds and "answered" in dst_kinds, describe(run)
    assert dst_kinds.index("progress") < dst_kinds.index("answered"), describe(run)
    assert leg(record, "dst")["progress_at"] is not None


async def test_given_ring_limit_2s_when_early_media_at_1_5s_and_answer_at_3s_then_connected(api):
    # 180 at once, 183 with SDP at 1.5 s (restarts the 2 s timer), 200 at 3 s.
    run = await sip_call(api, "uas_early_media.xml", "dst", keys={"ring_ms": 1500, "early_ms": 1500},
                         wait_for_pickup=2, call_duration=1)
    record = run.record
    assert (record["status"], record["status_detail"]) == ("completed", "answered"), describe(run)
    dst = leg(record, "dst")
    answered = offset_of(record, "answered", dst["id"]) - offset_of(record, "leg_created", dst["id"])
    assert 2.5 < answered < 4.0, describe(run)
    assert record["ended_by"] == "duration_limit" and run.exit_code == 0, describe(run)


async def test_given_ring_limit_2s_when_only_ringing_and_answer_at_3s_then_dst_no_answer(api):
    run = await sip_call(api, "uas_answer.xml", "dst", keys={"ring_ms": 3000}, wait_for_pickup=2)
    record = run.record
    assert (record["status"], record["status_detail"]) == ("failed", "dst_no_answer"), describe(run)
    dst = leg(record, "dst")
    assert (dst["cause"], dst["hangup_reason"], dst["answered_at"]) == (19, "no_answer", None), describe(run)
    assert Q850_NO_ANSWER in run.reasons("CANCEL"), describe(run)
    # Never answered: no 200 for the INVITE. (Not sipp's exit code: uas_answer.xml's 100 ms ring loop
    # aborts on a CANCEL that lands between two slices, with a 200 for the CANCEL and no 487.)
    answers = [m.text for m in run.messages if m.direction == "sent" and m.text.startswith("SIP/2.0 200")
               and "INVITE" in SippPhone.header(m.text, "CSeq")]
    assert answers == [], describe(run)


async def test_given_sip_destination_answers_when_it_hangs_up_then_completed_ended_by_dst(api):
    run = await sip_call(api, "uas_answer_bye.xml", "dst", keys={"ring_ms": 200, "talk_ms": 1500},
                         caller_id_name="Shop Line", caller_id_number="5550111")
    record = run.record
    assert (record["status"], record["status_detail"], record["ended_by"]) == ("completed", "answered", "dst"), \
        describe(run)
    src, dst = leg(record, "src"), leg(record, "dst")
    assert dst["cause"] == 16 and src["hangup_reason"] == "normal", describe(run)
    assert 1.0 < record["duration"] < 3.0, describe(run)
    assert run.exit_code == 0, describe(run)
    # Bridged with connected-line updates inhibited: no re-INVITE/UPDATE replaces the caller ID shown.
    assert_identity(run.received("INVITE"), "Shop Line", "5550111")
    offers = [m.first_line for m in run.messages
              if m.direction == "received" and m.text.startswith(("INVITE ", "UPDATE "))]
    assert len(offers) == 1, offers       # only the first INVITE


# ----------------------------------------------------------------------------- destination caller ID
async def test_given_caller_id_when_sip_destination_dialled_then_from_and_pai_carry_it(api):
    run = await sip_call(api, "uas_busy.xml", "dst", caller_id_name="Shop Line", caller_id_number="5550111")
    assert_identity(run.received("INVITE"), "Shop Line", "5550111")


async def test_given_dst_ani_when_sip_destination_dialled_then_it_gets_the_did_and_only_a_did(api):
    run = await sip_call(api, "uas_busy.xml", "dst", caller_id_name="Shop Line", caller_id_number="5550111",
                         dst_ani="5550199")
    assert_identity(run.received("INVITE"), "Shop Line", "5550199")
    run = await sip_call(api, "uas_busy.xml", "dst", caller_id_number="5550111", dst_ani="5559999")
    assert_identity(run.received("INVITE"), None, "5550111")      # not a DID: the normal number
