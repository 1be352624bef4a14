"""The deliverer: two tasks of the server, apart from call handling.

*Fan-out* reads the outbox (``store.fan_out``) and makes one delivery per event and matching
webhook, with the body fixed then. *Send* claims due deliveries and POSTs each, signed, with
its own timeout, at most ``max_in_flight`` at once; a failed try is scheduled again with
backoff (``backoff``) until it succeeds or the tries run out. Both only read and write the
store: a slow or dead receiver delays its own deliveries and nothing else. Delivery is
at least once: a try whose result was not saved (the process died) is made again after its
claim's lease, under the same event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from .. import __version__
from ..loops import run_forever
from ..stats import WebhookStats
from ..store.deliveries import Delivery, NewDelivery, OutboxEvent, TryResult
from . import events as ev
from .backoff import RetryPolicy, next_try
from .signing import SIGNATURE_HEADER, signature_header

if TYPE_CHECKING:
    from ..config import Settings
    from ..store.callbacks import CallbackStore

log = logging.getLogger("ari_callback.webhooks")
CONSUMER = "webhooks"
FAN_OUT_BATCH = 500
PURGE_INTERVAL_S = 3600.0


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    secret: str
    events: frozenset[str] | None   # None: all


@dataclass(frozen=True)
class DeliverySettings:
    timeout: float = 10.0
    poll_interval: float = 1.0
    max_in_flight: int = 20
    retry: RetryPolicy = RetryPolicy()
    keep_seconds: float = 30 * 86400.0

    @property
    def lease_seconds(self) -> float:
        """Longer than any try can take, so a live sender's claim never lapses."""
        return 2 * self.timeout + 5.0


def plan_deliveries(webhooks: Mapping[str, Sequence[Webhook]], found: list[OutboxEvent]) -> list[NewDelivery]:
    """The deliveries of these outbox events: one per event and webhook of its client that wants it."""
    planned = []
    for event in found:
        hooks = webhooks.get(event.client_id, ())
        if not hooks:
            continue
        row = {"id": event.id, "at": event.at, "client_id": event.client_id, "callback_id": event.callback_id,
               "attempt_id": event.attempt_id, "kind": event.kind, "status": event.status, "detail": event.detail}
        try:
            body = ev.event_body(row, event.legs)
            text = ev.encode(body)
        except (TypeError, ValueError):   # one row we cannot render must not stop every later event
            log.exception("outbox row %d cannot be sent as a webhook event; skipped", event.id)
            continue
        planned += [NewDelivery(event.id, event.client_id, event.callback_id, hook.id, hook.url, body["type"], text)
                    for hook in hooks if ev.wanted(hook.events, body["type"])]
    return planned


class Deliverer:
    def __init__(self, store: CallbackStore, webhooks: Mapping[str, Sequence[Webhook]], settings: DeliverySettings,
                 clock: Callable[[], float] = time.time, rand: Callable[[], float] = random.random):
        self.store, self.webhooks, self.settings, self.clock, self.rand = store, webhooks, settings, clock, rand
        self._hooks = {(client, hook.id): hook for client, hooks in webhooks.items() for hook in hooks}
        # No redirects (a moved receiver is reconfigured, not chased), no proxies from the environment.
        self._http = httpx.AsyncClient(timeout=settings.timeout, follow_redirects=False, trust_env=False)
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.stats = WebhookStats()   # for /metrics

    def hook(self, client_id: str, webhook_id: str) -> Webhook | None:
        return self._hooks.get((client_id, webhook_id))

    def poke(self) -> None:
        """Something may be due now (new deliveries, a replay, a try ended)."""
        self._wake.set()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._forever(name, loop), name=f"webhooks-{name}")
                       for name, loop in (("fan-out", self._fan_out_loop), ("send", self._send_loop))]

    async def stop(self) -> None:
        """Stop at once: a try cut short is made again after its lease (at least once)."""
        for task in [*self._tasks, *self._sending]:
            task.cancel()
        for task in [*self._tasks, *self._sending]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._http.aclose()

    async def _forever(self, name: str, loop: Callable[[], Awaitable[object]]) -> None:
        await run_forever(f"webhook {name}", loop, self.settings.poll_interval, log)

    async def _fan_out_loop(self) -> None:
        purged_at = 0.0
        while True:
            if self.clock() - purged_at >= PURGE_INTERVAL_S:   # the log keeps keep_seconds, not forever
                purged_at = self.clock()
                await self.store.purge_deliveries(purged_at - self.settings.keep_seconds)
            read = await self.store.fan_out(CONSUMER, self.clock(), lambda found: plan_deliveries(self.webhooks, found),
                                            limit=FAN_OUT_BATCH)
            if read:
                self.poke()
            if read < FAN_OUT_BATCH:   # caught up: look again later
                await asyncio.sleep(self.settings.poll_interval)

    async def _send_loop(self) -> None:
        while True:
            self._wake.clear()
            wait = await self._launch_due()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _launch_due(self) -> float:
        """Claim and start the due tries there is room for; how long to wait before looking again
        (a poke, from a try ending or a replay, cuts it short)."""
        s = self.settings
        room = s.max_in_flight - len(self._sending)
        if room <= 0:
            return s.poll_interval
        now = self.clock()
        due = await self.store.next_delivery_due()   # a read first: claiming is a write
        if due is None or due > now:
            return s.poll_interval if due is None else min(s.poll_interval, due - now)
        claimed = await self.store.claim_deliveries(now, s.lease_seconds, room)
        for delivery in claimed:
            task = asyncio.create_task(self._try(delivery), name=f"webhook-delivery-{delivery.id}")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        # All taken: more may be due. Nothing: what is due waits behind an earlier event.
        return 0.0 if len(claimed) == room else s.poll_interval

    async def _try(self, claimed: Delivery) -> None:
        hook = self.hook(claimed.client_id, claimed.webhook_id)
        started = time.monotonic()
        if hook is None:
            code, error = None, "webhook no longer configured"
        else:
            code, error = await self._post(hook, claimed)
        now = self.clock()
        delivered = code is not None and 200 <= code < 300
        again = None if delivered or hook is None else next_try(self.settings.retry, claimed.attempts, now, self.rand())
        took = time.monotonic() - started
        self.stats.record(delivered, took)
        result = TryResult(at=now, status_code=code, error=error, ms=took * 1000,
                           delivered=delivered, next_try_at=again)
        try:
            await self.store.finish_try(claimed, result)
        except Exception:   # the claim lapses and the delivery is tried again
            log.exception("could not save webhook delivery %d", claimed.id)
        if not delivered:
            log.warning("webhook delivery %d (event %d to %s) failed, try %d: %s", claimed.id, claimed.event_id,
                        claimed.url, claimed.attempts, error or f"HTTP {code}")
        self.poke()   # the callback's next event may be claimable now

    async def _post(self, hook: Webhook, claimed: Delivery) -> tuple[int | None, str]:
        body = claimed.body.encode()
        headers = {"Content-Type": "application/json", "User-Agent": f"ari-callback/{__version__}",
                   "X-Callback-Event-Id": str(claimed.event_id), "X-Callback-Event-Type": claimed.event_type,
                   "X-Callback-Delivery-Id": str(claimed.id), "X-Callback-Attempt": str(claimed.attempts),
                   SIGNATURE_HEADER: signature_header(hook.secret, int(self.clock()), body)}
        try:
            # Streamed and never read: a receiver's answer body is not ours to hold in memory.
            async with self._http.stream("POST", hook.url, content=body, headers=headers) as response:
                return response.status_code, "" if response.is_success else f"HTTP {response.status_code}"
        except httpx.TimeoutException:
            return None, f"no answer within {self.settings.timeout:g} s"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:512] or type(exc).__name__


def webhooks_of(settings: Settings) -> dict[str, list[Webhook]]:
    """Every client's webhooks from the configuration."""
    return {client: [Webhook(hook.webhook_id, hook.url, hook.secret.get_secret_value(),
                             frozenset(hook.events) if hook.events is not None else None) for hook in c.webhooks]
            for client, c in settings.clients.items() if c.webhooks}


def delivery_settings(settings: Settings) -> DeliverySettings:
    d = settings.webhook_delivery
    return DeliverySettings(timeout=d.timeout, poll_interval=d.poll_interval,
                            max_in_flight=d.max_in_flight, retry=d.retry_policy(), keep_seconds=d.keep_days * 86400)
