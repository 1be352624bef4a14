"""Dialplan triggers on the real Asterisk (docs/dialplan-triggers.md): a queue caller's
callback that keeps their place, ring-back (Local and sipp callers), click-to-call from the
dialplan, every trigger with the app down, and bad arguments.

Inbound callers are Local channels originated into the test contexts of
extensions_test_phones.conf (their ;1 half parks in the observer's app, where the test keys
DTMF into it), and a sipp UAC over PJSIP. Every context reports what Stasis() handed back with
the UserEvent "TestTrigger" (verb, status = STASISSTATUS, cb_result, cb_reason, cb_callback_id).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timezone

import pytest

from .conftest import SIP_PORT
from .helpers import finished, leg
from .sipp import SippPhone

APP, ABSENT = "cb-test", "cb-absent"   # the app under test; a Stasis app nobody runs
OBSERVER = "cb-observer"
def _later_hours() -> str:
    """An hour that starts 3 hours from now (UTC): requests wait in the waitlist, are never
    dialled during the test, and still get a forecast (position and wait) from the opening."""
    start = (datetime.now(UTC).hour + 3) % 24
    return f"{start:02d}:00-{start + 1:02d}:00" if start < 23 else "23:00-24:00"


PROFILE = {
    "name": "triggers", "timezone": "UTC",
    "options": {
        "TQ": {"name": "Queue exit", "queue": "support", "hours": {"daily": _later_hours()}},
        "TQP": {"name": "Paused", "queue": "support", "status": "paused"},
    },
}


@pytest.fixture(autouse=True)
async def profile(api):
    response = await api.put("/v1/profiles/E2E-TRIG", json=PROFILE)
    assert response.status_code == 200, response.text
    yield
    await api.delete("/v1/profiles/E2E-TRIG")


@pytest.fixture
def quick_ringback(service):
    """Ring-backs 1 s after the trigger instead of the default 5 s."""
    context = service.engine.triggers.context
    saved = context.settings
    context.settings = saved.model_copy(update={"ringback_delay": 1.0})
    yield
    context.settings = saved


async def _inbound(ari, endpoint: str, caller: str, **variables: str) -> tuple[str, str]:
    """An inbound caller: Local/<endpoint> runs the trigger context on its ;2 half (the
    returned second id); its ;1 half waits in the observer's app."""
    first = f"tt-{uuid.uuid4().hex[:10]}"
    await ari.originate(f"Local/{endpoint}", channel_id=first, other_channel_id=f"{first}-2", app=OBSERVER,
                        caller_id=f'"Caller" <{caller}>', variables=variables, timeout=60)
    return first, f"{first}-2"


def _report(observer, channel_id: str, verb: str | None = None, status: str | None = None):
    def matches(e) -> bool:
        if e.type != "ChannelUserevent" or e.eventname != "TestTrigger" or e.channel is None:
            return False
        body = e.userevent
        return (e.channel.id == channel_id and (verb is None or body.get("verb") == verb)
                and (status is None or body.get("status") == status))
    return matches


def _prompt_on(channel_id: str):
    return lambda e: e.type == "PlaybackStarted" and e.playback.target_uri == f"channel:{channel_id}"


async def _reported(observer, channel_id: str, mark: int, verb: str, timeout: float = 30.0) -> dict:
    event = await observer.wait_for(_report(observer, channel_id, verb), timeout=timeout, since=mark)
    return dict(event.userevent)


async def _ask(api, option: str, number: str) -> dict:
    response = await api.post("/v1/customer-callbacks", json={"option": option, "number": number})
    assert response.status_code == 201, response.text
    return response.json()


async def _position(api, number: str) -> int:
    response = await api.post("/api/organization/default/callback_status", json={"contact_number": number})
    assert response.status_code == 200, response.text
    return int(response.json()["data"][0]["forecast_waitlist_position"])


async def _cancel(api, callback_ids) -> None:
    for callback_id in callback_ids:
        await api.post(f"/v1/callbacks/{callback_id}/cancel")


