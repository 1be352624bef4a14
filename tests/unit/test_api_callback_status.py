"""Seed 003: POST /api/organization/{organization_id}/callback_status, in process, on a real
SQLite store and the real CustomerService."""

from __future__ import annotations

import time

import pytest

from tests.unit.fonolo_app import API_KEY, OPEN, OTHER_KEY, SID, TOKEN, built, client

URL = "/api/organization/acme/callback_status"


@pytest.fixture
async def app(tmp_path):
    async with built(tmp_path / "data") as b:
        yield b


@pytest.fixture
async def api(app):
    async with client(app.app, headers={"X-API-Key": API_KEY}) as c:
        yield c


async def request(app, number: str, **extra) -> str:
    accepted = await app.service.customers.request("acme", option_sid=OPEN, number=number, api="fonolo",
                                                   source="widget", **extra)
    return accepted.callback_id


def only(response) -> dict:
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert len(data) == 1, data
    return data[0]


async def test_three_waiting_on_a_capacity_one_option_are_1_2_3_with_growing_estimates(app, api):
    ids = [await request(app, number) for number in ("5550001", "5550002", "5550003")]
    found = [only(await api.post(URL, json={"contact_number": n})) for n in ("5550001", "5550002", "5550003")]
    assert [f["call_request_id"] for f in found] == ids
    assert [f["forecast_waitlist_position"] for f in found] == ["1", "2", "3"]
    waits = [int(f["estimated_wait_time"]) for f in found]
    estimates = [int(f["estimated_for"]) for f in found]
    assert waits[0] < waits[1] < waits[2] and estimates[0] < estimates[1] < estimates[2]
    first = found[0]
    assert (first["contact_uri"], first["callback_number"], first["type"], first["source"], first["call_target_id"],
            first["status"]) == ("tel:5550001", "5550001", "ASAP", "widget", OPEN, "queued")
    assert len(first["created_at"]) == 10 and abs(int(first["created_at"]) - time.time()) < 60
    assert len(first["estimated_for"]) == 10


async def test_a_scheduled_callback_is_scheduled_and_estimated_for_its_start(app, api):
    slot = (await app.service.customers.schedule("acme", "CP" + "1" * 32, OPEN))[2]
    await request(app, "5550010", start_at=slot.start)
    found = only(await api.post(URL, json={"contact_number": "tel:5550010"}))
    assert (found["type"], found["status"]) == ("SCHEDULED", "scheduled")
    assert int(found["estimated_for"]) >= int(slot.start)


async def test_after_the_waitlist_position_and_wait_are_zero(app, api):
    callback_id = await request(app, "5550020")
    await app.service.cancel(callback_id, "acme")
    found = only(await api.post(URL, data={"contact_number": "5550020"}))   # a form body too
    assert (found["status"], found["forecast_waitlist_position"], found["estimated_wait_time"],
            found["estimated_for"]) == ("cancelled", "0", "0", "")


async def test_an_unknown_number_has_no_callbacks(api):
    response = await api.post(URL, json={"contact_number": "5559999"})
    assert (response.status_code, response.json()) == (200, {"data": []})


async def test_bearer_key_works_and_no_key_is_401(app):
    async with client(app.app, headers={"Authorization": f"Bearer {API_KEY}"}) as bearer:
        assert (await bearer.post(URL, json={"contact_number": "1"})).status_code == 200
    async with client(app.app, auth=(SID, TOKEN)) as basic:
        response = await basic.post(URL, json={"contact_number": "1"})
    assert (response.status_code, response.json()["error_id"]) == (401, "unauthorized")


async def test_another_organization_is_not_found_and_never_shows_its_callbacks(app, api):
    await request(app, "5550030")
    response = await api.post("/api/organization/other/callback_status", json={"contact_number": "5550030"})
    assert (response.status_code, response.json()["error_id"]) == (404, "organization_not_found")
    async with client(app.app, headers={"X-API-Key": OTHER_KEY}) as other:
        theirs = await other.post("/api/organization/other/callback_status", json={"contact_number": "5550030"})
        mine = await other.post(URL, json={"contact_number": "5550030"})
    assert (theirs.status_code, theirs.json()) == (200, {"data": []})
    assert (mine.status_code, mine.json()["error_id"]) == (404, "organization_not_found")


@pytest.mark.parametrize("kwargs, status, error_id", [
    ({"json": {}}, 422, "missing_contact_number"),
    ({"json": {"contact_number": ""}}, 422, "missing_contact_number"),
    ({"json": {"contact_number": "call me"}}, 422, "invalid_contact_number"),
    ({"json": {"contact_number": 5550001}}, 422, "invalid_contact_number"),
    ({"json": ["5550001"]}, 422, "invalid_body"),
    ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "malformed_json"),
    ({"data": {"number": "5550001"}}, 422, "missing_contact_number"),
])
async def test_bad_bodies_have_stable_error_ids(api, kwargs, status, error_id):
    response = await api.post(URL, **kwargs)
    assert (response.status_code, response.json()["error_id"]) == (status, error_id)
    assert response.json()["message"]
