"""What the APIs, the CLI and the dialplan ask for: create, look at and cancel callbacks.

Every API shape turns its body into one ``CallbackRequest`` and calls ``create``; so one
validation, one set of limits and one record apply whichever door a request came through.
Creating a callback only stores it, with the plan resolved now: the dispatcher claims it and
starts its first attempt (at once, when it is due now). Nothing accepted is lost.
"""

from __future__ import annotations

import contextlib
import math
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from .config import Settings
from .directory import Directory
from .domain.admission import PACE, allowance, pace, refusal_message
from .domain.plan import Extension, PlanError, make_plan
from .domain.request import CallbackRequest
from .domain.snapshot import plan_to_dict
from .engine.dispatcher import Dispatcher
from .engine.engine import Engine
from .store import Admission, CallbackView, IdempotentRepeat, LimitReached, NewCallback, PaceReached, StoreUnavailable
from .store.idempotency import current_tag


class ServiceError(Exception):
    """A request we refuse, with the HTTP status and the stable error id the API shows."""

    def __init__(self, status: int, error_id: str, message: str, field: str | None = None,
                 retry_after: int | None = None):
        super().__init__(message)
        self.status, self.error_id, self.message, self.field = status, error_id, message, field
        self.retry_after = retry_after   # seconds, for a 429 that knows; else http.retry_after_seconds


@contextlib.contextmanager
def store_errors() -> Iterator[None]:
    """The database being away is not the caller's fault, and changes nothing: 503."""
    try:
        yield
    except StoreUnavailable as exc:
        raise ServiceError(503, "store_unavailable", f"the database is unavailable: {exc}") from None


async def made_with_this_key(store: Any, client_id: str) -> str | None:
    """The callback this request made already, when it runs again under its Idempotency-Key
    after its server died before answering (store/idempotency.py). Asked before any check, so
    that a check that would now refuse it (Asterisk away, an extension since removed) cannot
    answer for a request that was accepted."""
    tag = current_tag.get()
    if tag is None:
        return None
    with store_errors():
        return await store.callback_with_tag(client_id, tag)


class CallbackService:
    def __init__(self, settings: Settings, store, engine: Engine, dispatcher: Dispatcher,
                 clock: Callable[[], float] = time.time, directory: Directory | None = None):
        self.settings, self.store, self.engine, self.dispatcher = settings, store, engine, dispatcher
        self.directory = directory or Directory(settings, store)   # keeps settings.clients merged
        self.clock = clock
        self.dialing = settings.dialing_policy()
        self.customers: Any = None   # the CustomerService, for the customer-callback APIs
        self.webhooks: Any = None    # the WebhookService, for the delivery log and replays

    async def create(self, request: CallbackRequest, *, client_id: str, api: str,
                     extension_id: str | None = None, delay: float = 0.0) -> str:
        """Store a click-to-call, due now or ``delay`` seconds from now (a ring-back waits for
        the caller's own call to end before ringing them)."""
        if (first := await made_with_this_key(self.store, client_id)) is not None:
            return first
        client = self.settings.client_policy(client_id)
        if client is None:
            raise ServiceError(403, "unknown_client", f"client {client_id!r} is not configured")
        extension = self._extension(client, extension_id)
        callback_id = str(uuid.uuid4())
        try:
            plan = make_plan(callback_id, request, client, self.dialing, extension)
        except PlanError as exc:
            raise ServiceError(exc.status, exc.error_id, exc.message, exc.field) from None
        if not self.engine.ready():
            # Asterisk answers originates while our app is gone, then drops the callee: refuse
            # rather than queue a click-to-call that could ring minutes late.
            raise ServiceError(503, "asterisk_unavailable", "not connected to Asterisk; try again shortly")
        stored = request.model_copy(update={"client_id": client.client_id, "extension_id": extension_id})
        now = self.clock()
        new = NewCallback(id=callback_id, client_id=client.client_id, api=api,
                          request=stored.model_dump(mode="json", exclude_none=True), plan=plan_to_dict(plan),
                          created_at=now, due_at=now + max(0.0, delay),
                          asterisk=self.settings.clients[client_id].asterisk, idem_tag=current_tag.get())
        try:
            await self._admit(new, request.callback_rate_limit)
        except IdempotentRepeat as repeat:   # its server died before answering: this is the answer
            return repeat.callback_id
        self.dispatcher.poke()
        return callback_id

    async def _admit(self, new: NewCallback, rate: int | None) -> None:
        """Store the callback if the client's limits have room: its concurrent calls (less
        ``callback_rate_limit``) and its calls per second, both counted by the database."""
        client = self.settings.clients[new.client_id]
        limits = allowance(client.max_concurrent_calls, rate)
        with store_errors():
            try:
                await self.store.create(new, Admission(limits.allowed, pace(client.max_calls_per_second)))
            except LimitReached as exc:
                field = "callback_rate_limit" if rate is not None else None
                raise ServiceError(429, limits.refusal, refusal_message(limits, new.client_id, exc.active),
                                   field) from None
            except PaceReached as exc:
                raise ServiceError(429, PACE, f"{exc}; the client may start {client.max_calls_per_second:g} "
                                   "per second", retry_after=math.ceil(exc.window)) from None

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

    async def get(self, callback_id: str, client_id: str) -> CallbackView:
        with store_errors():
            view = await self.store.get(callback_id, client_id=client_id)
        if view is None:
            raise ServiceError(404, "callback_not_found", f"no callback {callback_id!r}")
        return view

    async def cancel(self, callback_id: str, client_id: str) -> CallbackView:
        """Cancel from any instance: marked in the store, acted on by the owner (at once when
        that is this instance, else within ``instance.cancel_poll_interval``)."""
        with store_errors():
            view = await self.store.request_cancel(callback_id, client_id, self.clock())
        if view is None:
            raise ServiceError(404, "callback_not_found", f"no callback {callback_id!r}")
        if view.finished:
            raise ServiceError(409, "callback_finished",
                               f"callback {callback_id!r} has already ended ({view.status})")
        self.engine.cancel(callback_id)
        return view
