"""R13: with the database away, the API answers 503 with a stable error_id and changes nothing."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import httpx

from ari_callback.api.app import create_app
from ari_callback.callbacks import CallbackService
from ari_callback.config import Settings
from ari_callback.store import StoreUnavailable


class DownStore:
    async def create(self, new, admission=None):
        raise StoreUnavailable("connection refused")

    async def get(self, call_id, client_id=None):
        raise StoreUnavailable("connection refused")


class ConnectedEngine:
    connected = asyncio.Event()
    active_calls = 0

    def ready(self):
        return True


class Dispatcher:
    pokes = 0

    def poke(self):
        self.pokes += 1


async def test_given_database_down_when_creating_or_reading_then_503_store_unavailable_and_nothing_dialled():
    settings = Settings(api_key="k", dialing={"trunks": {"t": {"dial": "Local/{number}@p"}},
                                              "routes": [{"match": r"\d+", "trunk": "t"}]})
    dispatcher = Dispatcher()
    service = CallbackService(settings, DownStore(), ConnectedEngine(), dispatcher)

    @asynccontextmanager
    async def running(_settings):
        yield service

    app = create_app(settings, running)
    app.state.service = service
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app",
                                 headers={"X-API-Key": "k"}) as api:
        created = await api.post("/v1/callbacks", json={"src": ["1001"], "dst": "1002"})
        read = await api.get("/v1/callbacks/abc")
    assert (created.status_code, created.json()["error_id"]) == (503, "store_unavailable")
    assert (read.status_code, read.json()["error_id"]) == (503, "store_unavailable")
    assert dispatcher.pokes == 0   # nothing stored, so nothing to dial
