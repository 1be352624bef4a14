"""What the APIs, the CLI and the dialplan ask for: create, look at and cancel callbacks.

Every API shape turns its body into one ``CallbackRequest`` and calls ``create``; so one
validation, one set of limits and one record apply whichever door a request came through.
A callback is stored before it is dialled and before the caller gets its id: nothing
accepted is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from typing import Callable

from .config import Settings
from .domain.plan import CallPlan, Extension, PlanError, make_plan
from .domain.request import CallbackRequest
from .engine.engine import Engine
from .store import StoreUnavailable


class ServiceError(Exception):
    """A request we refuse, with the HTTP status and the stable error id the API shows."""

    def __init__(self, status: int, error_id: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.error_id, self.message, self.field = status, error_id, message, field


@contextlib.asynccontextmanager
async def _database_async():
    with _database():
        yield


@contextlib.contextmanager
def _database():
    """The database being away is not the caller's fault, and changes nothing: 503."""
    try:
        yield
    except StoreUnavailable as exc:
        raise ServiceError(503, "store_unavailable", f"the database is unavailable: {exc}") from None


class CallbackService:
    def __init__(self, settings: Settings, store, engine: Engine, clock: Callable[[], float] = time.time):
        self.settings, self.store, self.engine, self.clock = settings, store, engine, clock
        self.dialing = settings.dialing_policy()
        self._admission = asyncio.Lock()   # limits are checked and taken in one step

    async def create(self, request: CallbackRequest, *, client_id: str, api: str,
                     extension_id: str | None = None) -> str:
        client = self.settings.client_policy(client_id)
        if client is None:
            raise ServiceError(403, "unknown_client", f"client {client_id!r} is not configured")
        extension = self._extension(client, extension_id)
        call_id = str(uuid.uuid4())
        try:
            plan = make_plan(call_id, request, client, self.dialing, extension)
        except PlanError as exc:
            raise ServiceError(exc.status, exc.error_id, exc.message, exc.field) from None
        if not self.engine.ready():
            # Asterisk answers originates while our app is gone, then drops the callee: refuse.
            raise ServiceError(503, "asterisk_unavailable", "not connected to Asterisk; try again shortly")
        async with self._admission, _database_async():
            await self._check_limits(client.client_id, client.max_concurrent_calls, request.callback_rate_limit)
            stored = request.model_copy(update={"client_id": client.client_id, "extension_id": extension_id})
            await self.store.insert(id=call_id, client_id=client.client_id, api=api, status="new",
                                    request=stored.model_dump(mode="json", exclude_none=True),
                                    created_at=self.clock())
            self.engine.launch(plan)
        return call_id

    def replan(self, stored) -> CallPlan:
        """The plan of a stored callback (recovery after a restart): same request, same id."""
        request = CallbackRequest.model_validate(stored.request)
        client = self.settings.client_policy(stored.client_id)
        if client is None:
            raise ServiceError(403, "unknown_client", f"client {stored.client_id!r} is no longer configured")
        extension = self._extension(client, request.extension_id)
        return make_plan(stored.id, request, client, self.dialing, extension)

    def _extension(self, client, extension_id: str | None) -> Extension | None:
        if extension_id is None:
            return None
        extension = client.extensions.get(extension_id)
        if extension is None:
            raise ServiceError(404, "extension_not_found", f"no extension {extension_id!r}", "extension_id")
        if extension.type != "phone":
            raise ServiceError(422, "extension_not_phone",
                               f"extension {extension_id!r} is of type {extension.type!r}, not phone", "extension_id")
        return extension

    async def _check_limits(self, client_id: str, limit: int, rate: int | None) -> None:
        """Seed 002: callbacks may use (100 - callback_rate_limit) % of the client's
        concurrent-call limit; the higher the rate, the likelier a refusal, 100 always."""
        active = await self.store.count_active(client_id)
        if rate is not None:
            allowed = math.floor(limit * (100 - rate) / 100)
            if active >= allowed:
                raise ServiceError(429, "callback_rate_limit_exceeded",
                                   f"{active} active calls; callback_rate_limit {rate}% allows {allowed} "
                                   f"of the client's {limit}", "callback_rate_limit")
        if active >= limit:
            raise ServiceError(429, "concurrent_call_limit_exceeded",
                               f"client {client_id!r} already has {active} of {limit} calls")

    async def get(self, call_id: str, client_id: str):
        with _database():
            view = await self.store.get(call_id, client_id=client_id)
        if view is None:
            raise ServiceError(404, "callback_not_found", f"no callback {call_id!r}")
        return view

    async def cancel(self, call_id: str, client_id: str):
        view = await self.get(call_id, client_id)
        if view.finished:
            raise ServiceError(409, "callback_finished", f"callback {call_id!r} has already ended ({view.status})")
        if not self.engine.cancel(call_id):
            raise ServiceError(409, "callback_not_running", f"callback {call_id!r} is not running on this instance")
        return view
