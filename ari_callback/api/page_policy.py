"""Who may see and use a customer page: the profiles published for it, the origins allowed to
embed it and call its API, and the headers that say so to the browser (docs/customer-page.md).

A page is public, so everything here is deliberate: a profile is served only while its
``web.enabled`` is true; only the origins it lists get CORS headers and may frame it; a
state-changing request from any other site is refused even if a browser would have let it by.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from ..callbacks import ServiceError, store_errors
from ..customer_schema import ProfileSettings
from ..domain import customer as c

CATALOG_TTL_S = 2.0   # unpublishing reaches every instance within this (as CustomerService's catalogue)
PREFLIGHT_MAX_AGE_S = 600
# The page's own resources only: no inline script or style, no third party, no plugins.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
            "form-action 'none'; base-uri 'none'")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Published:
    """A profile whose page is served: its settings (for ``web``) and its domain object."""
    sid: str
    settings: ProfileSettings
    profile: c.Profile

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(self.settings.web.allowed_origins)


class PublishedPages:
    """The published profiles by sid, read from the store at most every ``CATALOG_TTL_S``."""

    def __init__(self, store: Any):
        self.store = store
        self._pages: dict[str, Published] = {}
        self._read_at = float("-inf")

    async def get(self, sid: str) -> Published | None:
        if time.monotonic() - self._read_at > CATALOG_TTL_S:
            with store_errors():
                stored = await self.store.load_profiles()
            self._pages = {s: Published(s, p, p.profile(s)) for s, p in stored.items() if p.web.enabled}
            self._read_at = time.monotonic()
        return self._pages.get(sid)


def pages(request: Request) -> PublishedPages:
    """The app's catalogue of published pages, made on first use (one per app and store)."""
    found = getattr(request.app.state, "published_pages", None)
    if found is None:
        found = request.app.state.published_pages = PublishedPages(request.app.state.service.store)
    return found


async def published(profile_sid: str, request: Request) -> Published:
    """The profile of the path, if published; an unpublished one looks exactly like a missing one."""
    page = await pages(request).get(profile_sid)
    if page is None:
        raise ServiceError(404, "profile_not_found", f"no published call-back page {profile_sid!r}")
    return page


def same_origin(request: Request, origin: str) -> bool:
    """The page itself calling its API. Compared on host and port only: behind a TLS proxy the
    app sees http while the browser says https."""
    return origin.split("://", 1)[-1] == request.headers.get("host", "")


def check_origin(request: Request, page: Published) -> None:
    """Refuse a state-changing request sent by a site that is neither the page nor allowed.
    Browsers send ``Origin`` on every cross-site POST; scripts without a browser may omit it,
    and gain nothing a direct request would not give them."""
    origin = request.headers.get("origin")
    if request.method in SAFE_METHODS or origin is None:
        return
    if not same_origin(request, origin) and origin not in page.origins:
        raise ServiceError(403, "origin_not_allowed", f"{origin} may not use this page's API")


def cors_headers(request: Request, page: Published | None) -> dict[str, str]:
    """CORS for the profile's allowed origins only; ``Vary`` so a cache keeps them apart."""
    origin = request.headers.get("origin")
    if page is not None and origin is not None and origin in page.origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Vary": "Origin"}


def preflight_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
            "Vary": "Origin"}


def frame_headers(page: Published) -> dict[str, str]:
    """Who may put the page in a frame: the allowed origins, or nobody (``X-Frame-Options`` for
    browsers that predate ``frame-ancestors``; with origins it has no way to list them)."""
    if page.origins:
        return {"Content-Security-Policy": f"{PAGE_CSP}; frame-ancestors 'self' {' '.join(page.origins)}"}
    return {"Content-Security-Policy": f"{PAGE_CSP}; frame-ancestors 'none'", "X-Frame-Options": "DENY"}


BASE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


class PageRoute(APIRoute):
    """Every answer of the page API, errors included, carries its CORS headers: a site that
    embeds the page's API must be able to read why a request was refused."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:
                response = await _handled(request, exc)
            page = await _page_or_none(request)
            response.headers.update({**BASE_HEADERS, **cors_headers(request, page)})
            return response

        return page_handler


async def _handled(request: Request, exc: Exception) -> Response:
    """The app's own exception handler for ``exc`` (so the body is the native error body)."""
    for kind in type(exc).__mro__:
        handler = request.app.exception_handlers.get(kind)
        if handler is not None:
            return await handler(request, exc)
    raise exc


async def _page_or_none(request: Request) -> Published | None:
    sid = request.path_params.get("profile_sid")
    if not sid:
        return None
    try:
        return await pages(request).get(sid)
    except ServiceError:   # the database is away: the error said so, without CORS headers
        return None
