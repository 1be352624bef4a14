"""``GET /v1/callbacks/{id}/deliveries`` and ``POST /v1/deliveries/{id}/replay`` on the real app
and store (SQLite): a client sees and replays only its own deliveries; bad input is a 4xx with
a stable error_id. The deliverer is built but not started: these routes only read and mark."""

from __future__ import annotations

import contextlib
import time

import httpx
import pytest

from ari_callback.api.app import create_app
from ari_callback.callbacks import CallbackService
from ari_callback.config import Settings
from ari_callback.store import CallbackStore
from ari_callback.store.deliveries import TryResult
from ari_callback.webhooks.deliverer import Deliverer, delivery_settings, plan_deliveries, webhooks_of
from ari_callback.webhooks.service import WebhookService

from .fonolo_app import Dispatcher, Engine
from .store_helpers import new

ACME, OTHER = "acme-key", "other-key"
HOOK = {"id": "crm", "url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef"}


@pytest.fixture
async def app(tmp_path):
    s = Settings(api_keys=[{"key": ACME, "client": "acme"}, {"key": OTHER, "client": "other"}],
                 clients={"acme": {"webhooks": [HOOK]}, "other": {}}, data_dir=tmp_path)
    store = await CallbackStore.open(s.db_url)
    service = CallbackService(s, store, Engine(), Dispatcher())
    deliverer = Deliverer(store, webhooks_of(s), delivery_settings(s))
    service.webhooks = WebhookService(store, deliverer)

    @contextlib.asynccontextmanager
    async def running(_settings):
        yield service

    application = create_app(s, running)
    application.state.service = service
    application.state.hooks = webhooks_of(s)
    await store.fan_out("webhooks", time.time(), lambda found: [])
    yield application
    await deliverer.stop()   # the one made here, even when a test swapped it
    await store.close()


def _client(app, key: str | None = ACME) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app",
                             headers={"X-API-Key": key} if key else {})


async def _delivered(app, callback_id: str = "c1") -> int:
    store = app.state.service.store
    await new(store, callback_id)
    await store.fan_out("webhooks", time.time(), lambda found: plan_deliveries(app.state.hooks, found))
    (claimed,) = await store.claim_deliveries(time.time(), 30, 10)
    await store.finish_try(claimed, TryResult(at=time.time(), status_code=500, error="HTTP 500", ms=12.0,
                                              delivered=False, next_try_at=None))
    return claimed.id


async def test_given_a_callback_with_a_failed_delivery_then_its_log_shows_the_try(app):
    delivery_id = await _delivered(app)
    async with _client(app) as api:
        response = await api.get("/v1/callbacks/c1/deliveries")
    assert response.status_code == 200, response.text
    (shown,) = response.json()["deliveries"]
    assert (shown["id"], shown["event_type"], shown["webhook_id"], shown["status"]) == (
        delivery_id, "callback.queued", "crm", "failed")
    assert shown["url"] == HOOK["url"] and shown["last_status_code"] == 500 and shown["next_try_at"] is None
    assert [t["status_code"] for t in shown["tries"]] == [500]
    assert "secret" not in response.text and HOOK["secret"] not in response.text


async def test_given_a_failed_delivery_when_replayed_then_pending_now_with_fresh_tries(app):
    delivery_id = await _delivered(app)
    async with _client(app) as api:
        response = await api.post(f"/v1/deliveries/{delivery_id}/replay")
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["status"], body["attempts"], body["id"]) == ("pending", 0, delivery_id)
    assert body["next_try_at"] is not None


async def test_given_another_client_then_its_deliveries_look_missing(app):
    delivery_id = await _delivered(app)
    async with _client(app, OTHER) as api:
        listed = await api.get("/v1/callbacks/c1/deliveries")
        replayed = await api.post(f"/v1/deliveries/{delivery_id}/replay")
    assert (listed.status_code, listed.json()["error_id"]) == (404, "callback_not_found")
    assert (replayed.status_code, replayed.json()["error_id"]) == (404, "delivery_not_found")


async def test_given_no_key_then_401(app):
    async with _client(app, None) as api:
        for response in (await api.get("/v1/callbacks/c1/deliveries"), await api.post("/v1/deliveries/1/replay")):
            assert (response.status_code, response.json()["error_id"]) == (401, "unauthorized")


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.5", "99999999999999999999"])
async def test_given_a_delivery_id_that_is_no_number_then_422_with_an_error_id(app, bad):
    async with _client(app) as api:
        response = await api.post(f"/v1/deliveries/{bad}/replay")
    assert response.status_code == 422 and response.json()["error_id"] == "invalid_delivery_id"


async def test_given_an_unknown_delivery_or_callback_then_404(app):
    async with _client(app) as api:
        replayed = await api.post("/v1/deliveries/12345/replay")
        listed = await api.get("/v1/callbacks/nope/deliveries")
    assert replayed.json()["error_id"] == "delivery_not_found" and listed.json()["error_id"] == "callback_not_found"


async def test_given_a_webhook_removed_from_the_config_then_its_replay_is_a_409(app):
    delivery_id = await _delivered(app)
    service = app.state.service
    unhooked = Deliverer(service.store, {}, delivery_settings(service.settings))   # restarted without it
    service.webhooks = WebhookService(service.store, unhooked)
    try:
        async with _client(app) as api:
            response = await api.post(f"/v1/deliveries/{delivery_id}/replay")
    finally:
        await unhooked.stop()
    assert (response.status_code, response.json()["error_id"]) == (409, "webhook_not_configured")