async def _key(ari, observer, channel: str, keyed: str, prompt_on: str, mark: int) -> int:
    """Wait for the next prompt on the trigger channel, then key ``keyed`` from the caller."""
    await observer.wait_for(_prompt_on(prompt_on), timeout=15, since=mark)
    mark = observer.mark()
    await ari.send_dtmf(channel, keyed, between=150)
    return mark


# --------------------------------------------------------------------------- request
async def test_given_callers_waiting_when_a_queue_caller_presses_5_then_the_callback_keeps_their_place(
        api, ari, observer):
    """The caller confirms their own number with 1; the callback's place is when they joined
    the queue (CB_QUEUE_JOINED): between a callback asked before and one asked after."""
    earlier = await _ask(api, "TQ", "6101")
    await asyncio.sleep(1.5)      # ${EPOCH} has whole seconds
    mark = observer.mark()
    caller, trigger = await _inbound(ari, "s@test-trigger-queue", "6102", TT_APP=APP, TT_ARGS="request,TQ")
    await observer.wait_for(_report(observer, trigger, "queue", "in-queue"), since=mark)
    await asyncio.sleep(1.5)
    later = await _ask(api, "TQ", "6103")
    ids = [earlier["id"], later["id"]]
    try:
        await ari.send_dtmf(caller, "5")
        await _key(ari, observer, caller, "1", trigger, mark)   # "you entered 6102 ... press 1"
        report = await _reported(observer, trigger, mark, "request")
        ids.append(report["cb_callback_id"])
        assert (report["status"], report["cb_result"], report["cb_reason"]) == ("SUCCESS", "ok", ""), report
        assert [await _position(api, n) for n in ("6101", "6102", "6103")] == [1, 2, 3]
        ended = await observer.wait_for(lambda e: e.type == "ChannelDestroyed" and e.channel.id == trigger,
                                        timeout=15, since=mark)
        assert ended.cause == 16   # the snippet's goodbye and Hangup(16): the caller left politely
    finally:
        await _cancel(api, ids)


async def test_given_ask_when_the_caller_keys_a_number_then_it_is_read_back_and_confirmed(api, ari, observer):
    mark = observer.mark()
    caller, trigger = await _inbound(ari, "s@test-trigger-queue", "6102", TT_APP=APP, TT_ARGS="request,TQ,ask")
    await observer.wait_for(_report(observer, trigger, "queue", "in-queue"), since=mark)
    await ari.send_dtmf(caller, "5")
    step = await _key(ari, observer, caller, "2", trigger, mark)        # "enter the number" -- 2 is a typo
    step = await _key(ari, observer, caller, "2", trigger, step)        # "you entered 2 ... press 2": re-enter
    step = await _key(ari, observer, caller, "6104#", trigger, step)    # "enter the number"
    await _key(ari, observer, caller, "1", trigger, step)               # "you entered 6104 ... press 1"
    report = await _reported(observer, trigger, mark, "request")
    try:
        assert report["cb_result"] == "ok", report
        entry = (await api.post("/api/organization/default/callback_status",
                                json={"contact_number": "6104"})).json()["data"][0]
        assert entry["status"] == "queued"
    finally:
        await _cancel(api, [report.get("cb_callback_id")])


async def test_given_the_app_down_when_a_queue_caller_presses_5_then_they_stay_in_the_queue(ari, observer):
    mark = observer.mark()
    caller, trigger = await _inbound(ari, "s@test-trigger-queue", "6102", TT_APP=ABSENT, TT_ARGS="request,TQ")
    await observer.wait_for(_report(observer, trigger, "queue", "in-queue"), since=mark)
    back = observer.mark()
    await ari.send_dtmf(caller, "5")
    report = await _reported(observer, trigger, back, "request")
    assert (report["status"], report["cb_result"]) == ("FAILED", ""), report
    await observer.wait_for(_report(observer, trigger, "queue", "in-queue"), since=back)
    await asyncio.sleep(0.5)
    assert (await ari.get_channel(trigger)).dialplan.app_name == "Queue"   # waiting again
    await ari.hangup(caller)


