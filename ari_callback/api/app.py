"""The FastAPI application. Its lifespan owns the runtime (store, ARI, engine), so the API and
the ARI client share one event loop and shut down together."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

from fastapi import FastAPI, Request
from pydantic import BaseModel

from .. import __version__
from ..config import Settings
from . import errors, native, pbx, voice


class Health(BaseModel):
    status: str
    asterisk_connected: bool
    active_calls: int


def create_app(settings: Settings, runtime: Callable[[Settings], object]) -> FastAPI:
    """``runtime(settings)`` is an async context manager yielding the CallbackService."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime(settings) as service:
            app.state.service = service
            yield

    app = FastAPI(title="ari-callback", version=__version__, lifespan=lifespan,
                  description="Callbacks on Asterisk over ARI. Authenticate with `Authorization: Bearer <key>` "
                              "or `X-API-Key: <key>`. Every error has a stable `error_id`.")
    app.state.api_keys = settings.keys()
    errors.install(app)
    app.include_router(native.router)
    app.include_router(pbx.router)
    app.include_router(voice.router)

    @app.get("/health", response_model=Health, tags=["operations"])
    async def health(request: Request) -> Health:
        """No key needed: whether the service is up and connected to Asterisk."""
        engine = request.app.state.service.engine
        connected = engine.ready()
        return Health(status="ok" if connected else "degraded", asterisk_connected=connected,
                      active_calls=engine.active_calls)

    return app
