"""The ARI event websocket: connect, reconnect forever, deliver events one at a time in order.

What Asterisk does that shapes this module (asterisk-ari-facts.md, sections 10-12):

* Events missed while disconnected are dropped, never replayed. So every (re)connect first
  awaits ``on_connect`` (the engine reconciles against ``GET /channels`` etc. there), and only
  then are events handed over.
* Asterisk answers the handshake with 404 while ``res_ari`` is still loading: retried with
  backoff like a refused connection. 401/403 cannot heal by retrying: raised at once.
* A second connection with our app name takes the app over and we get ``ApplicationReplaced``
  and then silence. Reconnecting would steal it back and start a tug of war: fatal instead.
* ``ari.conf websocket_write_timeout`` (100 ms) drops consumers that stop reading. A reader task
  therefore drains the socket continuously into a queue while the handler, awaited one event at a
  time, may be slow; the queue keeps arrival order. The same reader lets Asterisk 22's
  ``RESTResponse`` frames be routed at once (``on_rest_response``) even while the handler waits
  for one of them.
* Half-open TCP connections (Asterisk host gone, no FIN) are found by websocket pings.
* REST over this websocket (:mod:`ari_callback.ari.ws_transport`): every connection is probed
  before ``on_connect`` runs, so the requests it leads to can already use it.
* The application's event filter lives in Asterisk as long as the app does, and is lost when
  Asterisk restarts: it is set again on every (re)connect, before ``on_connect``. Asterisk
  filters ``RESTResponse`` frames too, so the stream always allows them, and
  ``ApplicationReplaced``, which it must see.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.protocol import State

from ari_callback.ari.errors import (
    ApplicationReplacedError,
    AriAuthError,
    AriError,
    EventDecodeError,
)
from ari_callback.ari.models import ApplicationReplaced, Event, RestResponse, decode_event
from ari_callback.ari.transport import AriRequest, AriResponse, AriTransport, HttpTransport
from ari_callback.ari.ws_transport import WebSocketTransport

logger = logging.getLogger("ari_callback.ari")

Handler = Callable[[Event], Awaitable[None]]
OnConnect = Callable[[], Awaitable[None]]
Connect = Callable[..., Awaitable[Any]]

# Queue items: an event, an exception the reader hit (re-raised by run), None for "closed".
_Item = Event | BaseException | None

# What the stream itself needs whatever the caller's filter says (see the module docstring).
STREAM_EVENT_TYPES = ("ApplicationReplaced", "RESTResponse")


def event_filter_request(app: str, allowed: Sequence[str]) -> AriRequest:
    """``PUT /applications/{app}/eventFilter`` allowing ``allowed`` plus the stream's own types.

    The body is top-level ``allowed``/``disallowed`` (a body wrapped in ``"filter"`` is ignored
    without an error); the empty ``disallowed`` clears any list set earlier, which would win.
    """
    types = sorted(set(allowed) | set(STREAM_EVENT_TYPES))
    body = {"allowed": [{"type": t} for t in types], "disallowed": []}
    return AriRequest("PUT", f"/applications/{quote(app, safe='')}/eventFilter", json=body)


def events_url(base_url: str, app: str, subscribe_all: bool) -> str:
    """``http://host:8088`` -> ``ws://host:8088/ari/events?app=...&subscribeAll=...``."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme in ("https", "wss") else "ws"
    query = urlencode({"app": app, "subscribeAll": "true" if subscribe_all else "false"})
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ari/events", query, ""))


