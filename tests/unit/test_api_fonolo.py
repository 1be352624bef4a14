"""Fonolo's REST API 3.0 under /3.0/ (docs/fonolo-api.md), in process, on a real SQLite store
and the real Customer/CallbackService."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from ari_callback.store.tables import callbacks
from tests.unit.fonolo_app import (
    CLOSED,
    NIGHT,
    OPEN,
    OTHER_SID,
    OTHER_TOKEN,
    PAUSED,
    PROFILE,
    Q_CHOICE,
    Q_TEXT,
    Q_YES,
    SID,
    TOKEN,
    built,
    client,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def app(tmp_path):
    async with built(tmp_path / "data") as b:
        yield b


@pytest.fixture
async def api(app):
    async with client(app.app, auth=(SID, TOKEN)) as c:
        yield c


def ok(response) -> dict:
    body = response.json()
    assert (response.status_code, body["head"]["status"]) == (200, 200), response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return body["data"]


def failed(response, status: int, error_id: str) -> dict:
    body = response.json()
    assert (response.status_code, body["head"]["status"], body["data"]["error_id"]) == (status, 500, error_id), \
        response.text
    assert body["head"]["message"]
    return body


async def start(api, number: str, option: str = OPEN, **fields) -> str:
    return ok(await api.post("/3.0/callback", data={"fc_number": number, "fc_option": option, **fields}))["sid"]


async def set_status(app, sid: str, **values) -> None:
    import uuid
    async with app.store.engine.begin() as conn:
        await conn.execute(update(callbacks).where(callbacks.c.id == str(uuid.UUID(sid[2:]))).values(**values))


READS = ["profiles", f"profile/{PROFILE}", f"profile/{PROFILE}/options", f"profile/{PROFILE}/option/{OPEN}",
         f"profile/{PROFILE}/option/{OPEN}/schedule", f"profile/{PROFILE}/scheduling",
         f"profile/{PROFILE}/questions", f"profile/{PROFILE}/question/{Q_TEXT}", "calls", "pending", "scheduled",
         "realtime", "optins", "timezones"]


@pytest.mark.parametrize("suffix", ["", ".json"])
@pytest.mark.parametrize("path", READS)
async def test_every_read_answers_the_envelope_with_and_without_json_suffix(api, path, suffix):
    ok(await api.get(f"/3.0/{path}{suffix}"))


async def test_profile_options_and_questions_in_fonolo_shapes(api):
    profile = ok(await api.get(f"/3.0/profile/{PROFILE}.json"))
    assert profile == {"sid": PROFILE, "name": "Support", "status": "active", "total_options": 4, "sms": True,
                       "pre_call_questions": True, "scheduled_callbacks": True, "timezone": "America/Toronto"}
    options = ok(await api.get(f"/3.0/profile/{PROFILE}/options"))
    assert [(o["sid"], o["order"], o["status"]) for o in options["options"]] == [
        (OPEN, 1, "active"), (PAUSED, 2, "paused"), (CLOSED, 3, "closed"), (NIGHT, 4, "active")]
    assert options["options"][3]["open_now"] is False
    questions = ok(await api.get(f"/3.0/profile/{PROFILE}/questions"))["questions"]
    assert [(q["sid"], q["type"], q["choices"]) for q in questions] == [
        (Q_TEXT, "number", []), (Q_CHOICE, "choice", ["a b", "c&d"]), (Q_YES, "choice", ["yes", "no"])]
    scheduling = ok(await api.get(f"/3.0/profile/{PROFILE}/scheduling"))
    assert (scheduling["offer_interval"], scheduling["max_scheduled"]) == ("30", 1)
    assert scheduling["entries"] == [{"status": "open", "day_of_week": [0, 1, 2, 3, 4, 5, 6],
                                      "start_time": ["00:00:00"], "end_time": ["24:00:00"]}]
    assert "America/Toronto" in ok(await api.get("/3.0/timezones"))["timezones"]


async def test_unknown_sids_are_404_in_the_envelope(api):
    failed(await api.get("/3.0/profile/CPnope"), 404, "profile_not_found")
    failed(await api.get(f"/3.0/profile/{PROFILE}/option/CO{'0' * 32}.json"), 404, "option_not_found")
    failed(await api.get(f"/3.0/profile/{PROFILE}/question/CQ{'0' * 32}"), 404, "question_not_found")
    failed(await api.get(f"/3.0/call/CA{'0' * 32}"), 404, "callback_not_found")
    failed(await api.get("/3.0/callback/garbage/status.json"), 404, "callback_not_found")
    failed(await api.get(f"/3.0/optin/OI{'0' * 32}"), 404, "optin_not_found")


async def test_unknown_paths_methods_and_xml_still_answer_the_envelope(api):
    failed(await api.get("/3.0/nothing-here"), 404, "unknown_resource")
    failed(await api.post("/3.0/callback//cancel"), 404, "unknown_resource")
    failed(await api.get("/3.0/callback"), 405, "method_not_allowed")
    failed(await api.delete("/3.0/profiles.json"), 405, "method_not_allowed")
    failed(await api.get("/3.0/profiles.xml"), 400, "xml_not_supported")
    failed(await api.get(f"/3.0/profile/{PROFILE}.xml"), 400, "xml_not_supported")


@pytest.mark.parametrize("auth", [None, (SID, "0" * 64), ("AC" + "0" * 32, TOKEN), (SID.lower(), TOKEN)])
async def test_bad_credentials_are_401_in_the_envelope(app, auth):
    async with client(app.app, auth=auth) as anonymous:
        response = await anonymous.get("/3.0/profiles.json")
    failed(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Basic realm="Fonolo API"'


@pytest.mark.parametrize("header", ["Basic !!!", "Basic " + "QUJD", "Bearer " + TOKEN])
async def test_garbled_authorization_is_401(app, header):
    async with client(app.app, headers={"Authorization": header}) as anonymous:
        failed(await anonymous.get("/3.0/profiles"), 401, "unauthorized")


async def test_unexpected_exception_is_a_500_envelope(app, api, monkeypatch):
    async def broken(client_id):
        raise RuntimeError("boom")
    monkeypatch.setattr(app.service.customers, "profiles", broken)
    failed(await api.get("/3.0/profiles"), 500, "internal_error")


async def test_start_status_call_and_lists(api):
    sid = await start(api, "14165550100", fc_sms="yes", **{f"fc_answers[{Q_TEXT}]": "42"})
    assert sid.startswith("CA") and len(sid) == 34
    status = ok(await api.get(f"/3.0/call/{sid}/status.json"))
    assert (status["sid"], status["status"], status["details"]) == (sid, "pending", "")
    assert status == ok(await api.get(f"/3.0/callback/{sid}/status"))
    call = ok(await api.get(f"/3.0/call/{sid}.json"))
    assert (call["number"], call["option_sid"], call["profile_sid"], call["sms"], call["answers"]) == (
        "14165550100", OPEN, PROFILE, True, {Q_TEXT: "42"})
    assert [c["sid"] for c in ok(await api.get("/3.0/pending"))["calls"]] == [sid]
    assert ok(await api.get("/3.0/scheduled"))["calls"] == []
    optins = ok(await api.get("/3.0/optins.json"))["optins"]
    assert [(o["call_sid"], o["status"]) for o in optins] == [(sid, "active")]
    assert ok(await api.get(f"/3.0/optin/{optins[0]['sid']}"))["number"] == "14165550100"


async def test_a_pending_callback_for_the_number_and_option_is_returned_as_is(api):
    first = await api.post("/3.0/callback", data={"fc_number": "14165550101", "fc_option": OPEN})
    again = await api.post("/3.0/callback.json", data={"fc_number": "14165550101", "fc_option": OPEN})
    assert ok(first) == ok(again)
    assert again.json()["head"]["message"] == "Call-back already pending."
    assert ok(await api.get("/3.0/calls"))["total"] == 1


@pytest.mark.parametrize("fields, status, error_id, field", [
    ({"fc_option": OPEN}, 400, "missing_fc_number", "fc_number"),
    ({"fc_number": "14165550100"}, 400, "missing_fc_option", "fc_option"),
    ({"fc_number": "call me", "fc_option": OPEN}, 400, "invalid_number", "fc_number"),
    ({"fc_number": "1416", "fc_option": "CO" + "0" * 32}, 404, "option_not_found", "fc_option"),
    ({"fc_number": "1416", "fc_option": PAUSED}, 409, "option_paused", "fc_option"),
    ({"fc_number": "1416", "fc_option": CLOSED}, 409, "option_closed", "fc_option"),
    ({"fc_number": "1416", "fc_option": OPEN, f"fc_answers[{Q_TEXT}]": "abc"}, 400, "invalid_answer",
     f"fc_answers[{Q_TEXT}]"),
    ({"fc_number": "1416", "fc_option": OPEN, "fc_answers[CQnope]": "x"}, 400, "unknown_question",
     "fc_answers[CQnope]"),
    ({"fc_number": "1416", "fc_option": OPEN, "fc_answers": "x"}, 400, "invalid_answers", "fc_answers"),
    ({"fc_number": "1416", "fc_option": OPEN, "fc_timezone": "Mars/Base"}, 400, "invalid_timezone", "fc_timezone"),
    ({"fc_number": "1416", "fc_option": OPEN, "fc_start_date": "tomorrow"}, 400, "invalid_fc_start_date",
     "fc_start_date"),
    ({"fc_number": "1416", "fc_option": OPEN, "fc_start_date": "2001-01-01 10:00:00"}, 400, "slot_in_past",
     "fc_start_date"),
])
async def test_refused_starts_say_why_and_store_nothing(api, fields, status, error_id, field):
    body = failed(await api.post("/3.0/callback", data=fields), status, error_id)
    assert body["data"]["field"] == field
    assert body["head"]["message"].startswith("Unable to start call-back")
    assert ok(await api.get("/3.0/calls"))["total"] == 0


async def test_multiple_answers_to_one_question_are_refused(api):
    body = "fc_number=1416&fc_option=" + OPEN + f"&fc_answers%5B{Q_CHOICE}%5D=a+b&fc_answers%5B{Q_CHOICE}%5D=c%26d"
    failed(await api.post("/3.0/callback", content=body, headers=FORM), 400, "invalid_answer")


@pytest.mark.parametrize("body", [
    "fc_number=1001&fc_option={O}&fc_answers%5B{Q}%5D=c%26d&fc_answers%5B{Y}%5D=YES",            # python, PHP
    "fc_number=1002&fc_option={O}&fc_answers%5B{Q}%5D%5B0%5D=c%26d&fc_answers%5B{Y}%5D=yes",      # node array
    "fc_number=1003&fc_option={O}&fc_answers%5B{Q}%5D%5B%5D=c%26d&fc_answers%5B{Y}%5D=Yes&x=1",   # brackets
])
async def test_answers_arrive_the_same_in_every_dialect(api, body):
    sid = ok(await api.post("/3.0/callback", content=body.format(O=OPEN, Q=Q_CHOICE, Y=Q_YES), headers=FORM))["sid"]
    assert ok(await api.get(f"/3.0/call/{sid}"))["answers"] == {Q_CHOICE: "c&d", Q_YES: "yes"}


async def test_spaces_decode_from_plus_and_percent_20(api):
    for number, space in (("2001", "+"), ("2002", "%20")):
        body = f"fc_number={number}&fc_option={OPEN}&fc_answers%5B{Q_CHOICE}%5D=a{space}b"
        sid = ok(await api.post("/3.0/callback", content=body, headers=FORM))["sid"]
        assert ok(await api.get(f"/3.0/call/{sid}"))["answers"] == {Q_CHOICE: "a b"}


async def test_a_scheduled_callback_takes_a_slot(api):
    schedule = ok(await api.get(f"/3.0/profile/{PROFILE}/option/{OPEN}/schedule.json"))["schedule"]
    slot = schedule[1]["start_time"]
    sid = await start(api, "14165550102", fc_start_date=slot)
    status = ok(await api.get(f"/3.0/callback/{sid}/status"))
    assert (status["status"], status["start_date"], status["duration"]) == ("scheduled", slot, 0)
    assert [c["sid"] for c in ok(await api.get("/3.0/scheduled.json"))["calls"]] == [sid]
    assert ok(await api.get("/3.0/pending"))["calls"] == []
    later = ok(await api.get(f"/3.0/profile/{PROFILE}/option/{OPEN}/schedule"))["schedule"]
    assert slot not in [s["start_time"] for s in later]   # per_slot 1: the slot is taken
    failed(await api.post("/3.0/callback", data={"fc_number": "14165550103", "fc_option": OPEN,
                                                 "fc_start_date": slot}), 400, "slot_full")


async def test_start_date_in_the_callers_time_zone(api):
    slot = ok(await api.get(f"/3.0/profile/{PROFILE}/option/{OPEN}/schedule"))["schedule"][2]["start_time"]
    from datetime import datetime
    from zoneinfo import ZoneInfo
    instant = datetime.strptime(slot, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo("America/Toronto"))
    in_paris = instant.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M:%S")
    sid = await start(api, "14165550104", fc_start_date=in_paris, fc_timezone="Europe/Paris")
    assert ok(await api.get(f"/3.0/call/{sid}"))["start_date"] == slot   # shown in the profile's zone


async def test_cancel_immediate_and_scheduled_idempotent_and_finished(app, api):
    now_sid = await start(api, "3001")
    later = ok(await api.get(f"/3.0/profile/{PROFILE}/option/{OPEN}/schedule"))["schedule"][3]["start_time"]
    later_sid = await start(api, "3002", fc_start_date=later)
    for sid in (now_sid, later_sid):
        assert ok(await api.post(f"/3.0/callback/{sid}/cancel.json")) == {"sid": sid, "status": "cancelled"}
        assert ok(await api.get(f"/3.0/callback/{sid}/status"))["status"] == "cancelled"
        assert ok(await api.post(f"/3.0/callback/{sid}/cancel", content=b"")) == {"sid": sid, "status": "cancelled"}
    done = await start(api, "3003")
    await set_status(app, done, status="completed", ended_at=time.time())
    body = failed(await api.post(f"/3.0/callback/{done}/cancel"), 409, "callback_finished")
    assert body["head"]["message"] == "Call-back already completed."


async def test_a_dialling_callback_is_realtime_and_calling(app, api):
    sid = await start(api, "4001")
    await set_status(app, sid, status="dialling")
    assert [(c["sid"], c["status"]) for c in ok(await api.get("/3.0/realtime"))["calls"]] == [(sid, "calling")]
    assert [c["sid"] for c in ok(await api.get("/3.0/calls", params={"status": "calling"}))["calls"]] == [sid]
    assert ok(await api.get("/3.0/calls", params={"status": "connected"}))["calls"] == []


async def test_calls_filters(api):
    first, second = await start(api, "5001"), await start(api, "5002")
    assert [c["sid"] for c in ok(await api.get("/3.0/calls.json"))["calls"]] == [second, first]
    assert [c["sid"] for c in ok(await api.get("/3.0/calls", params={"limit": "1", "offset": "1"}))["calls"]] == [first]
    assert ok(await api.get("/3.0/calls", params={"option": PAUSED}))["calls"] == []
    assert ok(await api.get("/3.0/calls", params={"profile": PROFILE, "option": OPEN}))["total"] == 2
    assert ok(await api.get("/3.0/calls", params={"start_date": "2999-01-01"}))["calls"] == []
    assert ok(await api.get("/3.0/calls", params={"end_date": "2000-01-01"}))["calls"] == []
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert ok(await api.get("/3.0/calls", params={"start_date": today, "end_date": today}))["total"] == 2
    assert ok(await api.get("/3.0/calls", params={"status": "pending", "ignored": "x"}))["total"] == 2
    failed(await api.get("/3.0/calls", params={"status": "lost"}), 400, "invalid_status")
    failed(await api.get("/3.0/calls", params={"start_date": "01/02/2024"}), 400, "invalid_start_date")
    failed(await api.get("/3.0/calls", params={"limit": "-1"}), 400, "invalid_limit")


async def test_a_callback_without_sms_has_no_optin(api):
    sid = await start(api, "6001")
    assert ok(await api.get("/3.0/optins"))["optins"] == []
    failed(await api.get(f"/3.0/optin/OI{sid[2:]}"), 404, "optin_not_found")


async def test_another_account_sees_nothing_of_this_one(app, api):
    sid = await start(api, "7001")
    async with client(app.app, auth=(OTHER_SID, OTHER_TOKEN)) as other:
        assert [p["name"] for p in ok(await other.get("/3.0/profiles"))["profiles"]] == ["Other"]
        failed(await other.get(f"/3.0/profile/{PROFILE}"), 404, "profile_not_found")
        failed(await other.get(f"/3.0/call/{sid}"), 404, "callback_not_found")
        failed(await other.post(f"/3.0/callback/{sid}/cancel"), 404, "callback_not_found")
        failed(await other.post("/3.0/callback", data={"fc_number": "7001", "fc_option": OPEN}), 404,
               "option_not_found")
        assert ok(await other.get("/3.0/calls"))["calls"] == []
    assert ok(await api.get(f"/3.0/callback/{sid}/status"))["status"] == "pending"
