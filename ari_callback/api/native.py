"""The native API: ``/v1/callbacks``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from ..callbacks import ServiceError
from ..domain.request import CallbackRequest
from ..keys import Principal
from ..store import CallbackView as StoredCallback
from .auth import client_id, key_holder, owns_extension
from .errors import responses
from .idempotency import idempotency_key
from .views import CallbackView, callback_view

router = APIRouter(prefix="/v1", tags=["callbacks"])


class CallbackCreated(BaseModel):
    id: str
    call_id: str
    status: str
    status_url: str


class CallbackCancelled(BaseModel):
    id: str
    status: str
    message: str


@router.post("/callbacks", status_code=201, response_model=CallbackCreated, dependencies=[Depends(idempotency_key)],
             responses=responses(400, 401, 403, 404, 409, 413, 422, 429, 503))
async def create_callback(body: CallbackRequest, request: Request, response: Response,
                          client: str = Depends(client_id)) -> CallbackCreated:
    """Ring the origin numbers (all at once; the first to answer wins), then the destination
    through the dialplan, and bridge them."""
    if body.client_id is not None and body.client_id != client:
        # Not a 403: that would say the other client exists (as the call history does not either).
        raise ServiceError(404, "client_not_found", f"no client {body.client_id!r}", "client_id")
    call_id = await request.app.state.service.create(body, client_id=client, api="native",
                                                     extension_id=body.extension_id)
    url = f"/v1/callbacks/{call_id}"
    response.headers["Location"] = url
    return CallbackCreated(id=call_id, call_id=call_id, status="queued", status_url=url)


async def visible_callback(request: Request, holder: Principal, callback_id: str) -> StoredCallback:
    """The key's client's callback; for an extension user's key, only one made through its
    extension. Anything else is not found (never forbidden: that would say it exists)."""
    view = await request.app.state.service.get(callback_id, holder.client_id)
    if not owns_extension(holder, (view.request or {}).get("extension_id")):
        raise ServiceError(404, "callback_not_found", f"no callback {callback_id!r}")
    return view


@router.get("/callbacks/{callback_id}", response_model=CallbackView, responses=responses(401, 404))
async def get_callback(callback_id: str, request: Request, holder: Principal = Depends(key_holder)) -> CallbackView:
    """Status, outcome and every leg's timeline with its hangup cause."""
    return callback_view(await visible_callback(request, holder, callback_id))


@router.post("/callbacks/{callback_id}/cancel", status_code=202, response_model=CallbackCancelled,
             responses=responses(401, 403, 404, 409))
async def cancel_callback(callback_id: str, request: Request,
                          holder: Principal = Depends(key_holder)) -> CallbackCancelled:
    """Hang up whatever is ringing or connected; the callback ends as ``cancelled``."""
    if holder.extension is not None:
        await visible_callback(request, holder, callback_id)
    view = await request.app.state.service.cancel(callback_id, holder.client_id)
    return CallbackCancelled(id=view.id, status="cancelling", message="the callback is being cancelled")
