"""The wire of the Fonolo REST API 3.0 (docs/fonolo-api.md): its envelope, HTTP Basic account
credentials, form bodies in the three SDK dialects, SIDs and times.

Every answer under ``/3.0/`` is ``{"head": {"status", "message"}, "data"}``: the node SDK crashes
on any other body, so errors of every kind are turned into it here (``FonoloRoute``) or in
errors.py (unknown paths and methods, which reach no route).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..callbacks import ServiceError

log = logging.getLogger("ari_callback.fonolo")
PREFIX = "/3.0/"
SID_RE = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")     # what the python and PHP SDKs accept
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CALL_PREFIX, OPTIN_PREFIX = "CA", "OI"
# The SDKs ignore HTTP codes; ours follow the contract's §6, which asks 400 for bad parameters.
_HTTP_CODES = {422: 400}
_HTTP_IDS = {404: "unknown_resource", 405: "method_not_allowed", 401: "unauthorized"}


class _FailureHead(BaseModel):
    status: int = Field(description="always 500 on a failure: what the SDKs test")
    message: str


class _FailureData(BaseModel):
    error_id: str = Field(description="the stable id (the error catalogue)")
    field: str | None = None


class FonoloFailure(BaseModel):
    """Every /3.0/ failure: Fonolo's envelope, with the HTTP status the failure has."""

    head: _FailureHead
    data: _FailureData


# What every /3.0/ route may answer besides its success (docs/fonolo-api.md).
FAILURES: dict[int | str, dict[str, Any]] = {
    status: {"model": FonoloFailure, "description": text} for status, text in (
        (400, "A malformed or invalid request"), (401, "Unknown account SID or auth token (HTTP Basic)"),
        (403, "A read-only account writing"), (404, "No such resource of this account"),
        (409, "Conflict with the call-back's state"), (413, "The body is too large"),
        (429, "Over a limit (with Retry-After)"), (500, "Unexpected error"),
        (503, "Asterisk or the database is unavailable"))}


class FonoloJSON(JSONResponse):
    media_type = "application/json; charset=utf-8"


def envelope(data: Any, message: str = "OK") -> FonoloJSON:
    return FonoloJSON({"head": {"status": 200, "message": message}, "data": data})


def failure(status: int, error_id: str, message: str, field: str | None = None,
            headers: dict[str, str] | None = None) -> FonoloJSON:
    """head.status is always 500 on failure (the SDKs test only that); the stable id is in data."""
    data = {"error_id": error_id, **({"field": field} if field else {})}
    return FonoloJSON({"head": {"status": 500, "message": message}, "data": data},
                      status_code=_HTTP_CODES.get(status, status), headers=headers)


def owns(request: Request) -> bool:
    """/3.0/ and also /3.0profiles...: what an SDK asks when its endpoint lacks the final /."""
    return request.url.path.startswith(PREFIX.rstrip("/"))


def http_failure(request: Request, exc: StarletteHTTPException) -> FonoloJSON:
    """An unknown /3.0/ path or a wrong method: no route ran, so errors.py sends it here."""
    if request.url.path.endswith(".xml"):
        return failure(400, "xml_not_supported", "XML is not supported; use .json or no suffix.")
    messages = {404: "Unknown resource.", 405: "Method not allowed on this resource."}
    if not request.url.path.startswith(PREFIX):
        messages[404] = "Unknown resource: the endpoint must end with /3.0/ (with the final /)."
    return failure(exc.status_code, _HTTP_IDS.get(exc.status_code, f"http_{exc.status_code}"),
                   messages.get(exc.status_code, str(exc.detail)), headers=getattr(exc, "headers", None))


