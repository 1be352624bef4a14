"""Every API error has one body: ``{"error_id", "message", "errors"?}`` with a stable id.

Ids name the problem, not the code path: ``missing_dst``, ``invalid_dst_dtmf``,
``unknown_sound``, ``unauthorized``, ``callback_not_found``... Clients may switch on them.
Under ``/3.0/`` the same ids travel in Fonolo's envelope (``shaped_error``).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..callbacks import ServiceError
from . import fonolo_wire


class FieldError(BaseModel):
    field: str
    error_id: str
    message: str


class ErrorBody(BaseModel):
    error_id: str
    message: str
    errors: list[FieldError] | None = None


def error_response(status: int, error_id: str, message: str, errors: list[dict] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, object] = {"error_id": error_id, "message": message}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


def _field_error(item: dict) -> dict:
    loc = [str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path")]
    names = [p for p in loc if not p.isdigit()]
    field = ".".join(loc) or "body"
    kind = item.get("type", "")
    if kind == "missing":
        error_id = f"missing_{names[-1] if names else 'body'}"
    elif kind == "extra_forbidden":
        error_id = "unknown_field"
    else:
        # The first name is the request field (src, variables, leg_A...), stable for clients.
        error_id = f"invalid_{names[0] if names else 'body'}"
    return {"field": field, "error_id": error_id, "message": item.get("msg", "invalid")}


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    items = list(exc.errors())
    if any(i.get("type") == "json_invalid" for i in items):
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    errors = [_field_error(i) for i in items]
    return error_response(422, errors[0]["error_id"], "the request is not valid: " + "; ".join(
        f"{e['field']}: {e['message']}" for e in errors), errors)


def shaped_error(path: str, status: int, error_id: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> Response:
    """An error in the format of the API shape ``path`` belongs to: Fonolo's envelope under
    /3.0/, else ours (seeds 001 to 003 and the native API share it)."""
    if path.startswith(fonolo_wire.PREFIX.rstrip("/")):
        if status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": 'Basic realm="Fonolo API"'}
        return fonolo_wire.failure(status, error_id, fonolo_wire.sentence(message), field, headers)
    errors = [{"field": field, "error_id": error_id, "message": message}] if field else None
    return error_response(status, error_id, message, errors, headers)


def retry_after(request: Request, exc: ServiceError) -> dict[str, str] | None:
    """A 429 (over a call limit) says when to try again: ``http.retry_after_seconds``."""
    if exc.status != 429:
        return None
    http = getattr(request.app.state, "http_settings", None)
    return {"Retry-After": str(exc.retry_after or (http.retry_after_seconds if http else 5))}


async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    errors = [{"field": exc.field, "error_id": exc.error_id, "message": exc.message}] if exc.field else None
    return error_response(exc.status, exc.error_id, exc.message, errors, retry_after(request, exc))


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if fonolo_wire.owns(request):   # an unknown /3.0/ path or method: Fonolo's SDKs need their envelope
        return fonolo_wire.http_failure(request, exc)
    ids = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
    return error_response(exc.status_code, ids.get(exc.status_code, f"http_{exc.status_code}"),
                          str(exc.detail), headers=getattr(exc, "headers", None))


def install(app: FastAPI) -> None:
    # Starlette types a handler as taking any Exception; each of these takes the one it is for.
    app.add_exception_handler(RequestValidationError, _validation_error)   # type: ignore[arg-type]
    app.add_exception_handler(ServiceError, _service_error)   # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)   # type: ignore[arg-type]


def responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI documentation of the error responses a route can give."""
    text = {400: "Malformed JSON (or not UTF-8), or an invalid Idempotency-Key",
            401: "Missing or unknown API key", 403: "Not allowed for this client",
            404: "Not found", 409: "Conflict with the callback's state, or an Idempotency-Key reused with "
                                   "another request (idempotency_key_reused) or still in progress "
                                   "(idempotency_in_progress, with Retry-After)",
            413: "The body is larger than http.max_body_bytes (request_too_large)",
            422: "Invalid request (too_deep: JSON nested deeper than http.max_json_depth; duplicate_key)",
            429: "Over a limit (with Retry-After)", 500: "Unexpected error (internal_error), logged",
            503: "Asterisk or the database is unavailable"}
    # The content type is named: a route that serves HTML (the customer page) still errs in JSON.
    return {s: {"model": ErrorBody, "description": text.get(s, "Error"), "content": {"application/json": {}}}
            for s in statuses}
