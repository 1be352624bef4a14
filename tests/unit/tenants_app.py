"""Two clients on the real app and a real store (SQLite), without Asterisk, for the tests of
keys and isolation: acme (client A) owns a click-to-call made through extension a200, a customer
callback with an SMS opt-in, a profile, and store keys of every kind; other (client B) has a key
and a Fonolo account of its own."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ari_callback.api.app import create_app
from ari_callback.api.fonolo_wire import call_sid
from ari_callback.callbacks import CallbackService
from ari_callback.config import Settings
from ari_callback.customers import CustomerService
from ari_callback.keys import OPERATOR, OPERATOR_CLIENT, make_key
from ari_callback.store import CallbackStore
from ari_callback.webhooks.deliverer import Deliverer, delivery_settings, plan_deliveries, webhooks_of
from ari_callback.webhooks.service import WebhookService

from .fonolo_app import OPEN, OTHER_SID, OTHER_TOKEN, SID, TOKEN, Dispatcher, Engine, _migrated_copy
from .fonolo_app import settings as fonolo_settings

CONFIG_KEY, CONFIG_READ_KEY = "acme-config-key", "acme-config-read-key"
READ_SID, READ_TOKEN = "AC" + "e" * 32, "e" * 64          # acme's read-only Fonolo account
A_NUMBER = "5551234"                                        # acme's customer: never in B's answers
EXTENSIONS = {"a100": {"number": "1001", "name": "Ann"}, "a200": {"number": "1002", "name": "Bob"}}


def basic(sid: str, token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()}


def settings(data_dir: Path) -> Settings:
    base = fonolo_settings(data_dir).model_dump(mode="python")
    base["api_keys"] = [{"key": CONFIG_KEY, "client": "acme", "name": "seeded"},
                        {"key": CONFIG_READ_KEY, "client": "acme", "scope": "read_only"}]
    base["fonolo_accounts"] = [{"sid": SID, "token": TOKEN, "client": "acme"},
                               {"sid": OTHER_SID, "token": OTHER_TOKEN, "client": "other"},
                               {"sid": READ_SID, "token": READ_TOKEN, "client": "acme", "scope": "read_only"}]
    webhook = {"id": "crm", "url": "http://127.0.0.1:9/hook", "secret": "acme-webhook-secret"}   # never sent to
    base["clients"] = {"acme": {"extensions": EXTENSIONS, "webhooks": [webhook]},
                       "other": {"extensions": {"b100": {"number": "2001"}}}}
    return Settings(**base)


@dataclass
class Tenants:
    """What each test starts from: the app, its store, and the keys and resources by name."""

    app: object
    store: CallbackStore
    keys: dict[str, str] = field(default_factory=dict)      # name -> secret
    key_ids: dict[str, str] = field(default_factory=dict)   # name -> id
    callback_id: str = ""       # acme's click-to-call, made through extension a200
    customer_callback_id: str = ""
    delivery_id: int = 0        # a webhook delivery of acme's click-to-call

    def headers(self, name: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[name]}


async def _add_keys(tenants: Tenants) -> None:
    kinds = {"a_full": ("acme", "full", None), "a_spare": ("acme", "full", None), "a_read": ("acme", "read_only", None),
             "a_ext": ("acme", "full", "a100"), "a_revoked": ("acme", "full", None), "b_full": ("other", "full", None),
             "operator": (OPERATOR_CLIENT, OPERATOR, None)}
    for name, (client, scope, extension) in kinds.items():
        made = make_key(client, time.time(), name=name, scope=scope, extension=extension)   # type: ignore[arg-type]
        await tenants.store.add_api_key(made.stored)
        tenants.keys[name], tenants.key_ids[name] = made.secret, made.stored.id
    await tenants.store.revoke_api_key(tenants.key_ids["a_revoked"], time.time())


async def _add_resources(tenants: Tenants) -> None:
    async with client(tenants.app, headers=tenants.headers("a_full")) as a:
        made = await a.post("/v1/callbacks", json={"src": ["1001"], "dst": "6001", "extension_id": "a200"})
        assert made.status_code == 201, made.text
        tenants.callback_id = made.json()["id"]
    async with client(tenants.app, headers=basic(SID, TOKEN)) as fonolo:
        asked = await fonolo.post("/3.0/callback", data={"fc_number": A_NUMBER, "fc_option": OPEN, "fc_sms": "1"})
        assert asked.status_code == 200, asked.text
        tenants.customer_callback_id = str(uuid.UUID(asked.json()["data"]["sid"][2:]))
    # The outbox fanned out into deliveries by hand: the deliverer is not started, nothing is sent.
    hooks = webhooks_of(tenants.app.state.service.settings)   # type: ignore[attr-defined]
    await tenants.store.fan_out("webhooks", time.time(), lambda found: plan_deliveries(hooks, found))
    tenants.delivery_id = (await tenants.store.deliveries_of(tenants.callback_id, "acme"))[0].id


@asynccontextmanager
async def tenants(data_dir: Path) -> AsyncIterator[Tenants]:
    s = settings(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    await _migrated_copy(data_dir, s.db_url)
    store = await CallbackStore.open(s.db_url)
    dispatcher = Dispatcher()
    service = CallbackService(s, store, Engine(), dispatcher)
    service.customers = CustomerService(s, store, poke=dispatcher.poke)
    await service.customers.seed_from_config()
    deliverer = Deliverer(store, webhooks_of(s), delivery_settings(s))
    service.webhooks = WebhookService(store, deliverer)
    await store.fan_out("webhooks", time.time(), lambda found: [])   # the webhooks' outbox reader starts here

    @asynccontextmanager
    async def running(_settings):
        yield service

    app = create_app(s, running)
    app.state.service = service
    made = Tenants(app, store)
    try:
        await _add_keys(made)
        await _add_resources(made)
        yield made
    finally:
        await deliverer.stop()
        await store.close()


def client(app, **kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app", **kwargs)


def a_sids(t: Tenants) -> dict[str, str]:
    """acme's Fonolo SIDs: its customer callback and its opt-in."""
    sid = call_sid(t.customer_callback_id)
    return {"call": sid, "optin": "OI" + sid[2:]}