def _validation_failure(exc: RequestValidationError) -> FonoloJSON:
    item: dict[str, Any] = next(iter(exc.errors()), {})
    names = [str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path")]
    name = names[0] if names else "request"
    return failure(400, f"invalid_{name}", f"Invalid {name}: {item.get('msg', 'invalid')}.", name)


class FonoloRoute(APIRoute):
    """A /3.0 route whose every failure, expected or not, is the envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def enveloped(request: Request) -> Response:
            try:
                if request.url.path.endswith(".xml"):
                    raise ServiceError(400, "xml_not_supported", "XML is not supported; use .json or no suffix.")
                return await handler(request)
            except ServiceError as exc:
                headers = {"WWW-Authenticate": 'Basic realm="Fonolo API"'} if exc.status == 401 else None
                if exc.status == 429:
                    http = getattr(request.app.state, "http_settings", None)
                    headers = {"Retry-After": str(exc.retry_after or (http.retry_after_seconds if http else 5))}
                return failure(exc.status, exc.error_id, sentence(exc.message), exc.field, headers)
            except RequestValidationError as exc:
                return _validation_failure(exc)
            except StarletteHTTPException as exc:
                return http_failure(request, exc)
            except Exception:
                log.exception("Fonolo API: %s %s failed", request.method, request.url.path)
                return failure(500, "internal_error", "Internal error; please try again.")

        return enveloped


def sentence(message: str) -> str:
    """Our messages are clauses; the SDKs hand head.message to people (node: as the error)."""
    text = message[:1].upper() + message[1:]
    return text if text.endswith(".") else text + "."


# ------------------------------------------------------------------------------ accounts
def fonolo_accounts(settings: Any) -> dict[str, tuple[str, str]]:
    """Account SID -> (auth token, client id), from the config's ``fonolo_accounts``."""
    return {a.sid: (a.token.get_secret_value(), a.client) for a in settings.fonolo_accounts}


def _credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        sid, colon, token = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (sid, token) if colon else None


UNAUTHORIZED = "Invalid account SID or auth token."


def fonolo_account_of(request: Request) -> tuple[str, str] | None:
    """(account SID, client) of the request's account SID and auth token, from the headers alone."""
    offered = _credentials(request.headers.get("authorization", ""))
    found = None
    if offered is not None:
        for sid, (token, owner) in request.app.state.fonolo_accounts.items():
            # Compared with every pair, in constant time: no hint of which part was wrong.
            if secrets.compare_digest(sid.encode(), offered[0].encode()) & \
                    secrets.compare_digest(token.encode(), offered[1].encode()):
                found = (sid, owner)
    return found


async def fonolo_client(request: Request) -> str:
    """The client of the request's account SID and auth token; 401 otherwise."""
    found = fonolo_account_of(request)
    if found is None:
        raise ServiceError(401, "unauthorized", UNAUTHORIZED)
    read_only = getattr(request.app.state, "fonolo_scopes", {}).get(found[0]) == "read_only"
    if read_only and request.method not in ("GET", "HEAD", "OPTIONS"):   # the guard refused it first
        raise ServiceError(403, "forbidden", "this account is read-only")
    return found[1]


# ---------------------------------------------------------------------------------- forms
@dataclass
class Form:
    """A form body: ``fields`` by name (``a``, ``a[]``, ``a[0]`` and repeats collect in
    ``fields["a"]``), ``groups`` for ``a[key]``, ``a[key][]``, ``a[key][N]``."""

    fields: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    groups: dict[str, dict[str, list[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))

    def one(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None


_NAME_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse_form(body: bytes) -> Form:
    """python sends ``a=1&a=2`` and ``+``; node ``a%5B0%5D=1`` and ``%20``; PHP ``a%5Bk%5D=1``."""
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise ServiceError(400, "malformed_body", "The body is not a URL-encoded form") from None
    form = Form()
    for name, value in pairs:
        match = _NAME_RE.fullmatch(name)
        if match is None:
            continue   # unknown or garbled names are ignored, like unknown fields
        base, keys = match[1], re.findall(r"\[([^\[\]]*)\]", match[2])
        if not keys or keys[0] == "" or keys[0].isdigit():
            form.fields[base].append(value)
        else:
            form.groups[base][keys[0]].append(value)
    return form


# ------------------------------------------------------------------------------ sids, times
def call_sid(callback_id: str) -> str:
    return CALL_PREFIX + uuid.UUID(callback_id).hex


def callback_id(sid: str, prefix: str = CALL_PREFIX) -> str:
    """Our callback id behind a ``CA…`` (or ``OI…``) SID; 404 for anything else."""
    if not (SID_RE.fullmatch(sid) and sid.startswith(prefix)):
        what = "call-back" if prefix == CALL_PREFIX else "opt-in"
        raise ServiceError(404, f"{what.replace('-', '')}_not_found", f"Unknown {what} {sid!r}")
    return str(uuid.UUID(sid[2:]))


def local_time(epoch: float | None, timezone: str) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, ZoneInfo(timezone)).strftime(TIME_FORMAT)


def parse_local(text: str, timezone: str, name: str) -> float:
    """``YYYY-MM-DD HH:MM[:SS]`` (or with ``T``) in ``timezone``, as a UNIX time."""
    cleaned = text.strip().replace("T", " ")
    for layout in (TIME_FORMAT, "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(cleaned, layout).replace(tzinfo=ZoneInfo(timezone)).timestamp()
        except ValueError:
            continue
    raise ServiceError(400, f"invalid_{name}", f"{name} must be YYYY-MM-DD HH:MM:SS, not {text!r}", name)
