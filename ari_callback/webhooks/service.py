"""What the API asks about webhooks: a callback's delivery log, and replaying a delivery."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..callbacks import ServiceError, store_errors
from ..store.deliveries import Delivery
from .deliverer import Deliverer

if TYPE_CHECKING:
    from ..store.callbacks import CallbackStore


class WebhookService:
    def __init__(self, store: CallbackStore, deliverer: Deliverer, clock: Callable[[], float] = time.time):
        self.store, self.deliverer, self.clock = store, deliverer, clock

    async def deliveries(self, callback_id: str, client_id: str) -> list[Delivery]:
        """The callback's deliveries, oldest event first; 404 when the client has no such
        callback (another client's looks exactly like a missing one)."""
        with store_errors():
            if await self.store.get(callback_id, client_id=client_id) is None:
                raise ServiceError(404, "callback_not_found", f"no callback {callback_id!r}")
            return await self.store.deliveries_of(callback_id, client_id)

    async def replay(self, delivery_id: int, client_id: str) -> Delivery:
        """Send the delivery again now, with a fresh set of tries, under the same event id."""
        with store_errors():
            found = await self.store.delivery(delivery_id, client_id)
            if found is None:
                raise ServiceError(404, "delivery_not_found", f"no delivery {delivery_id}")
            if self.deliverer.hook(client_id, found.webhook_id) is None:
                raise ServiceError(409, "webhook_not_configured",
                                   f"webhook {found.webhook_id!r} is no longer configured for this client")
            replayed = await self.store.replay_delivery(delivery_id, client_id, self.clock())
        if replayed is None:   # gone in between: nothing deletes deliveries today, but say so right
            raise ServiceError(404, "delivery_not_found", f"no delivery {delivery_id}")
        self.deliverer.poke()
        return replayed