def _basic_auth(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class EventStream:
    """One Stasis application's event websocket, kept connected until :meth:`stop`."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        app: str,
        *,
        subscribe_all: bool = False,
        backoff_initial: float = 0.25,
        backoff_max: float = 5.0,
        ping_interval: float = 5.0,
        ping_timeout: float = 5.0,
        open_timeout: float = 10.0,
        connect: Connect | None = None,
        on_rest_response: Callable[[RestResponse], None] | None = None,
        event_filter: Sequence[str] | None = None,
        rest_probe_timeout: float = 1.0,
        filter_transport: AriTransport | None = None,
    ) -> None:
        """``event_filter``: the event types to receive (the stream adds its own); None leaves
        Asterisk's setting alone. ``filter_transport``: what carries the filter request
        (default: one HTTP request per connect; its answer lists every channel of the app,
        too big for the websocket, see ws_transport.py)."""
        self.app = app
        # Credentials travel in a header: the URL ends up in logs and exception messages.
        self.url = events_url(base_url, app, subscribe_all)
        self._headers = {"Authorization": _basic_auth(username, password)}
        self._http_login = (base_url, username, password)
        self.event_filter = tuple(event_filter) if event_filter is not None else None
        self._filter_transport = filter_transport
        # REST over this stream's websocket; AriClient.use_websocket(stream) sends through it.
        self.rest = WebSocketTransport(probe_timeout=rest_probe_timeout)
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._open_timeout = open_timeout
        self._connect: Connect = connect or ws_connect
        self._on_rest_response = on_rest_response
        self.connected = asyncio.Event()
        self.connects = 0   # for /metrics: every one after the first is a reconnect
        self._stopping = asyncio.Event()
        self._ws: Any = None

    async def stop(self) -> None:
        """End :meth:`run` cleanly; a handler already running finishes first.

        Events already received but not yet handed over are dropped: the engine reconciles on
        its next start anyway. A stopped stream stays stopped (run() returns at once).
        """
        self._stopping.set()
        if self._ws is not None:
            await self._ws.close()

    async def run(self, handler: Handler, on_connect: OnConnect | None = None) -> None:
        """Deliver events to ``handler`` until :meth:`stop`; reconnect on every drop.

        Raises :class:`AriAuthError`, :class:`ApplicationReplacedError`, and whatever
        ``handler`` or ``on_connect`` raise: hiding those would hide bugs.
        """
        delay = self._backoff_initial
        while not self._stopping.is_set():
            ws = await self._open()
            if ws is not None:
                # The backoff restarts only once Asterisk accepted us again.
                delay = self._backoff_initial
                await self._serve(ws, handler, on_connect)
                if self._stopping.is_set():
                    break
                logger.warning("ARI websocket for app %r dropped; reconnecting", self.app)
            # Also after a drop: a server that accepts and closes at once must not spin us.
            await self._sleep(delay)
            delay = min(delay * 2, self._backoff_max)
        logger.info("ARI event stream for app %r stopped", self.app)

    async def _open(self) -> Any:
        """Connect once; None means "retry later", fatal conditions raise."""
        try:
            ws = await self._connect(
                self.url,
                additional_headers=self._headers,
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_timeout,
                open_timeout=self._open_timeout,
                # A peer that misses pings will not answer a close frame either.
                close_timeout=self._ping_timeout,
                # An inherited HTTP(S)_PROXY must not divert call control from Asterisk.
                proxy=None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise AriAuthError(status) from exc
            logger.warning("ARI websocket handshake answered %s (Asterisk starting?)", status)
            return None
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
            logger.warning("ARI websocket connect to %s failed: %r", self.url, exc)
            return None
        logger.info("ARI websocket connected for app %r", self.app)
        return ws

    async def _serve(self, ws: Any, handler: Handler, on_connect: OnConnect | None) -> None:
        """Run one connection until it drops or the stream stops."""
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._ws = ws
        self.connects += 1
        self.connected.set()
        reader = asyncio.create_task(self._read(ws, queue))
        try:
            if self._stopping.is_set():
                return
            await self.rest.bind(ws.send, lambda: bool(ws.state is State.OPEN))
            await self._apply_event_filter()
            if on_connect is not None:
                await on_connect()
            await self._deliver(queue, handler)
        finally:
            self.connected.clear()
            self._ws = None
            self.rest.unbind()
            reader.cancel()
            # asyncio.wait neither raises the reader's CancelledError nor swallows ours.
            await asyncio.wait([reader])
            await ws.close()

    async def _deliver(self, queue: asyncio.Queue[_Item], handler: Handler) -> None:
        while not self._stopping.is_set():
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, ApplicationReplaced):
                logger.error(
                    "Stasis app %r was taken over by another ARI connection; stopping. "
                    "Give every running instance its own app name.",
                    self.app,
                )
                raise ApplicationReplacedError(self.app)
            await handler(item)

    async def _read(self, ws: Any, queue: asyncio.Queue[_Item]) -> None:
        """Drain the socket so Asterisk never sees a slow consumer; order is kept by the queue."""
        try:
            async for frame in ws:
                event = self._decode(frame)
                if event is None:
                    continue
                if isinstance(event, RestResponse):
                    self.rest.deliver(event)
                    if self._on_rest_response is not None:
                        self._on_rest_response(event)
                    continue
                self.rest.observe(event)
                queue.put_nowait(event)
        except ConnectionClosed as exc:
            # run() logs the drop as a warning; this adds the close code and reason.
            logger.info("ARI websocket closed: %s", exc)
        except Exception as exc:  # handed to run(): a bug must surface, not look like a drop
            queue.put_nowait(exc)
        finally:
            self.connected.clear()
            queue.put_nowait(None)

    async def _apply_event_filter(self) -> None:
        """Set the app's event filter; failing leaves the events unfiltered, which is safe."""
        if self.event_filter is None:
            return
        request = event_filter_request(self.app, self.event_filter)
        try:
            response = await self._send_filter(request)
        except AriError as exc:
            logger.warning("could not set the event filter of app %r: %s", self.app, exc)
            return
        if response.status >= 400:
            logger.warning("Asterisk refused the event filter of app %r: %s %s",
                           self.app, response.status, response.text[:200])
        else:
            logger.info("event filter of app %r: %d event types", self.app,
                        len(request.json["allowed"]))

    async def _send_filter(self, request: AriRequest) -> AriResponse:
        if self._filter_transport is not None:
            return await self._filter_transport.send(request)
        http = HttpTransport(*self._http_login, max_connections=1)
        try:
            return await http.send(request)
        finally:
            await http.aclose()

    @staticmethod
    def _decode(frame: str | bytes) -> Event | None:
        try:
            return decode_event(frame)
        except EventDecodeError as exc:
            # One bad frame must not take the call control loop down with it.
            logger.warning("skipping undecodable ARI frame %.200r: %s", frame, exc)
            return None

    async def _sleep(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)
