"""The native customer-callback API on a real store (SQLite), in-process, without Asterisk:
profiles, requests with their checks, duplicates, waitlist positions, schedules."""

from __future__ import annotations

import asyncio
import itertools
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timezone

import httpx
import pytest

from ari_callback.api.app import create_app
from ari_callback.callbacks import CallbackService
from ari_callback.config import Settings
from ari_callback.customers import CustomerService
from ari_callback.store import CallbackStore

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC).timestamp()   # a Monday, 10:00 in Toronto
PROFILE = {"name": "Support", "sms": True, "scheduling": True, "timezone": "America/Toronto",
           "options": {"sales": {"name": "Sales", "queue": "sales", "capacity": 1,
                                 "hours": {"mon-fri": "09:00-17:00"}, "slots": {"slot_minutes": 30}},
                       "later": {"name": "Later", "queue": "later", "status": "closed", "position": 1}},
           "questions": {"acct": {"text": "Account?", "type": "number", "required": True}}}


class Engine:
    connected = asyncio.Event()
    active_calls = 0

    def ready(self):
        return True

    def cancel(self, callback_id, reason="cancelled"):
        return False


class Dispatcher:
    pokes = 0

    def poke(self):
        self.pokes += 1


@pytest.fixture
async def api(tmp_path):
    settings = Settings(api_key="k", dialing={"trunks": {"t": {"dial": "Local/{number}@p"}},
                                              "routes": [{"match": r"\d+", "trunk": "t"}]})
    store = await CallbackStore.open(f"sqlite+aiosqlite:///{tmp_path}/c.db")
    dispatcher = Dispatcher()
    ticks = itertools.count()
    clock = lambda: NOW + next(ticks) / 1000   # noqa: E731  (a millisecond a look: requests keep their order)
    service = CallbackService(settings, store, Engine(), dispatcher, clock=clock)
    service.customers = CustomerService(settings, store, poke=dispatcher.poke, clock=clock)

    @asynccontextmanager
    async def running(_settings):
        yield service

    app = create_app(settings, running)
    app.state.service = service
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app",
                                 headers={"X-API-Key": "k"}) as client:
        created = await client.put("/v1/profiles/P1", json=PROFILE)
        assert created.status_code == 200, created.text
        client.dispatcher = dispatcher   # type: ignore[attr-defined]
        yield client
    await store.close()


async def _ask(api, number: str, **body) -> httpx.Response:
    return await api.post("/v1/customer-callbacks", json={"option": "sales", "number": number,
                                                          "answers": {"acct": "42"}, **body})


async def test_given_three_requests_on_a_capacity_1_option_then_positions_and_estimates_grow(api):
    ids = []
    for number in ("5551001", "5551002", "5551003"):
        response = await _ask(api, number)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    waitlist = (await api.get("/v1/profiles/P1/options/sales/waitlist")).json()
    assert [e["id"] for e in waitlist] == ids
    assert [e["position"] for e in waitlist] == [1, 2, 3]
    waits = [e["estimated_wait"] for e in waitlist]
    assert waits[0] == 0 and waits[0] < waits[1] < waits[2]
    assert api.dispatcher.pokes == 3
    mine = (await api.get("/v1/customer-callbacks", params={"number": "5551002"})).json()
    assert [(e["id"], e["position"]) for e in mine] == [(ids[1], 2)]


async def test_given_a_pending_request_when_asked_again_then_200_with_the_same_callback(api):
    first = await _ask(api, "5551001")
    again = await _ask(api, "5551001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False


@pytest.mark.parametrize("body, status, error_id", [
    ({"option": "later"}, 409, "option_closed"),
    ({"option": "nope"}, 404, "option_not_found"),
    ({"answers": {}}, 422, "answer_required"),
    ({"answers": {"acct": "x1"}}, 422, "invalid_answer"),
    ({"answers": {"acct": "1", "zz": "1"}}, 422, "unknown_question"),
    ({"number": "55-51"}, 422, "invalid_number"),
    ({"timezone": "Mars/Olympus"}, 422, "invalid_timezone"),
    ({"start_at": "2026-12-07T23:00:00-05:00"}, 422, "slot_closed"),
    ({"start_at": "2026-12-07T09:00:00"}, 422, "invalid_start_at"),
])
async def test_given_bad_requests_then_a_clear_error_and_nothing_stored(api, body, status, error_id):
    response = await _ask(api, body.pop("number", "5551001"), **body)
    assert (response.status_code, response.json()["error_id"]) == (status, error_id), response.text
    assert (await api.get("/v1/customer-callbacks", params={"number": "5551001"})).json() == []


async def test_given_a_slot_when_booked_then_scheduled_for_it_and_the_slot_fills(api):
    slots = (await api.get("/v1/profiles/P1/options/sales/schedule")).json()
    first = slots[0]
    assert first["available"] == 1 and first["start"] >= "2026-12-07T15:10"   # ten minutes' notice
    booked = await _ask(api, "5551001", start_at=first["start"])
    assert booked.status_code == 201, booked.text
    assert booked.json()["status"] == "scheduled" and booked.json()["due_at"] == first["start"]
    full = await _ask(api, "5551002", start_at=first["start"])
    assert (full.status_code, full.json()["error_id"]) == (422, "slot_full")
    assert (await api.get("/v1/profiles/P1/options/sales/schedule")).json()[0]["available"] == 0


async def test_given_an_option_paused_then_requests_are_refused_until_it_is_reopened(api):
    paused = await api.put("/v1/options/sales/status", json={"status": "paused"})
    assert paused.status_code == 200
    refused = await _ask(api, "5551001")
    assert (refused.status_code, refused.json()["error_id"]) == (409, "option_paused")
    await api.put("/v1/options/sales/status", json={"status": "active"})
    assert (await _ask(api, "5551001")).status_code == 201


async def test_given_profiles_then_listed_read_replaced_and_deleted(api):
    listed = (await api.get("/v1/profiles")).json()
    assert [p["sid"] for p in listed] == ["P1"] and set(listed[0]["options"]) == {"sales", "later"}
    bad = await api.put("/v1/profiles/P2", json={**PROFILE, "options": {"x": {"name": "X", "queue": "x",
                                                                            "hours": {"mon": "9-5"}}}})
    assert bad.status_code == 422 and "hours" in bad.text
    assert (await api.delete("/v1/profiles/P1")).status_code == 204
    assert (await api.get("/v1/profiles/P1")).json()["error_id"] == "profile_not_found"


async def test_given_an_option_sid_of_another_profile_when_a_profile_is_put_then_409_not_500(api):
    clash = await api.put("/v1/profiles/P2", json={"name": "Two", "options": {"sales": {"name": "S", "queue": "s"}}})
    assert (clash.status_code, clash.json()["error_id"]) == (409, "sid_taken")
    assert (await api.get("/v1/profiles/P2")).status_code == 404