# -------------------------------------------------------------------------- ringback
async def test_given_a_ringback_number_then_the_call_is_rejected_and_the_caller_called_back_and_connected(
        api, ari, observer, quick_ringback):
    mark = observer.mark()
    caller, trigger = await _inbound(ari, "1002@test-trigger-ringback", "6105", TT_APP=APP)
    report = await _reported(observer, trigger, mark, "ringback")
    assert (report["status"], report["cb_result"]) == ("SUCCESS", "ok"), report
    rejected = await observer.wait_for(lambda e: e.type == "ChannelDestroyed" and e.channel.id == trigger,
                                       since=mark)
    assert rejected.cause == 21   # refused before any answer: the caller pays nothing
    assert not [e for e in observer.since(mark, "ChannelStateChange")
                if e.channel.id in (caller, trigger) and e.channel.state == "Up"]
    record = await finished(api, report["cb_callback_id"], timeout=40)
    assert (record["status"], record["status_detail"]) == ("completed", "answered"), record
    assert (leg(record, "src")["number"], leg(record, "dst")["number"]) == ("6105", "1002")
    assert leg(record, "dst")["answered_at"] is not None   # caller connected to the destination
    called_back = datetime.fromisoformat(record["attempts"][0]["created_at"])
    assert called_back > rejected.timestamp   # once the inbound call was over


async def test_given_a_sipp_caller_on_a_ringback_number_then_prompted_ended_and_called_back(
        api, ari, observer, quick_ringback):
    """Over PJSIP: sipp dials 81002 ([test-inbound] -> ringback to 1002 in prompt mode) with a
    P-Asserted-Identity of another sipp phone, which the callback then rings."""
    await ari.request("POST", "/asterisk/variable", params={"variable": "TP_ARI_APP", "value": APP})
    mark = observer.mark()
    try:
        with SippPhone("uas_answer_bye.xml", ring_ms=300, talk_ms=3000) as callee, \
                SippPhone("uac_call.xml", call="81002", asterisk=f"127.0.0.1:{SIP_PORT}",
                          caller_num=callee.number, talk_ms=30000) as inbound:
            report = await observer.wait_for(
                lambda e: e.type == "ChannelUserevent" and e.eventname == "TestTrigger"
                and e.userevent.get("verb") == "ringback", timeout=30, since=mark)
            body = dict(report.userevent)
            assert (body["status"], body["cb_result"]) == ("SUCCESS", "ok"), body
            assert await asyncio.to_thread(inbound.wait, 30) == 0, inbound.errors
            inbound.received("BYE")   # Asterisk ended the inbound call after the prompt
            record = await finished(api, body["cb_callback_id"], timeout=40)
            assert await asyncio.to_thread(callee.wait, 30) == 0, callee.errors
    finally:
        await ari.request("POST", "/asterisk/variable", params={"variable": "TP_ARI_APP", "value": "callback"})
    assert (record["status"], record["status_detail"]) == ("completed", "answered"), record
    assert (leg(record, "src")["number"], leg(record, "dst")["number"]) == (callee.number, "1002")


async def test_given_the_app_down_when_a_ringback_number_is_called_then_the_caller_hears_a_message(
        ari, observer):
    mark = observer.mark()
    caller, trigger = await _inbound(ari, "1002@test-trigger-ringback", "6105", TT_APP=ABSENT)
    report = await _reported(observer, trigger, mark, "ringback")
    assert (report["status"], report["cb_result"]) == ("FAILED", ""), report
    await observer.wait_for(_report(observer, trigger, "ringback", "message"), since=mark)
    playing = await observer.wait_for(
        lambda e: e.type == "ChannelDialplan" and e.raw["channel"]["id"] == trigger
        and e.raw.get("dialplan_app") == "Playback", since=mark)
    assert playing.raw["dialplan_app_data"] == "please-try-call-later"
    await observer.wait_for(lambda e: e.type == "ChannelDestroyed" and e.channel.id == trigger, since=mark)


