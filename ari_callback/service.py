"""Wires everything into one event loop: store, ARI client, event stream, engine, REST API.

``ari-callback serve`` runs ``serve(settings)``. SIGTERM/SIGINT end every call (legs hung up,
bridges destroyed) within a grace period, then the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import uvicorn

from .api.app import create_app
from .api.events import stop_streams
from .ari import CALL_EVENT_TYPES
from .ari.client import AriClient
from .ari.errors import AriStreamError
from .ari.stream import EventStream
from .callbacks import CallbackService
from .config import Settings
from .customers import CustomerService
from .directory import Directory
from .engine.dispatcher import Dispatcher, DispatchSettings
from .engine.engine import Engine
from .store.callbacks import CallbackStore
from .triggers.desk import TriggerDesk, destination_policy
from .triggers.flows import TriggerContext
from .webhooks.deliverer import Deliverer, delivery_settings, webhooks_of
from .webhooks.service import WebhookService

log = logging.getLogger("ari_callback")
SHUTDOWN_GRACE = 8.0


class Runtime:
    """The running parts, for the API's lifespan and for tests."""

    def __init__(self, settings: Settings, on_fatal: Callable[[BaseException], None] = lambda exc: None):
        self.settings = settings
        self.fatal: BaseException | None = None
        self.on_fatal = on_fatal

    async def start(self) -> CallbackService:
        s = self.settings
        password = s.ari.password.get_secret_value()
        self.store = await CallbackStore.open(s.db_url)
        # Clients, extensions, numbers and sounds changed through the API or the CLI, before
        # anything reads them; then re-read as other instances change them.
        self.directory = Directory(s, self.store)
        await self.directory.refresh()
        self.directory.start(s.instance.directory_poll_interval)
        self.ari = AriClient(s.ari.url, s.ari.username, password,
                             timeout=s.ari.timeout, max_connections=s.ari.max_connections)
        self.engine = Engine(self.ari, self.store, s.ari.app, origin_context=s.dialing.origin_context)
        i = s.instance
        self.dispatcher = Dispatcher(self.store, self.engine, DispatchSettings(
            instance=s.instance_id, asterisk=i.asterisk, lease_seconds=i.lease_seconds,
            claim_batch=i.claim_batch, max_calls=i.max_calls, poll_interval=i.poll_interval,
            cancel_poll_interval=i.cancel_poll_interval, sweep_interval=i.sweep_interval))
        self.customers = CustomerService(s, self.store, poke=self.dispatcher.poke)
        await self.customers.seed_from_config()
        self.dispatcher.options = self.customers.options
        # Only the events the engine translates; REST over this websocket when Asterisk takes it.
        self.stream = EventStream(s.ari.url, s.ari.username, password, s.ari.app, event_filter=CALL_EVENT_TYPES)
        self.ari.use_websocket(self.stream)
        self.engine.attach(self.stream.connected)
        self.stream_task = asyncio.create_task(self._listen(), name="ari-events")
        self.dispatcher.start()
        # Webhooks run beside the dispatcher on the store alone: never in a call's way.
        self.deliverer = Deliverer(self.store, webhooks_of(s), delivery_settings(s))
        self.deliverer.start()
        self.service = CallbackService(s, self.store, self.engine, self.dispatcher, directory=self.directory)
        self.service.customers = self.customers
        self.service.webhooks = WebhookService(self.store, self.deliverer)
        self.triggers = TriggerDesk(self.ari, TriggerContext(
            s.triggers, self.customers, self.service, destination_policy(s)))
        self.engine.take_triggers(self.triggers)
        return self.service

    async def _listen(self) -> None:
        try:
            await self.stream.run(self.engine.handle, on_connect=self.dispatcher.on_connect)
        except AriStreamError as exc:
            log.error("ARI event stream stopped for good: %s", exc)
            self.fatal = exc
            self.on_fatal(exc)
        except Exception as exc:
            log.exception("ARI event stream crashed")
            self.fatal = exc
            self.on_fatal(exc)
        finally:
            self.engine.connected.clear()

    async def stop(self) -> None:
        await self.directory.stop()
        await self.dispatcher.stop()
        await self.deliverer.stop()
        await self.triggers.shutdown()
        await self.engine.shutdown(SHUTDOWN_GRACE)
        await self.stream.stop()
        self.stream_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.stream_task
        await self.ari.close()
        await self.store.close()


@asynccontextmanager
async def runtime(settings: Settings,
                  on_fatal: Callable[[BaseException], None] = lambda exc: None) -> AsyncIterator[CallbackService]:
    rt = Runtime(settings, on_fatal)
    service = await rt.start()
    try:
        yield service
    finally:
        await rt.stop()


class _Server(uvicorn.Server):
    """uvicorn re-raises the signal after a graceful stop (exit 143); we want exit 0."""

    @contextlib.contextmanager
    def capture_signals(self):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    async def shutdown(self, sockets=None) -> None:
        # Open event streams never end by themselves: end them first, or the graceful stop
        # would wait for them for ever.
        await stop_streams(self.config.app)
        await super().shutdown(sockets)


async def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT (0) or until the ARI stream fails for good (1)."""
    failed: list[BaseException] = []

    def stop_on_fatal(exc: BaseException) -> None:
        failed.append(exc)
        server.should_exit = True

    app = create_app(settings, lambda s: runtime(s, stop_on_fatal))
    server = _Server(uvicorn.Config(app, host=settings.http.host, port=settings.http.port,
                                    log_level=settings.log_level.lower(), lifespan="on", access_log=False,
                                    log_config=None))   # uvicorn's lines go through our handler too
    try:
        listening = _listen(settings.http.host, settings.http.port)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", settings.http.host, settings.http.port, exc.strerror)
        return 1
    await server.serve(sockets=[listening])
    return 1 if failed or not server.started else 0


def _listen(host: str, port: int) -> socket.socket:
    """The API's socket, bound before anything else starts. uvicorn binds after the app's start-up,
    which connects to ARI: a second ``serve`` started by mistake on a port in use would take the
    Stasis app over from the instance running there before finding out it cannot listen."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock
