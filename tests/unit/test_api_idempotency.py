"""``Idempotency-Key`` in every API shape that starts a call, in-process on a real SQLite store:
the same key and body get the first answer and start nothing more; another body is a 409
in the shape's envelope; keys are per client; concurrent repeats start one callback; answers
that say "try again" are not kept."""

from __future__ import annotations

import asyncio
import json

import pytest

from .fonolo_app import API_KEY, OPEN, OTHER_KEY, OTHER_OPTION, SID, TOKEN, client
from .test_api_hardening import GOOD, KEY, PBX, VOICE, hardened

JSON = {"Content-Type": "application/json"}
# (path, body, another body, how the route is called)
SHAPES = {
    "native": ("/v1/callbacks", GOOD, {**GOOD, "dst": "1003"}),
    "customer": ("/v1/customer-callbacks", {"option": OPEN, "number": "14165550100"},
                 {"option": OPEN, "number": "14165550101"}),
    "pbx": ("/extension/100/callback/", PBX, {**PBX, "dst_num": "1003"}),
    "pbx-variable": ("/extension/@{EXT}/callback/", PBX, {**PBX, "src_num": ["1004"]}),
    "voice": ("/voice/call/callback", VOICE, {**VOICE, "mode": "simultaneous"}),
    "fonolo": ("/3.0/callback", {"fc_number": "14165550100", "fc_option": OPEN},
               {"fc_number": "14165550101", "fc_option": OPEN}),
    "fonolo-json": ("/3.0/callback.json", {"fc_number": "14165550100", "fc_option": OPEN},
                    {"fc_number": "14165550100", "fc_option": OPEN, "fc_sms": "1"}),
}


@pytest.fixture
async def built(tmp_path):
    async with hardened(tmp_path / "data") as found:
        yield found


def _api(built, shape: str, **headers):
    if shape.startswith("fonolo"):
        return client(built.app, auth=(SID, TOKEN), headers=headers)
    return client(built.app, headers={**KEY, **headers})


async def _post(api, shape: str, body: dict):
    path = SHAPES[shape][0]
    if shape.startswith("fonolo"):
        return await api.post(path, data=body)
    return await api.post(path, json=body)


def _error_id(shape: str, response) -> str:
    body = response.json()
    return body["data"]["error_id"] if shape.startswith("fonolo") else body["error_id"]


async def _stored(built) -> int:
    return len(await built.store.list_recent(limit=10000))


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_given_the_same_key_and_body_then_the_first_answer_and_one_callback(built, shape):
    _, body, other = SHAPES[shape]
    async with _api(built, shape, **{"Idempotency-Key": "order-1"}) as api:
        first = await _post(api, shape, body)
        again = await _post(api, shape, body)
        reused = await _post(api, shape, other)
    assert first.status_code in (200, 201), first.text
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers.get("location") == first.headers.get("location")
    assert (reused.status_code, _error_id(shape, reused)) == (409, "idempotency_key_reused"), reused.text
    if shape.startswith("fonolo"):
        assert reused.json()["head"]["status"] == 500   # Fonolo's envelope, as every /3.0/ failure
    assert await _stored(built) == 1


async def test_given_json_spelled_differently_then_the_same_request(built):
    async with _api(built, "native", **{"Idempotency-Key": "k"}) as api:
        first = await api.post("/v1/callbacks", content=json.dumps(GOOD), headers=JSON)
        again = await api.post("/v1/callbacks", content=json.dumps(dict(reversed(GOOD.items())), indent=2),
                               headers=JSON)
    assert (again.status_code, again.json()) == (201, first.json())
    assert await _stored(built) == 1


async def test_given_no_key_then_each_post_starts_its_own_callback(built):
    async with _api(built, "native") as api:
        ids = {(await api.post("/v1/callbacks", json=GOOD)).json()["id"] for _ in range(3)}
    assert len(ids) == 3


