"""Customer callbacks on the real Asterisk with a real Queue() (queues_test.conf: ``support`` has
the test-phone agents 1002 and 1003): both dial modes, waitlist order within capacity, retries,
schedules, refusals and cancels. Customers are test phones (docs/test-phones.md): 6NNS answers
and hangs up S seconds later, 3NNN is busy, 2NNN rings for ever."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timezone

import pytest
import yaml

from .helpers import finished, leg, view, wait_until
from .test_cli import _cli, _config, _free_port
from .test_restart import Server

ONCE = {"max_attempts": 1}
PROFILE = {
    "name": "e2e", "timezone": "UTC", "scheduling": True, "sms": True,
    "options": {
        "cf": {"name": "Customer first", "queue": "support", "capacity": 2, "announcement": ["sound:beep"],
               "retry": ONCE},
        "af": {"name": "Agent first", "queue": "support", "mode": "agent_first", "capacity": 2,
               "whisper": ["sound:beep"], "retry": ONCE},
        "one": {"name": "One at a time", "queue": "support", "capacity": 1, "retry": ONCE},
        "busy": {"name": "Busy retried", "queue": "support", "retry": {"max_attempts": 2, "backoff_seconds": [2]}},
        "shut": {"name": "Never open", "queue": "support", "hours": {"daily": "closed"}, "retry": ONCE},
        "paused": {"name": "Paused", "queue": "support", "status": "paused"},
        "closed": {"name": "Closed", "queue": "support", "status": "closed"},
        "sched": {"name": "Scheduled", "queue": "support", "slots": {"slot_minutes": 1, "min_notice_minutes": 0},
                  "retry": ONCE},
    },
    "questions": {"acct": {"text": "Account number?", "type": "number", "variable": "ACCOUNT"}},
}


@pytest.fixture(autouse=True)
async def profile(api):
    response = await api.put("/v1/profiles/E2E", json=PROFILE)
    assert response.status_code == 200, response.text
    yield
    await api.delete("/v1/profiles/E2E")


async def _ask(api, option: str, number: str, **body) -> dict:
    response = await api.post("/v1/customer-callbacks", json={"option": option, "number": number, **body})
    assert response.status_code == 201, response.text
    return response.json()


async def test_given_customer_first_then_the_customer_answers_hears_the_announcement_and_reaches_an_agent(
        api, observer):
    mark = observer.mark()
    asked = await _ask(api, "cf", "6004", answers={"acct": "4711"})
    record = await finished(api, asked["id"])
    assert (record["status"], record["status_detail"]) == ("completed", "answered"), record
    assert leg(record, "src")["number"] == "6004" and leg(record, "dst")["number"] == "support"
    assert leg(record, "dst")["answered_at"] is not None   # an agent picked up the queue leg
    agents = [r for r in observer.phone_reports(mark, "answered") if r.get("callback_id") == asked["id"]]
    assert {r["phone"] for r in agents} <= {"1002", "1003", "6004"} and len(agents) == 2


async def test_given_agent_first_then_an_agent_is_found_first_and_the_customer_is_called_after(api, observer):
    mark = observer.mark()
    asked = await _ask(api, "af", "6004")
    record = await finished(api, asked["id"])
    assert (record["status"], record["status_detail"]) == ("completed", "answered"), record
    agent, customer = leg(record, "src"), leg(record, "dst")
    assert (agent["number"], customer["number"]) == ("support", "6004")
    assert agent["answered_at"] < customer["created_at"]   # the customer rings only once an agent is there
    reports = [r for r in observer.phone_reports(mark, "answered") if r.get("callback_id") == asked["id"]]
    assert {r["phone"] for r in reports} - {"1002", "1003"} == {"6004"}


async def test_given_capacity_1_with_three_waiting_then_dialled_one_at_a_time_in_order(api):
    asked = [await _ask(api, "one", number) for number in ("6003", "6013", "6023")]
    second, third = asked[1], asked[2]
    assert second["position"] < third["position"] and second["estimated_wait"] < third["estimated_wait"]
    seen = []   # the last one's forecast while it waits, read through seed 003's callback_status
    while (entry := await _status(api, "6023"))["status"] == "queued":
        seen.append((int(entry["forecast_waitlist_position"]), int(entry["estimated_wait_time"])))
        await asyncio.sleep(0.2)
    positions = [p for p, _ in seen]
    assert positions == sorted(positions, reverse=True) and positions[0] >= 2 and positions[-1] == 1, seen
    records = [await finished(api, a["id"], timeout=60) for a in asked]
    assert all(r["status"] == "completed" for r in records), [r["status_detail"] for r in records]
    spans = [(r["attempts"][0]["created_at"], r["attempts"][0]["ended_at"]) for r in records]
    assert spans == sorted(spans)   # in waitlist order
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(2)), spans   # never two at once


async def _status(api, number: str) -> dict:
    response = await api.post("/api/organization/default/callback_status", json={"contact_number": number})
    assert response.status_code == 200, response.text
    return response.json()["data"][0]   # the newest of the number


async def test_given_a_busy_customer_then_retried_by_policy_and_each_attempt_recorded(api):
    asked = await _ask(api, "busy", "3001")
    record = await finished(api, asked["id"], timeout=30)
    attempts = record["attempts"]
    assert (record["status"], record["status_detail"], len(attempts)) == ("failed", "src_busy", 2), record
    assert all(a["status_detail"] == "src_busy" for a in attempts)
    gap = (datetime.fromisoformat(attempts[1]["created_at"]) - datetime.fromisoformat(attempts[0]["ended_at"]))
    assert gap.total_seconds() >= 2.0   # the backoff


async def test_given_a_scheduled_callback_then_it_fires_on_time(api):
    start = datetime.fromtimestamp(time.time() + 4, UTC).replace(microsecond=0)
    asked = await _ask(api, "sched", "6002", start_at=start.isoformat())
    assert asked["status"] == "scheduled"
    await asyncio.sleep(2)
    assert (await view(api, asked["id"]))["status"] == "scheduled"
    record = await finished(api, asked["id"], timeout=30)
    late = datetime.fromisoformat(record["attempts"][0]["created_at"]).timestamp() - start.timestamp()
    assert record["status"] == "completed" and 0 <= late < 2.0, (record["status"], late)


@pytest.mark.parametrize("option, error_id", [("paused", "option_paused"), ("closed", "option_closed")])
async def test_given_a_paused_or_closed_option_then_refused_and_nothing_dialled(api, observer, option, error_id):
    mark = observer.mark()
    response = await api.post("/v1/customer-callbacks", json={"option": option, "number": "1001"})
    assert (response.status_code, response.json()["error_id"]) == (409, error_id)
    await asyncio.sleep(1.0)
    assert observer.since(mark, "ChannelCreated") == []


async def test_given_callbacks_waiting_and_ringing_when_cancelled_then_cancelled_and_nothing_left(api):
    waiting = await _ask(api, "shut", "1001")   # its option never opens: it waits
    ringing = await _ask(api, "cf", "2001")     # rings for ever
    await wait_until(api, ringing["id"], lambda v: v["state"] == "calling_src")
    for asked in (waiting, ringing):
        response = await api.post(f"/v1/callbacks/{asked['id']}/cancel")
        assert response.status_code == 202, response.text
    records = [await finished(api, a["id"], timeout=10) for a in (waiting, ringing)]
    assert [r["status"] for r in records] == ["cancelled", "cancelled"]
    assert records[0]["attempts"] == []   # never dialled


async def test_given_a_pending_number_when_asked_again_then_the_same_callback(api):
    first = await _ask(api, "shut", "1001")
    again = await api.post("/v1/customer-callbacks", json={"option": "shut", "number": "1001"})
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    await api.post(f"/v1/callbacks/{first['id']}/cancel")


async def test_given_callbacks_waiting_when_the_app_is_killed_and_restarted_then_none_lost_none_twice(
        asterisk, observer, tmp_path):
    """Requests made with the CLI wait for an option that is not open; the server is SIGKILLed and
    started again; once the option opens, each is dialled exactly once."""
    port = _free_port()
    config = _config(asterisk, tmp_path, port)
    data = yaml.safe_load(config.read_text())
    shut = {**PROFILE, "options": {"later": {**PROFILE["options"]["cf"], "hours": {"daily": "closed"}}}}
    data["profiles"] = {"E2E-RESTART": {**shut, "client": "default"}}
    config.write_text(yaml.safe_dump(data))
    server = Server(config, port)
    await server.start()
    mark = observer.mark()
    try:
        ids = []
        for number in ("6002", "6012", "6022"):
            made = _cli(config, "callbacks", "request", "later", number, "--api-url", f"http://127.0.0.1:{port}")
            assert made.returncode == 0, made.stderr
            ids.append(made.stdout.split()[0])
        server.kill()
        await server.start()
        waiting = (await server.http.get("/v1/profiles/E2E-RESTART/options/later/waitlist")).json()
        assert [e["id"] for e in waiting] == ids and [e["status"] for e in waiting] == ["queued"] * 3
        opened = {**shut, "options": {"later": {**shut["options"]["later"], "hours": {"daily": "24h"}}}}
        assert (await server.http.put("/v1/profiles/E2E-RESTART", json=opened)).status_code == 200
        records = [await server.until(cid, lambda r: r["finished"], timeout=40) for cid in ids]
    finally:
        await server.stop()
    assert [r["status"] for r in records] == ["completed"] * 3
    assert all(len(r["attempts"]) == 1 for r in records)
    origins = [e.channel.id for e in observer.since(mark, "ChannelCreated") if e.channel.id.endswith("-src0")]
    assert sorted(origins) == sorted(f"cb-{r['attempts'][0]['id']}-src0" for r in records)   # once each


def _apology_of(event, channel_id: str) -> bool:
    raw = getattr(event, "raw", {})
    return (event.type == "ChannelDialplan" and raw.get("channel", {}).get("id") == channel_id
            and raw.get("dialplan_app") == "Playback")


async def test_given_the_app_killed_while_a_customer_rings_when_they_answer_then_an_apology_and_a_retry(
        asterisk, tmp_path, observer):
    """Issue 9 item 11: an origin that answers while no instance listens hears the origin
    context's apology instead of dead air, and the callback's retry policy rings it again."""
    port = _free_port()
    config = _config(asterisk, tmp_path, port)
    data = yaml.safe_load(config.read_text())
    retried = {**PROFILE["options"]["cf"], "retry": {"max_attempts": 2, "backoff_seconds": [1]}}
    data["profiles"] = {"E2E-APOLOGY": {**PROFILE, "options": {"retried": retried}, "client": "default"}}
    config.write_text(yaml.safe_dump(data))
    server = Server(config, port)
    await server.start()
    mark = observer.mark()
    try:
        made = await server.http.post("/v1/customer-callbacks", json={"option": "retried", "number": "4006"})
        assert made.status_code == 201, made.text
        callback_id = made.json()["id"]
        created = await observer.wait_for(lambda e: e.type == "ChannelCreated" and e.channel.id.endswith("-src0"),
                                          since=mark)
        server.kill()   # 4006 rings for 6 s: it answers while nobody listens
        first_origin = created.channel.id
        await observer.wait_for(lambda e: _apology_of(e, first_origin), timeout=15, since=mark)
        await observer.wait_for(lambda e: e.type == "ChannelDestroyed" and e.channel.id == first_origin,
                                timeout=10, since=mark)
        await server.start()
        record = await server.until(callback_id, lambda r: len(r["attempts"]) == 2
                                    and r["attempts"][1]["state"] == "connected", timeout=40)
        cancelled = await server.http.post(f"/v1/callbacks/{callback_id}/cancel")
        assert cancelled.status_code == 202, cancelled.text
        record = await server.until(callback_id, lambda r: r["finished"], timeout=20)
    finally:
        await server.stop()
    first, second = record["attempts"]
    assert (first["state"], first["status_detail"]) == ("failed", "src_unknown"), first
    assert f"cb-{first['id']}-src0" == first_origin
    assert second["state"] == "cancelled" and leg(second, "src")["answered_at"] is not None, second