# ------------------------------------------------------------------------------ call
async def test_given_a_dialplan_click_to_call_then_placed_and_the_channel_back_with_the_callback_id(
        api, ari, observer):
    mark = observer.mark()
    caller, trigger = await _inbound(ari, "s@test-trigger", "1001", TT_APP=APP,
                                     TT_ARGS="call,6106,1002,wait_for_pickup=20&var.TEST_VAR=from-dialplan")
    report = await _reported(observer, trigger, mark, "call")
    assert (report["status"], report["cb_result"], report["cb_reason"]) == ("SUCCESS", "ok", ""), report
    record = await finished(api, report["cb_callback_id"], timeout=40)
    assert (record["status"], record["status_detail"]) == ("completed", "answered"), record
    assert (leg(record, "src")["number"], leg(record, "dst")["number"]) == ("6106", "1002")
    phones = [r for r in observer.phone_reports(mark, "answered") if r.get("callback_id") == record["id"]]
    assert any("TEST_VAR=from-dialplan" in r.get("vars", "") for r in phones), phones
    # The report comes from the priority after Stasis(): the channel left the app.


async def test_given_the_app_down_when_a_click_to_call_is_dialled_then_stasis_fails_at_once(ari, observer):
    mark = observer.mark()
    started = time.monotonic()
    caller, trigger = await _inbound(ari, "s@test-trigger", "1001", TT_APP=ABSENT, TT_ARGS="call,6106,1002")
    report = await _reported(observer, trigger, mark, "call")
    assert (report["status"], report["cb_result"], report["cb_callback_id"]) == ("FAILED", "", ""), report
    assert time.monotonic() - started < 5


# ---------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("args, reason", [
    ("call,1001", "wrong_argument_count"),
    ("call,abc,1002", "invalid_number"),
    ("call,1001,1002,wait_for_pickup=soon", "invalid_options"),
    ("frobnicate,1001", "unknown_verb"),
    ("request,NOSUCH", "option_not_found"),
    ("request,TQP", "option_paused"),
    ("ringback,5551234", "destination_not_allowed"),
])
async def test_given_bad_arguments_then_an_error_prompt_and_the_channel_back_with_the_reason(
        ari, observer, service, args, reason):
    mark = observer.mark()
    caller, trigger = await _inbound(ari, "s@test-trigger", "1001", TT_APP=APP, TT_ARGS=args)
    report = await _reported(observer, trigger, mark, args.split(",")[0])
    assert (report["status"], report["cb_result"], report["cb_reason"]) == ("SUCCESS", "error", reason), report
    assert report["cb_callback_id"] == ""
    assert observer.since(mark) and any(_prompt_on(trigger)(e) for e in observer.since(mark))   # error prompt
    # The report is raised by the priority after Stasis(): the channel left the app, which
    # lets go of the trigger once continue's answer is in (it may come after the report).
    deadline = time.monotonic() + 2
    while trigger in service.engine.triggers.channels and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert trigger not in service.engine.triggers.channels


async def test_given_a_caller_who_never_answers_the_prompt_then_handed_back_at_the_time_limit(
        api, ari, observer, service):
    context = service.engine.triggers.context
    saved = context.settings
    context.settings = saved.model_copy(update={"max_seconds": 3.0})
    try:
        mark = observer.mark()
        started = time.monotonic()
        caller, trigger = await _inbound(ari, "s@test-trigger", "1001", TT_APP=APP, TT_ARGS="request,TQ,ask")
        report = await _reported(observer, trigger, mark, "request", timeout=15)
    finally:
        context.settings = saved
    assert (report["status"], report["cb_result"], report["cb_reason"]) == ("SUCCESS", "error", "timed_out")
    assert time.monotonic() - started < 8   # the prompt was cut short, not played out
