"""Fake ARI transports: drive AriClient (and what sits on it) without Asterisk.

    asterisk = FakeAsterisk()
    fake = FakeTransport(asterisk)                    # or FakeTransport(script(respond(204)))
    fake.inject(Fault.LOST_RESPONSE, when=is_originate)
    ari = AriClient("http://fake", "u", "p", rest_transport=fake)

A fault stands for a timeout or a dropped connection, with the outcome each leaves behind:

- ``NOT_SENT``: nothing left the process (connection refused). Asterisk saw nothing.
- ``LOST_REQUEST``: sent, lost on the way. Asterisk did nothing, and the client cannot know.
- ``LOST_RESPONSE``: Asterisk did it, the answer was lost. The client cannot know either.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ari_callback.ari.errors import AriOutcomeUnknown, AriRequestNotSent
from ari_callback.ari.models import RestResponse
from ari_callback.ari.transport import AriRequest, AriResponse
from ari_callback.ari.ws_transport import WebSocketTransport

Handler = Callable[[AriRequest], AriResponse | Awaitable[AriResponse]]
Match = Callable[[AriRequest], bool]


class Fault(enum.Enum):
    NOT_SENT = "not sent"
    LOST_REQUEST = "request lost"
    LOST_RESPONSE = "response lost"


def respond(status: int = 204, body: Any = None) -> AriResponse:
    return AriResponse(status, "" if body is None else json.dumps(body))


def script(*responses: AriResponse) -> Handler:
    """A handler answering with ``responses`` in order (and failing the test past the end)."""
    queue = list(responses)

    def answer(request: AriRequest) -> AriResponse:
        assert queue, f"no scripted response left for {request.method} {request.path}"
        return queue.pop(0)
    return answer


def anything(request: AriRequest) -> bool:
    return True


@dataclass
class _Injection:
    fault: Fault
    when: Match
    times: int
    delay: float = 0.0
    drop: bool = False


@dataclass
class _Faults:
    """Faults waiting for the request they match; each fires ``times`` times."""

    pending: list[_Injection] = field(default_factory=list)

    def add(self, injection: _Injection) -> None:
        self.pending.append(injection)

    def take(self, request: AriRequest) -> _Injection | None:
        for injection in self.pending:
            if injection.when(request):
                injection.times -= 1
                if injection.times <= 0:
                    self.pending.remove(injection)
                return injection
        return None


async def _answer(handler: Handler, request: AriRequest) -> AriResponse:
    result = handler(request)
    return await result if inspect.isawaitable(result) else result


class FakeTransport:
    """An :class:`~ari_callback.ari.transport.AriTransport` answering from ``handler``.

    ``attempts`` records every send with its fault; ``requests`` only those that reached the
    handler (what "Asterisk" saw).
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.attempts: list[tuple[AriRequest, Fault | None]] = []
        self.requests: list[AriRequest] = []
        self.sent = 0
        self._faults = _Faults()

    def inject(self, fault: Fault, *, when: Match = anything, times: int = 1,
               delay: float = 0.0) -> None:
        """Make the next ``times`` requests matching ``when`` fail with ``fault``, each after
        ``delay`` seconds (a timeout takes time; 0 keeps tests fast)."""
        self._faults.add(_Injection(fault, when, times, delay))

    async def send(self, request: AriRequest) -> AriResponse:
        injection = self._faults.take(request)
        fault = injection.fault if injection else None
        self.attempts.append((request, fault))
        if injection is not None and injection.delay:
            await asyncio.sleep(injection.delay)
        if fault is Fault.NOT_SENT:
            raise AriRequestNotSent(request.method, request.path, None, "injected: not sent")
        self.sent += 1
        if fault is Fault.LOST_REQUEST:
            raise AriOutcomeUnknown(request.method, request.path, None, "injected: request lost")
        self.requests.append(request)
        response = await _answer(self.handler, request)
        if fault is Fault.LOST_RESPONSE:
            raise AriOutcomeUnknown(request.method, request.path, None, "injected: response lost")
        return response


def decode_request(frame: dict[str, Any]) -> AriRequest:
    """What Asterisk makes of a RESTRequest frame (res/ari/ari_websocket_requests.c)."""
    assert frame["type"] == "RESTRequest"
    assert not frame["uri"].startswith("/"), "Asterisk answers 405 to a leading slash"
    params = {p["name"]: p["value"] for p in frame.get("query_strings", [])}
    body = frame.get("message_body")
    if body:
        assert frame.get("content_type") == "application/json"
    return AriRequest(frame["method"], "/" + frame["uri"], params,
                      json.loads(body) if body else None)


class FakeSocket:
    """An event websocket to a fake Asterisk, bound to a :class:`WebSocketTransport`.

    ``answers_rest=False`` plays an Asterisk before 22.4, which reads RESTRequests and says
    nothing. Faults work as for :class:`FakeTransport`, plus ``drop=True``: the connection
    is lost right after the frame went out, so the waiting request fails at once.
    """

    def __init__(self, transport: WebSocketTransport, handler: Handler, *,
                 answers_rest: bool = True) -> None:
        self.transport = transport
        self.handler = handler
        self.answers_rest = answers_rest
        self.frames: list[dict[str, Any]] = []
        self.open = False
        self._faults = _Faults()
        self._tasks: set[asyncio.Task[None]] = set()

    async def connect(self) -> None:
        self.open = True
        await self.transport.bind(self.send, lambda: self.open)

    def drop(self) -> None:
        self.open = False
        self.transport.unbind()

    def inject(self, fault: Fault, *, when: Match = anything, times: int = 1,
               drop: bool = False) -> None:
        """A frame on this socket has always been sent: only the two lost-faults apply."""
        assert fault is not Fault.NOT_SENT, "a frame on the socket has left already"
        self._faults.add(_Injection(fault, when, times, drop=drop))

    async def send(self, frame: str) -> None:
        if not self.open:
            raise ConnectionError("fake websocket closed")
        message = json.loads(frame)
        self.frames.append(message)
        request = decode_request(message)
        injection = self._faults.take(request)
        if injection is not None and injection.drop:
            asyncio.get_running_loop().call_soon(self.drop)
        if injection is None or injection.fault is Fault.LOST_RESPONSE:
            task = asyncio.create_task(self._process(message, request, injection is None))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _process(self, message: dict[str, Any], request: AriRequest, reply: bool) -> None:
        response = await _answer(self.handler, request)
        if reply and self.answers_rest and self.open:
            self.transport.deliver(RestResponse.model_validate({
                "type": "RESTResponse", "request_id": message["request_id"],
                "transaction_id": message["transaction_id"], "status_code": response.status,
                "reason_phrase": "", "uri": message["uri"],
                "message_body": response.text or None,
            }))


def requests_of(frames: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """(method, uri) of each frame, the probe included."""
    return [(f["method"], f["uri"]) for f in frames]
