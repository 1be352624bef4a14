"""The real app, store (SQLite) and services for the customer-callback APIs, without Asterisk:
the routes under test only store and read callbacks, so the engine and the dispatcher are
stand-ins (as in test_api_unavailable.py)."""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from ari_callback.api.app import create_app
from ari_callback.callbacks import CallbackService
from ari_callback.config import Settings
from ari_callback.customers import CustomerService
from ari_callback.store import CallbackStore

SID = "AC0123456789abcdef0123456789abcdef"          # the contract's demo credentials
TOKEN = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
OTHER_TOKEN = "f" * 64                                 # another client's account
OTHER_SID = "AC" + "f" * 32
API_KEY, OTHER_KEY = "acme-key", "other-key"
PROFILE = "CP" + "1" * 32
OPEN, PAUSED, CLOSED, NIGHT = ("CO" + c * 32 for c in "1234")
Q_TEXT, Q_CHOICE, Q_YES = ("CQ" + c * 32 for c in "123")
OTHER_PROFILE, OTHER_OPTION = "CP" + "9" * 32, "CO" + "9" * 32


def _option(name: str, position: int, **extra) -> dict:
    return {"name": name, "queue": name.lower(), "position": position, **extra}


def settings(data_dir: Path) -> Settings:
    profile = {
        "client": "acme", "name": "Support", "sms": True, "scheduling": True, "timezone": "America/Toronto",
        "options": {OPEN: _option("Sales", 1, slots={"slot_minutes": 30, "per_slot": 1, "min_notice_minutes": 0}),
                    PAUSED: _option("Billing", 2, status="paused"),
                    CLOSED: _option("Returns", 3, status="closed"),
                    NIGHT: _option("Night", 4, hours={"daily": "closed"})},
        "questions": {Q_TEXT: {"text": "Order number?", "position": 1, "type": "number"},
                      Q_CHOICE: {"text": "Topic?", "position": 2, "type": "choice", "choices": ["a b", "c&d"]},
                      Q_YES: {"text": "Existing customer?", "position": 3, "type": "yes_no"}}}
    other = {"client": "other", "name": "Other", "options": {OTHER_OPTION: _option("Theirs", 1)}}
    return Settings(api_keys=[{"key": API_KEY, "client": "acme"}, {"key": OTHER_KEY, "client": "other"}],
                    fonolo_accounts=[{"sid": SID, "token": TOKEN, "client": "acme"},
                                     {"sid": OTHER_SID, "token": OTHER_TOKEN, "client": "other"}],
                    clients={"acme": {}, "other": {}}, profiles={PROFILE: profile, OTHER_PROFILE: other},
                    data_dir=data_dir)


class Engine:
    """Connected, dialling nothing: cancels are only recorded."""

    connected = asyncio.Event()
    active_calls = 0

    def __init__(self) -> None:
        self.cancelled: list[str] = []

    def ready(self) -> bool:
        return True

    def cancel(self, callback_id: str) -> None:
        self.cancelled.append(callback_id)


class Dispatcher:
    def poke(self) -> None:
        pass


@dataclass
class Built:
    app: object
    service: CallbackService
    store: CallbackStore


_migrated: list[Path] = []


async def _migrated_copy(data_dir: Path, url: str) -> None:
    """A copy of a database migrated once per run: migrating each test's own takes ten times longer."""
    if not _migrated:
        folder = tempfile.mkdtemp(prefix="fonolo-template-")
        atexit.register(shutil.rmtree, folder, True)
        template = Path(folder) / "template.db"
        await (await CallbackStore.open(f"sqlite+aiosqlite:///{template}")).close()
        _migrated.append(template)
    shutil.copy(_migrated[0], url.removeprefix("sqlite+aiosqlite:///"))


@asynccontextmanager
async def built(data_dir: Path) -> AsyncIterator[Built]:
    s = settings(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    await _migrated_copy(data_dir, s.db_url)
    store = await CallbackStore.open(s.db_url)
    dispatcher = Dispatcher()
    service = CallbackService(s, store, Engine(), dispatcher)
    service.customers = CustomerService(s, store, poke=dispatcher.poke)
    await service.customers.seed_from_config()

    @asynccontextmanager
    async def running(_settings):
        yield service

    app = create_app(s, running)
    app.state.service = service
    try:
        yield Built(app, service, store)
    finally:
        await store.close()


def client(app, **kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app", **kwargs)
