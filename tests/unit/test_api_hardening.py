"""The defects found from outside (issue 13), each fixed: bad bodies are clean 4xx with stable
ids in each shape's envelope, an unexpected error is a 500 ``internal_error`` (never plain
text), bodies are bounded and keys checked before they are read, /health tells no secrets and
notices an unwritable store, a 429 says when to retry, and the surprising acceptances are
decided. In-process apps on a real SQLite store (tests/unit/fonolo_app.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from ari_callback.api.app import create_app
from ari_callback.api.guard import DRAIN_BYTES
from ari_callback.api.health import StoreCheck
from ari_callback.callbacks import CallbackService
from ari_callback.config import ExtensionSettings
from ari_callback.customers import CustomerService
from ari_callback.store import CallbackStore

from . import fonolo_app
from .fonolo_app import API_KEY, OPEN, OTHER_KEY, SID, TOKEN, Built, Dispatcher, Engine, client

KEY = {"X-API-Key": API_KEY}
DRAIN_CHUNKS = DRAIN_BYTES // 65536 + 1   # of 200 MB: 3200 chunks
GOOD = {"src": ["1001"], "dst": "1002"}
PBX = {"src_num": ["1001"], "dst_num": "1002"}
VOICE = {"leg_A": {"to": "1001"}, "leg_B": {"to": "1002"}}


@asynccontextmanager
async def hardened(data_dir: Path, *, url: str | None = None, seed: bool = True,
                   **client_overrides) -> AsyncIterator[Built]:
    """fonolo_app's app, with an extension (seed 002) and a client variable, and ``url`` for the store."""
    s = fonolo_app.settings(data_dir)
    s.clients["acme"].extensions["100"] = ExtensionSettings(number="100", name="Desk")
    s.clients["acme"].variables["EXT"] = "100"
    for name, value in client_overrides.items():
        setattr(s.clients["acme"], name, value)
    data_dir.mkdir(parents=True, exist_ok=True)
    await fonolo_app._migrated_copy(data_dir, s.db_url)
    store = await CallbackStore.open(url or s.db_url)
    dispatcher = Dispatcher()
    service = CallbackService(s, store, Engine(), dispatcher)
    service.customers = CustomerService(s, store, poke=dispatcher.poke)
    if seed:
        await service.customers.seed_from_config()

    @asynccontextmanager
    async def running(_settings):
        yield service

    app = create_app(s, running)
    app.state.service = service
    app.state.store_check = StoreCheck(every=0)
    try:
        yield Built(app, service, store)
    finally:
        await store.close()


@pytest.fixture
async def built(tmp_path):
    async with hardened(tmp_path / "data") as found:
        yield found


@pytest.fixture
async def api(built):
    async with client(built.app, headers=KEY) as c:
        yield c


def nested(levels: int, leaf: object = "x") -> object:
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def deep_object(levels: int) -> str:
    return '{"a":' * levels + '"x"' + "}" * levels


async def _stored(built) -> int:
    return len(await built.store.list_recent(limit=10000))


