"""REST over the ARI event websocket: ``RESTRequest`` frames out, ``RESTResponse`` frames back.

Asterisk 22.4 (also 20.14 and 21.9) answers ``RESTRequest`` messages sent on ``/ari/events``;
older versions read them and say nothing. So every new connection is probed with
``GET asterisk/ping``; until (unless) that is answered, :meth:`WebSocketTransport.accepts`
says no and :class:`~ari_callback.ari.transport.FallbackTransport` uses HTTP. A late answer to
the probe still switches the connection over.

What Asterisk does that shapes this (verified on 22.10.1):

* ``uri`` is relative to ``/ari`` *without* a leading slash (``/asterisk/ping`` gets 405);
  id segments are percent-decoded as over HTTP. Parameters travel as ``query_strings``
  name/value pairs, so nothing needs URL-encoding.
* ``RESTResponse`` frames go through the application's event filter like events: a filter
  that does not allow ``RESTResponse`` swallows every answer (the stream always allows it).
* Requests on one websocket run one at a time; see :mod:`ari_callback.ari.busy`.
* Asterisk builds each outgoing websocket frame on its thread's stack (``ast_websocket_write``
  uses ``alloca``). A 373 KB ``RESTResponse`` (``GET /channels`` with 800 channels) arrived;
  a 650 KB one (1,400 channels) killed Asterisk with SIGSEGV. So requests whose answer grows
  with the number of calls (every GET, and the event filter, answered with the app's channel
  ids) always go over HTTP. None of them is on a call's hot path.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ari_callback.ari.busy import BusyChannels
from ari_callback.ari.errors import AriOutcomeUnknown, AriRequestNotSent
from ari_callback.ari.models import Event, RestResponse
from ari_callback.ari.transport import AriRequest, AriResponse

logger = logging.getLogger("ari_callback.ari")

SendFrame = Callable[[str], Awaitable[None]]
IsOpen = Callable[[], bool]

PING = AriRequest("GET", "/asterisk/ping")


def answer_grows_with_calls(request: AriRequest) -> bool:
    """Whether Asterisk's answer to ``request`` may grow with the number of channels."""
    return request.method == "GET" or request.path.endswith("/eventFilter")


def encode_request(request: AriRequest, request_id: str) -> str:
    """One ``RESTRequest`` frame for ``request``."""
    frame: dict[str, Any] = {
        "type": "RESTRequest",
        "transaction_id": request_id,
        "request_id": request_id,
        "method": request.method,
        "uri": request.path.lstrip("/"),
    }
    if request.params:
        frame["query_strings"] = [{"name": k, "value": v} for k, v in request.params.items()]
    if request.json is not None:
        frame["content_type"] = "application/json"
        frame["message_body"] = json.dumps(request.json)
    return json.dumps(frame)


class WebSocketTransport:
    """Sends requests on whichever event websocket is connected now.

    The :class:`~ari_callback.ari.stream.EventStream` owns one and tells it about each
    connection (:meth:`bind`, :meth:`unbind`), each ``RESTResponse`` (:meth:`deliver`) and each
    event (:meth:`observe`, for :class:`~ari_callback.ari.busy.BusyChannels`).
    """

    def __init__(self, *, timeout: float = 10.0, probe_timeout: float = 1.0) -> None:
        self.timeout = timeout
        self.probe_timeout = probe_timeout
        self.busy = BusyChannels()
        self.supported = False   # the connected Asterisk answered a RESTRequest
        self.sent = 0            # request frames written, probes excluded (tests, benchmarks)
        self._send_frame: SendFrame | None = None
        self._is_open: IsOpen = lambda: False
        self._pending: dict[str, asyncio.Future[RestResponse]] = {}
        self._ids = itertools.count(1)
        self._connection = 0

    @property
    def available(self) -> bool:
        return self.supported and self._send_frame is not None and self._is_open()

    def accepts(self, request: AriRequest) -> bool:
        return (self.available and not answer_grows_with_calls(request)
                and not self.busy.blocks(request))

    async def bind(self, send_frame: SendFrame, is_open: IsOpen) -> None:
        """A new connection: probe it, waiting up to ``probe_timeout`` for the answer."""
        self.unbind()
        self._connection += 1
        self._send_frame, self._is_open = send_frame, is_open
        probe_id, probe = self._register()
        probe.add_done_callback(self._probe_answered(self._connection))
        try:
            await send_frame(encode_request(PING, probe_id))
        except Exception as exc:  # the connection died under us: the stream reconnects
            logger.info("REST-over-websocket probe not sent: %r", exc)
            return
        await asyncio.wait({probe}, timeout=self.probe_timeout)
        if not self.supported:
            logger.info("Asterisk did not answer a RESTRequest within %.1f s: REST goes over "
                        "HTTP on this connection", self.probe_timeout)

    def unbind(self) -> None:
        """The connection is gone: requests waiting on it have an unknown outcome."""
        self._send_frame, self._is_open, self.supported = None, lambda: False, False
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionError("websocket closed before the answer came"))

    def deliver(self, response: RestResponse) -> None:
        future = self._pending.pop(response.request_id, None)
        if future is None or future.done():
            logger.debug("RESTResponse for no waiting request: %s", response.request_id)
            return
        future.set_result(response)

    def observe(self, event: Event) -> None:
        self.busy.observe(event)

    async def send(self, request: AriRequest) -> AriResponse:
        send_frame = self._send_frame
        if not self.available or send_frame is None:
            raise AriRequestNotSent(request.method, request.path, None,
                                    "no websocket that carries REST")
        request_id, future = self._register()
        try:
            return await asyncio.wait_for(
                self._exchange(send_frame, request, request_id, future), self.timeout
            )
        except (TimeoutError, ConnectionError, OSError) as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise AriOutcomeUnknown(request.method, request.path, None, detail) from exc
        finally:
            self._pending.pop(request_id, None)

    async def _exchange(self, send_frame: SendFrame, request: AriRequest, request_id: str,
                        future: asyncio.Future[RestResponse]) -> AriResponse:
        try:
            await send_frame(encode_request(request, request_id))
        except Exception as exc:
            # websockets may raise after writing part or all of the frame: not "never sent".
            raise ConnectionError(f"websocket send failed: {exc!r}") from exc
        self.sent += 1
        self.busy.note_sent(request)
        response = await future
        return AriResponse(response.status_code, response.message_body or "")

    def _register(self) -> tuple[str, asyncio.Future[RestResponse]]:
        request_id = str(next(self._ids))
        future: asyncio.Future[RestResponse] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        return request_id, future

    def _probe_answered(
        self, connection: int
    ) -> Callable[[asyncio.Future[RestResponse]], None]:
        # Also marks a failed probe's exception as retrieved: nobody else awaits it.
        def answered(future: asyncio.Future[RestResponse]) -> None:
            if connection != self._connection or future.cancelled() or future.exception():
                return
            if future.result().status_code != 200:
                logger.warning("Asterisk answered the REST-over-websocket probe with %s: "
                               "REST goes over HTTP", future.result().status_code)
                return
            self.supported = True
            logger.info("Asterisk answers REST over the websocket: using it")
        return answered
