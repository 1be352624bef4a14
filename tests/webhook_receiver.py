"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 (uvicorn, in the test's
event loop) that records every request and answers what the test scripted (default 200)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass, field

import uvicorn


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    status: int   # what the receiver answered
    started: float = 0.0   # when the request came in (``at``: when it was answered)

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)   # the next answers, in order; then 200
    delay: float = 0.0                                  # seconds before answering
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __call__(self, scope, receive, send) -> None:   # the ASGI app
        if scope["type"] != "http":
            return
        started = time.time()
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.answers.pop(0) if self.answers else 200
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        async with self._changed:
            self.received.append(Received(time.time(), scope["path"], headers, body, status, started))
            self._changed.notify_all()
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok" if status < 300 else b"no"})

    def events(self, callback_id: str | None = None, accepted_only: bool = False) -> list[dict]:
        return [r.event for r in self.received if (callback_id is None or r.event["callback_id"] == callback_id)
                and (not accepted_only or 200 <= r.status < 300)]

    async def wait_for(self, predicate, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not predicate(self.received):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"receiver: not there within {timeout} s; got "
                                         f"{[(r.event['id'], r.event['type'], r.status) for r in self.received]}")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    pass
            return list(self.received)


class Running:
    """``async with Running(receiver)``: the receiver listens on a free port of 127.0.0.1."""

    def __init__(self, receiver: Receiver):
        self.receiver = receiver

    async def __aenter__(self) -> Receiver:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.receiver.port))
        self.receiver.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.receiver, log_level="warning", lifespan="off"))
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]))
        while not self.server.started:
            await asyncio.sleep(0.01)
        return self.receiver

    async def __aexit__(self, *exc) -> None:
        self.server.should_exit = True
        await self.task