async def test_given_two_clients_with_one_key_then_each_runs_its_own(built):
    async with client(built.app, headers={"X-API-Key": API_KEY, "Idempotency-Key": "same"}) as acme, \
            client(built.app, headers={"X-API-Key": OTHER_KEY, "Idempotency-Key": "same"}) as other:
        mine = await acme.post("/v1/callbacks", json=GOOD)
        theirs = await other.post("/v1/customer-callbacks", json={"option": OTHER_OPTION, "number": "14165550100"})
    assert (mine.status_code, theirs.status_code) == (201, 201), theirs.text
    assert await _stored(built) == 2


@pytest.mark.parametrize("shape", ["native", "pbx", "voice", "fonolo"])
async def test_given_30_concurrent_identical_requests_then_one_callback_and_one_answer(built, shape):
    _, body, _ = SHAPES[shape]
    async with _api(built, shape, **{"Idempotency-Key": "burst"}) as api:
        answers = await asyncio.gather(*(_post(api, shape, body) for _ in range(30)))
    assert {(a.status_code, a.content) for a in answers} == {(answers[0].status_code, answers[0].content)}
    assert answers[0].status_code in (200, 201)
    assert await _stored(built) == 1


async def test_given_a_429_then_it_is_not_kept_and_a_retry_runs(tmp_path):
    async with hardened(tmp_path / "data", max_concurrent_calls=1) as built, \
            client(built.app, headers=KEY) as api:
        busy = await api.post("/v1/callbacks", json=GOOD)
        refused = await api.post("/v1/callbacks", json=GOOD, headers={"Idempotency-Key": "retry-me"})
        await api.post(f"/v1/callbacks/{busy.json()['id']}/cancel")
        retried = await api.post("/v1/callbacks", json=GOOD, headers={"Idempotency-Key": "retry-me"})
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "5")
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers


async def test_given_a_4xx_then_it_is_the_first_answer_too(built):
    async with _api(built, "native", **{"Idempotency-Key": "bad"}) as api:
        first = await api.post("/v1/callbacks", json={**GOOD, "dst": "x"})
        again = await api.post("/v1/callbacks", json={**GOOD, "dst": "x"})
    assert (first.status_code, again.status_code) == (422, 422)
    assert again.headers["idempotent-replayed"] == "true"


async def test_given_a_request_still_running_then_a_repeat_waits_for_its_answer(built, monkeypatch):
    entered, release = asyncio.Event(), asyncio.Event()
    create = built.service.create

    async def slow(*args, **kwargs):
        entered.set()
        await release.wait()
        return await create(*args, **kwargs)

    monkeypatch.setattr(built.service, "create", slow)
    built.app.state.http_settings.idempotency.wait_seconds = 0.3
    async with _api(built, "native", **{"Idempotency-Key": "slow"}) as api:
        first = asyncio.ensure_future(api.post("/v1/callbacks", json=GOOD))
        await asyncio.wait_for(entered.wait(), 5)   # the first one owns the key and is running
        busy = await api.post("/v1/callbacks", json=GOOD)   # gives up after wait_seconds
        built.app.state.http_settings.idempotency.wait_seconds = 5.0
        waiting = asyncio.ensure_future(api.post("/v1/callbacks", json=GOOD))
        await asyncio.sleep(0.1)
        release.set()
        done, later = await first, await waiting
    assert (busy.status_code, busy.json()["error_id"], busy.headers["retry-after"]) == (
        409, "idempotency_in_progress", "1")
    assert (later.status_code, later.json()) == (done.status_code, done.json()) and done.status_code == 201
    assert await _stored(built) == 1


async def test_given_an_exception_then_the_key_is_released(built, monkeypatch):
    create = built.service.create

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    async with _api(built, "native", **{"Idempotency-Key": "k"}) as api:
        monkeypatch.setattr(built.service, "create", broken)
        failed = await api.post("/v1/callbacks", json=GOOD)
        monkeypatch.setattr(built.service, "create", create)
        retried = await api.post("/v1/callbacks", json=GOOD)
    assert (failed.status_code, failed.json()["error_id"]) == (500, "internal_error")
    assert retried.status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9"])
