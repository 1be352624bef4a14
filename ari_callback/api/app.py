"""The FastAPI application. Its lifespan owns the runtime (store, ARI, engine), so the API and
the ARI client share one event loop and shut down together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

from .. import __version__
from ..callbacks import ServiceError
from ..config import Settings
from . import (  # operations: the event stream and /metrics
    callback_list,
    callback_status,
    customers,
    directory,
    error_catalogue,
    errors,
    events,
    fonolo,
    keys,
    metrics,
    native,
    operator,
    page,
    pbx,
    variables,
    voice,
)
from .auth import config_keys, principal_of
from .deliveries import router as deliveries_router
from .fonolo_wire import fonolo_accounts
from .guard import Guard
from .health import StoreCheck


class Health(BaseModel):
    status: str
    asterisk_connected: bool
    store_ok: bool
    store_problem: str | None = None
    active_calls: int | None = Field(None, description="calls in progress on this instance: only with a valid API key")


class Ready(BaseModel):
    status: str


def create_app(settings: Settings, runtime: Callable[[Settings], AbstractAsyncContextManager[Any]]) -> FastAPI:
    """``runtime(settings)`` is an async context manager yielding the CallbackService."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime(settings) as service:
            app.state.service = service
            yield
            await events.stop_streams(app)

    app = FastAPI(title="ari-callback", version=__version__, lifespan=lifespan,
                  description="Callbacks on Asterisk over ARI. Authenticate with `Authorization: Bearer <key>` "
                              "or `X-API-Key: <key>`. Every error has a stable `error_id`:\n\n"
                              + error_catalogue.markdown())
    app.state.api_keys = config_keys(settings)   # hashed; the store's keys are looked up per request
    app.state.fonolo_accounts = fonolo_accounts(settings)
    app.state.fonolo_scopes = {account.sid: account.scope for account in settings.fonolo_accounts}
    app.state.http_settings, app.state.store_check = settings.http, StoreCheck()
    errors.install(app)
    app.add_middleware(Guard)   # keys before bodies, size and JSON limits, Idempotency-Key, catch-all
    app.include_router(native.router)
    app.include_router(callback_list.router)
    app.include_router(keys.router)
    app.include_router(pbx.router)
    app.include_router(variables.router)
    app.include_router(directory.router)
    app.include_router(operator.router)
    app.include_router(voice.router)
    app.include_router(customers.router)
    app.include_router(fonolo.router)
    app.include_router(callback_status.router)
    app.include_router(page.router)
    app.include_router(deliveries_router)
    app.include_router(events.router)
    app.include_router(metrics.router(settings.http.metrics_public))

    @app.get("/healthz", response_model=Ready, tags=["operations"])
    async def healthz() -> Ready:
        """No key needed: liveness only. 200 whenever the process answers HTTP; nothing else is
        checked, so an orchestrator restarts a hung process, not one whose Asterisk is away."""
        return Ready(status="alive")

    @app.get("/health", response_model=Health, response_model_exclude_unset=True, tags=["operations"])
    async def health(request: Request) -> Health:
        """No key needed: whether the service is up, connected to Asterisk, and its database
        usable (the file it opened still there, the server answering, and a write going through).
        ``active_calls`` only with a valid API key."""
        service = request.app.state.service
        connected, problem = service.engine.ready(), await request.app.state.store_check.problem(service.store)
        found: dict = dict(status="ok" if connected and problem is None else "degraded", asterisk_connected=connected,
                           store_ok=problem is None, store_problem=problem)
        if await _keyed(request):
            found["active_calls"] = service.engine.active_calls
        return Health(**found)

    @app.get("/readyz", response_model=Ready, tags=["operations"], responses=errors.responses(503))
    async def readyz(request: Request) -> Ready:
        """No key needed: 200 when this instance can take callbacks (Asterisk connected, database
        usable), else 503 ``not_ready`` saying why: for a load balancer's health check."""
        service = request.app.state.service
        problem = await request.app.state.store_check.problem(service.store)
        if problem is not None:
            raise ServiceError(503, "not_ready", f"the database is not usable: {problem}")
        if not service.engine.ready():
            raise ServiceError(503, "not_ready", "not connected to Asterisk")
        return Ready(status="ready")

    return app


async def _keyed(request: Request) -> bool:
    try:
        return await principal_of(request) is not None
    except ServiceError:   # the store cannot say: /health still answers, without the count
        return False