# ----------------------------------------------------------------------- 1. bad bodies
@pytest.mark.parametrize("body", [
    json.dumps({**PBX, "variables": json.loads(deep_object(600))}),
    json.dumps({**PBX, "src_num": nested(600)}),
    json.dumps({**PBX, "variables": json.loads(deep_object(600).replace('"x"', '"$cv(EXT)"'))}),
    '{"src_num": ' + "[" * 990 + '"1001"' + "]" * 990 + ', "dst_num": "1002"}',
    '{"variables": ' + deep_object(10_000) + "}",
    "[" * 30_000,
], ids=["variables-600", "src_num-600", "cv-600", "src_num-990", "10000", "unclosed-30000"])
async def test_given_deep_nesting_on_the_pbx_route_then_422_too_deep_and_nothing_stored(built, api, body):
    response = await api.post("/extension/100/callback/", content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error_id"]) == (422, "too_deep"), response.text
    assert await _stored(built) == 0


@pytest.mark.parametrize("body, status, error_id", [
    (b'{"src": ["1001"], "dst": "1002", "caller_id_name": "\xff\xfe"}', 400, "malformed_json"),   # not UTF-8
    (json.dumps(GOOD).encode("utf-16"), 400, "malformed_json"),
    (json.dumps(GOOD).encode("utf-16-le"), 400, "malformed_json"),
    (json.dumps(GOOD).encode("utf-32"), 400, "malformed_json"),
    (b'{"src": ["1001"], "dst": "1002", "wait_for_pickup": NaN}', 400, "malformed_json"),
    (b'{"src": ["1001"], "dst": "1002", "call_duration": Infinity}', 400, "malformed_json"),
    (b'{"src": ["1001"], "dst": "1002", "call_duration": ' + b"9" * 5000 + b"}", 400, "malformed_json"),
    (b'{"src": ["1001"], "dst": "1002"', 400, "malformed_json"),
    (b'{"src": ["1001"], "dst": "1002", "dst": "666"}', 422, "duplicate_key"),
    (b'{"src": ["1001"], "dst": "1002", "variables": {"a": "1", "a": "2"}}', 422, "duplicate_key"),
], ids=["invalid-utf8", "utf16-bom", "utf16-le", "utf32", "nan", "infinity", "huge-int", "truncated",
        "duplicate-dst", "duplicate-variable"])
@pytest.mark.parametrize("path", ["/v1/callbacks", "/extension/100/callback/", "/voice/call/callback"])
async def test_given_bodies_json_does_not_allow_then_a_clean_4xx_in_every_shape(built, api, body, status,
                                                                                   error_id, path):
    if path == "/extension/100/callback/":   # the same defect in each shape's own field names
        body = body.replace(b'"src": ["1001"], "dst": "1002"', b'"src_num": ["1001"], "dst_num": "1002"')
        body = body.replace(b'"dst": "666"', b'"dst_num": "666"')
    elif path == "/voice/call/callback":
        body = body.replace(b'"src": ["1001"], "dst": "1002"', b'"leg_A": {"to": "1001"}, "leg_B": {"to": "1002"}')
        body = body.replace(b'"dst": "666"', b'"leg_B": {"to": "666"}')
    response = await api.post(path, content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error_id"]) == (status, error_id), response.text
    assert response.json()["message"]
    assert await _stored(built) == 0


async def test_given_a_body_with_a_bom_then_it_is_read_as_utf_8(api):
    response = await api.post("/v1/callbacks", content=b"\xef\xbb\xbf" + json.dumps(GOOD).encode(),
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text


async def test_given_deep_json_in_seed_003_and_fonolo_then_their_own_envelopes(built):
    async with client(built.app, headers=KEY) as api:
        status = await api.post("/api/organization/acme/callback_status", content=deep_object(5000),
                                headers={"Content-Type": "text/plain"})   # parsed as JSON whatever it says
        assert (status.status_code, status.json()["error_id"]) == (422, "too_deep")
    async with client(built.app, auth=(SID, TOKEN)) as fonolo:
        deep = await fonolo.post("/3.0/callback", content=deep_object(5000),
                                 headers={"Content-Type": "application/json"})
    assert deep.status_code == 400   # the contract's 400 for bad parameters
    assert deep.json()["head"]["status"] == 500 and deep.json()["data"]["error_id"] == "too_deep"


async def test_given_an_unexpected_exception_then_500_internal_error_in_each_shape_and_logged(built, caplog,
                                                                                             monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(built.service, "create", broken)
    monkeypatch.setattr(built.store, "idempotency_claim", broken)
    caplog.set_level(logging.ERROR, "ari_callback.api")
    async with client(built.app, headers=KEY) as api:
        native = await api.post("/v1/callbacks", json=GOOD)
        pbx = await api.post("/extension/100/callback/", json=PBX)
    async with client(built.app, auth=(SID, TOKEN), headers={"Idempotency-Key": "k"}) as fonolo:
        enveloped = await fonolo.post("/3.0/callback", data={"fc_number": "14165550100", "fc_option": OPEN})
    for response in (native, pbx):
        assert response.headers["content-type"] == "application/json"
        assert (response.status_code, response.json()["error_id"]) == (500, "internal_error")
    assert enveloped.status_code == 500
    assert enveloped.json() == {"head": {"status": 500, "message": "An unexpected error; it was logged."},
                                "data": {"error_id": "internal_error"}}
    logged = [r for r in caplog.records if r.exc_info and "a bug" in str(r.exc_info[1])]
    assert len(logged) == 3 and "Traceback" in caplog.text


# --------------------------------------------------------------------------- 2. sizes
class Stream:
    """A request body of ``total`` bytes in 64 KiB chunks, counting what the server pulled."""

    def __init__(self, total: int, chunk: int = 65536):
        self.total, self.chunk, self.pulled = total, chunk, 0

    async def __aiter__(self):
        while self.pulled * self.chunk < self.total:
            self.pulled += 1
            yield b"[" * self.chunk


async def test_given_a_200_mb_body_without_a_key_then_401_and_at_most_the_drain_is_read(built):
    """The key is checked before the body is read; after the 401 the guard drops what the client
    still sends for a moment (guard.drain), so it reads its answer rather than a reset."""
    async with client(built.app) as anonymous:
        body = Stream(200 * 1024 * 1024)
        started = time.monotonic()
        response = await anonymous.post("/v1/callbacks", content=body)
        took = time.monotonic() - started
        declared = await anonymous.post("/extension/100/callback/", content=b"{" * 1_000_000)
        malformed = await anonymous.post("/voice/call/callback", content=b"{nope",
                                         headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error_id"]) == (401, "unauthorized")
    assert body.pulled <= DRAIN_CHUNKS and took < 1.5
    assert (declared.status_code, declared.json()["error_id"]) == (401, "unauthorized")
    assert (malformed.status_code, malformed.json()["error_id"]) == (401, "unauthorized")


async def test_given_a_body_over_the_limit_with_a_key_then_413_having_read_no_more_than_the_limit(built, api):
    streamed = Stream(200 * 1024 * 1024)
    response = await api.post("/v1/callbacks", content=streamed)   # chunked: no Content-Length
    declared = await api.post("/v1/callbacks", content=b" " * (65536 + 1), headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error_id"]) == (413, "request_too_large")
    assert streamed.pulled <= 2 + DRAIN_CHUNKS   # 64 KiB: the second chunk passes it; then the drain
    assert (declared.status_code, declared.json()["error_id"]) == (413, "request_too_large")
    async with client(built.app, auth=(SID, TOKEN)) as fonolo:
        enveloped = await fonolo.post("/3.0/callback", content=b"a" * 70000)
    assert enveloped.status_code == 413 and enveloped.json()["data"]["error_id"] == "request_too_large"


async def test_given_the_largest_legitimate_callback_body_then_accepted(api):
    variables = {f"V{i:02d}_" + "x" * 59: "v" * 256 for i in range(32)}   # the most the model allows
    body = {**GOOD, "src": [str(1001 + i) for i in range(10)], "variables": variables,
            "caller_id_name": "n" * 64, "src_caller_id_name": "n" * 64}
    assert len(json.dumps(body)) < 16384   # a quarter of the limit
    response = await api.post("/v1/callbacks", json=body)
    assert response.status_code == 201, response.text


# ---------------------------------------------------------------------------- 3. health
async def test_given_no_key_then_health_shows_no_active_calls_and_a_key_shows_them(built):
    async with client(built.app) as anonymous:
        public = (await anonymous.get("/health")).json()
    async with client(built.app, headers=KEY) as keyed:
        private = (await keyed.get("/health")).json()
    assert public == {"status": "ok", "asterisk_connected": True, "store_ok": True, "store_problem": None}
    assert private["active_calls"] == 0 and private["status"] == "ok"


async def test_given_a_store_that_cannot_write_then_health_and_readyz_say_so(tmp_path):
    data = tmp_path / "data"
    async with hardened(data):   # created and migrated
        pass
    read_only = f"sqlite+aiosqlite:///file:{data / 'ari-callback.db'}?mode=ro&uri=true"
    async with hardened(data, url=read_only, seed=False) as built, client(built.app) as anonymous:
        health = (await anonymous.get("/health")).json()
        ready = await anonymous.get("/readyz")
    assert (health["status"], health["store_ok"]) == ("degraded", False)
    assert "cannot be written" in health["store_problem"]
    assert (ready.status_code, ready.json()["error_id"]) == (503, "not_ready")


async def test_given_a_database_locked_by_another_process_then_health_answers_degraded_within_the_wait(built):
    import sqlite3
    built.app.state.store_check = StoreCheck(every=0, wait=0.5)
    path = str(built.service.settings.db_url).removeprefix("sqlite+aiosqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")   # another process's writer, holding the lock
    try:
        async with client(built.app) as anonymous:
            started = time.monotonic()
            health = (await anonymous.get("/health")).json()
            took = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (health["status"], health["store_ok"]) == ("degraded", False) and took < 2.0
    assert "(locked or stalled)" in health["store_problem"]   # the write probe or the read, whichever waits
    await asyncio.sleep(0.3)


# ---------------------------------------------------------------------- 4. Retry-After
async def test_given_the_concurrent_limit_or_the_rate_limit_then_429_with_retry_after(tmp_path):
    async with hardened(tmp_path / "data", max_concurrent_calls=1) as built, client(built.app, headers=KEY) as api:
        first = await api.post("/v1/callbacks", json=GOOD)
        second = await api.post("/v1/callbacks", json=GOOD)
        rated = await api.post("/extension/100/callback/", json={**PBX, "callback_rate_limit": 100})
    assert first.status_code == 201
    assert (second.status_code, second.json()["error_id"]) == (429, "concurrent_call_limit_exceeded")
    assert (rated.status_code, rated.json()["error_id"]) == (429, "callback_rate_limit_exceeded")
    assert second.headers["retry-after"] == rated.headers["retry-after"] == "5"


# ------------------------------------------------------------------ 5. decided surprises
@pytest.mark.parametrize("dst", ["*", "#", "+*#", "+", "**", "#*#", "+#1"])
async def test_given_a_destination_without_digits_then_refused(built, api, dst):
    response = await api.post("/v1/callbacks", json={**GOOD, "dst": dst})
    assert (response.status_code, response.json()["error_id"]) == (422, "invalid_dst"), response.text
    assert await _stored(built) == 0


@pytest.mark.parametrize("dst", ["*97", "#1", "*#06#", "+15551234567", "1" * 32, "+" + "1" * 32, "***1" + "2" * 28])
async def test_given_feature_codes_and_long_numbers_then_accepted(api, dst):
    response = await api.post("/v1/callbacks", json={**GOOD, "dst": dst})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("dst", ["1" * 33, "****1", "*" * 3 + "1" * 30])
async def test_given_numbers_too_long_then_refused(api, dst):
    response = await api.post("/v1/callbacks", json={**GOOD, "dst": dst})
    assert (response.status_code, response.json()["error_id"]) == (422, "invalid_dst"), response.text


async def test_given_a_read_that_hangs_then_the_store_check_says_so_within_its_wait():
    class Stalled:
        async def problem(self):
            await asyncio.sleep(3)   # a connection waiting on a lock

    started = time.monotonic()
    found = await StoreCheck(every=0, wait=0.2).problem(Stalled())
    assert "did not answer a read within 0.2 s" in found and time.monotonic() - started < 1.0
