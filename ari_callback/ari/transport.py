"""The seam under :class:`~ari_callback.ari.client.AriClient`: one request in, one response out.

A transport carries an :class:`AriRequest` to Asterisk and brings back an :class:`AriResponse`
whatever the status; the client decides what a status means. A transport that fails raises
:class:`AriRequestNotSent` (nothing left: safe to resend) or :class:`AriOutcomeUnknown` (sent,
no answer: Asterisk may have acted), never anything else.

* :class:`HttpTransport`: REST over HTTP, one pooled httpx client. Every Asterisk has it.
* :class:`~ari_callback.ari.ws_transport.WebSocketTransport`: ``RESTRequest`` frames on the
  event websocket (Asterisk 20.14, 21.9, 22.4 and later), no HTTP round trip at all.
* :class:`FallbackTransport`: the websocket when it can carry the request, HTTP otherwise.
* tests/fakes: an in-memory Asterisk behind the same interface.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from ari_callback.ari.errors import AriOutcomeUnknown, AriRequestNotSent

logger = logging.getLogger("ari_callback.ari")

# httpx raises these before a byte of the request is written; every other transport error may
# come after Asterisk got the request (a read timeout, a connection reset while waiting).
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True)
class AriRequest:
    """One ARI call. ``path`` is relative to ``/ari`` with its id segments percent-encoded;
    ``params`` are already spelled as Asterisk parses them; ``json`` is the body or None."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None


@dataclass(frozen=True)
class AriResponse:
    """Asterisk's answer: the status and the body as text ("" when there is none)."""

    status: int
    text: str = ""


def created_path(request: AriRequest) -> str | None:
    """Where a create whose id we chose puts its resource; None for any other request."""
    if request.method != "POST":
        return None
    if request.path in ("/channels", "/channels/create") and "channelId" in request.params:
        return f"/channels/{quote(request.params['channelId'], safe='')}"
    if request.path == "/bridges" and "bridgeId" in request.params:
        return f"/bridges/{quote(request.params['bridgeId'], safe='')}"
    return None


def repeatable(request: AriRequest) -> bool:
    """Whether sending ``request`` twice does no more than sending it once: reads, deletes
    (the second one finds nothing: 404) and creates whose id we chose (the second one: 409)."""
    return request.method in ("GET", "DELETE") or created_path(request) is not None


class AriTransport(Protocol):
    async def send(self, request: AriRequest) -> AriResponse:
        """Carry one request; raise AriRequestNotSent or AriOutcomeUnknown if it cannot."""
        ...


class RoutedTransport(AriTransport, Protocol):
    def accepts(self, request: AriRequest) -> bool:
        """Whether this transport should carry ``request`` now."""
        ...


class HttpTransport:
    """REST over HTTP through one ``httpx.AsyncClient`` with a bounded pool.

    Asterisk's ``http.conf`` ``sessionlimit`` (default 100) counts every HTTP connection *and*
    the event websocket; past it Asterisk resets connections, the websocket included.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = 10.0,
        max_connections: int = 20,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._options: dict[str, Any] = dict(
            base_url=f"{base_url.rstrip('/')}/ari",
            auth=(username, password),
            timeout=timeout,
            limits=self.limits,
            transport=transport,
            # Proxy variables in the service's environment must not divert call control
            # (and its Basic auth) away from Asterisk.
            trust_env=False,
        )
        self._client: httpx.AsyncClient | None = None
        self._closed = False
        self.sent = 0   # requests that left (for tests and benchmarks)

    @property
    def client(self) -> httpx.AsyncClient:
        """Made on first use: building one costs ~20 ms (TLS context), often for nothing
        once the websocket carries REST, and in every unit test on a fake transport."""
        if self._client is None:
            if self._closed:
                raise RuntimeError("this HTTP transport is closed")
            self._client = httpx.AsyncClient(**self._options)
        return self._client

    async def send(self, request: AriRequest) -> AriResponse:
        try:
            response = await self.client.request(
                request.method, request.path, params=request.params, json=request.json
            )
        except _NEVER_SENT as exc:
            raise AriRequestNotSent(*_failure(request, exc)) from exc
        except httpx.HTTPError as exc:
            self.sent += 1
            raise AriOutcomeUnknown(*_failure(request, exc)) from exc
        self.sent += 1
        return AriResponse(response.status_code, response.text)

    async def aclose(self) -> None:
        self._closed = True
        if self._client is not None:
            await self._client.aclose()

    @property
    def is_closed(self) -> bool:
        return self._closed


def _failure(request: AriRequest, exc: Exception) -> tuple[str, str, None, str]:
    return request.method, request.path, None, f"{type(exc).__name__}: {exc}"


class FallbackTransport:
    """``primary`` (the websocket) whenever it accepts a request, ``fallback`` (HTTP) otherwise.

    A request the primary could not send at all (the websocket dropped a moment ago) goes over
    the fallback at once: it never reached Asterisk. One whose outcome is unknown is *not*
    resent here; only the caller knows whether resending is safe.
    """

    def __init__(self, primary: RoutedTransport, fallback: AriTransport) -> None:
        self.primary = primary
        self.fallback = fallback

    async def send(self, request: AriRequest) -> AriResponse:
        if self.primary.accepts(request):
            try:
                return await self.primary.send(request)
            except AriRequestNotSent as exc:
                logger.debug("%s; sending it over HTTP", exc)
        return await self.fallback.send(request)