async def test_given_a_bad_key_then_400_invalid_idempotency_key(built, key):
    async with _api(built, "native") as api:
        response = await api.post("/v1/callbacks", json=GOOD, headers={"Idempotency-Key": key.encode("utf-8")})
    assert (response.status_code, response.json()["error_id"]) == (400, "invalid_idempotency_key")
    assert await _stored(built) == 0


async def test_given_the_openapi_then_the_header_is_documented_on_each_call_starting_post(built):
    async with _api(built, "native") as api:
        spec = (await api.get("/openapi.json")).json()
    for path in ("/v1/callbacks", "/v1/customer-callbacks", "/extension/{extension_id}/callback/",
                 "/voice/call/callback", "/3.0/callback"):
        names = [p["name"] for p in spec["paths"][path]["post"].get("parameters", [])]
        assert "Idempotency-Key" in names, path


@pytest.mark.parametrize("shape", ["native", "customer", "pbx", "voice", "fonolo"])
async def test_given_a_server_dead_before_storing_its_answer_then_a_retry_answers_with_its_callback(
        built, shape, monkeypatch):
    """The window between storing a callback and storing its idempotent answer: the first
    request's answer is lost (as when its server dies there), the key stays "in progress", and a
    retry after the lock time runs the request again: it finds the first callback, starts none."""
    async def lost(*args, **kwargs):
        raise OSError("the server died here")

    monkeypatch.setattr(built.store, "idempotency_finish", lost)
    built.app.state.http_settings.idempotency.lock_seconds = 0.2
    built.app.state.http_settings.idempotency.wait_seconds = 1.0
    _, body, _ = SHAPES[shape]
    async with _api(built, shape, **{"Idempotency-Key": "order-7"}) as api:
        first = await _post(api, shape, body)
        await asyncio.sleep(0.3)   # past the lock: the key is taken over
        retried = await _post(api, shape, body)
    made = [view.id for view in await built.store.list_recent(limit=100)]
    assert first.status_code in (200, 201) and retried.status_code == first.status_code, retried.text
    shown = made[0].replace("-", "") if shape == "fonolo" else made[0]   # Fonolo's sids are CA + hex
    assert len(made) == 1 and shown in first.text and shown in retried.text
    assert "idempotent-replayed" not in retried.headers   # run again, not replayed


async def test_given_a_retry_refused_for_a_passing_reason_then_the_next_finds_the_first_callback(built, monkeypatch):
    """The first request's answer is lost; its retry comes while Asterisk is away (a 503 that is
    not kept); neither that retry nor the next starts a second callback."""
    finish = built.store.idempotency_finish

    async def lost(*args, **kwargs):
        raise OSError("the server died here")

    built.app.state.http_settings.idempotency.lock_seconds = 0.2
    async with _api(built, "native", **{"Idempotency-Key": "order-9"}) as api:
        monkeypatch.setattr(built.store, "idempotency_finish", lost)
        first = await api.post("/v1/callbacks", json=GOOD)
        monkeypatch.setattr(built.store, "idempotency_finish", finish)
        await asyncio.sleep(0.3)
        monkeypatch.setattr(built.service.engine, "ready", lambda: False)
        during = await api.post("/v1/callbacks", json=GOOD)
        monkeypatch.undo()
        after = await api.post("/v1/callbacks", json=GOOD)
    made = [view.id for view in await built.store.list_recent(limit=100)]
    assert len(made) == 1 and first.json()["id"] == made[0]
    assert (during.status_code, during.json()["id"]) == (201, made[0])   # found before Asterisk is asked about
    assert (after.status_code, after.json()["id"]) == (201, made[0])
