"""The webhook delivery log and replays (native API): ``/v1/callbacks/{id}/deliveries`` and
``/v1/deliveries/{id}/replay``. A client sees and replays only its own deliveries."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from ..store.deliveries import Delivery
from ..webhooks.events import iso
from .auth import client_id
from .errors import responses

router = APIRouter(prefix="/v1", tags=["webhooks"])


class TryView(BaseModel):
    at: str
    status_code: int | None = Field(None, description="the receiver's HTTP status; null: no answer")
    error: str = Field("", description="why the try failed; empty when it succeeded")
    ms: float = Field(description="how long the try took, milliseconds")


class DeliveryView(BaseModel):
    id: int
    event_id: int = Field(description="the event's id (in its body and X-Callback-Event-Id): dedupe on it")
    event_type: str
    webhook_id: str
    url: str
    status: str = Field(description="pending (to be tried, again), delivered, or failed (tries ran out)")
    attempts: int = Field(description="tries since it was made or last replayed")
    created_at: str
    next_try_at: str | None = Field(None, description="while pending: when it is tried next")
    last_try_at: str | None = None
    delivered_at: str | None = None
    last_status_code: int | None = None
    last_error: str = ""
    tries: list[TryView] = Field(description="the latest tries, oldest first (at most 20)")


class DeliveryLog(BaseModel):
    callback_id: str
    deliveries: list[DeliveryView]


def delivery_view(d: Delivery) -> DeliveryView:
    return DeliveryView(id=d.id, event_id=d.event_id, event_type=d.event_type, webhook_id=d.webhook_id, url=d.url,
                        status=d.status, attempts=d.attempts, created_at=iso(d.created_at) or "",
                        next_try_at=iso(d.next_try_at) if d.status == "pending" else None,
                        last_try_at=iso(d.last_try_at), delivered_at=iso(d.delivered_at),
                        last_status_code=d.last_status_code, last_error=d.last_error,
                        tries=[TryView(at=iso(t["at"]) or "", status_code=t.get("status_code"),
                                       error=t.get("error", ""),
                                       ms=t.get("ms", 0.0)) for t in d.tries])


@router.get("/callbacks/{callback_id}/deliveries", response_model=DeliveryLog, responses=responses(401, 404, 503))
async def list_deliveries(callback_id: str, request: Request, client: str = Depends(client_id)) -> DeliveryLog:
    """The callback's webhook deliveries, oldest event first: what was sent where, and how
    each try went."""
    found = await request.app.state.service.webhooks.deliveries(callback_id, client)
    return DeliveryLog(callback_id=callback_id, deliveries=[delivery_view(d) for d in found])


@router.post("/deliveries/{delivery_id}/replay", status_code=202, response_model=DeliveryView,
             responses=responses(401, 404, 409, 422, 503))
async def replay_delivery(request: Request, delivery_id: int = Path(ge=1, le=2**63 - 1),
                          client: str = Depends(client_id)) -> DeliveryView:
    """Send the delivery again now (delivered or not), with the same event id and body and a
    fresh set of tries; 409 ``webhook_not_configured`` when its webhook is gone from the config."""
    return delivery_view(await request.app.state.service.webhooks.replay(delivery_id, client))
