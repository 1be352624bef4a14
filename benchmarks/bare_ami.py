"""A bare AMI client running the callback flow: the lower bound the ARI clients are held to.

AMI ``Originate`` rings the origin ``Local/<src>@test-phones``; once it answers, its channel
runs ``[bench-ami]`` (benchmarks/asterisk_test_ami/extensions_test_ami.conf), which dials the
destination ``Local/<dst>@dst-route`` with ``Dial()``: the same phones and the same routing as
the ARI flow, but Asterisk bridges the parties itself and the client sends one request.
"Origin answered" is the originate's ``DialEnd`` (``DestUniqueid`` = the origin) with
``DialStatus: ANSWER``; "connected" is the dialplan Dial's ``DialEnd`` (``Uniqueid`` = the
origin) with ``ANSWER``. Then an AMI ``Hangup`` of the
origin ends both legs.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

from benchmarks.bare_ari import FlowTimes, Hold, held

Message = dict[str, str]
Predicate = Callable[[Message], bool]


def parse(block: bytes) -> Message:
    message: Message = {}
    for line in block.decode(errors="replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            message.setdefault(key.strip(), value.strip())
    return message


class AmiClient:
    """One AMI connection: actions with ActionIDs, and every event kept in ``events``."""

    def __init__(self) -> None:
        self.events: list[Message] = []
        self._replies: dict[str, asyncio.Future[Message]] = {}
        self._waiters: list[tuple[Predicate, asyncio.Future[Message]]] = []
        self._ids = itertools.count(1)

    async def connect(self, host: str, port: int, username: str, secret: str) -> None:
        self._reader, self._writer = await asyncio.open_connection(host, port)
        await self._reader.readline()   # "Asterisk Call Manager/x.y"
        self._task = asyncio.create_task(self._read())
        # Only call events: what the flow waits for, like the ARI clients' event filter.
        reply = await self.action("Login", Username=username, Secret=secret, Events="call")
        if reply.get("Response") != "Success":
            raise RuntimeError(f"AMI login refused: {reply}")

    async def close(self) -> None:
        self._task.cancel()
        self._writer.close()
        await asyncio.gather(self._task, return_exceptions=True)

    async def action(self, name: str, **fields: str) -> Message:
        action_id = str(next(self._ids))
        reply: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._replies[action_id] = reply
        lines = [f"Action: {name}", f"ActionID: {action_id}"]
        lines += [f"{key}: {value}" for key, value in fields.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        return await asyncio.wait_for(reply, 10)

    async def _read(self) -> None:
        while True:
            message = parse(await self._reader.readuntil(b"\r\n\r\n"))
            if "Response" in message:
                reply = self._replies.pop(message.get("ActionID", ""), None)
                if reply is not None and not reply.done():
                    reply.set_result(message)
            elif "Event" in message:
                self.events.append(message)
                self._wake(message)

    def _wake(self, message: Message) -> None:
        for waiter in list(self._waiters):
            predicate, future = waiter
            if not future.done() and predicate(message):
                future.set_result(message)
                self._waiters.remove(waiter)

    async def wait(self, predicate: Predicate, since: int, timeout: float = 10.0) -> Message:
        for message in self.events[since:]:
            if predicate(message):
                return message
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"no AMI event {predicate!r} within {timeout} s") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)


class event:
    """Matches an AMI event by name and fields; its repr says what a timeout waited for."""

    def __init__(self, kind: str, **fields: str) -> None:
        self.kind, self.fields = kind, fields

    def __call__(self, message: Message) -> bool:
        return message.get("Event") == self.kind and all(
            message.get(k) == v for k, v in self.fields.items())

    def __repr__(self) -> str:
        return f"{self.kind} {self.fields}"


async def ami_callback_flow(ami: AmiClient, name: str, src: str = "1001",
                            dst: str = "1002", hold: Hold = 0.0) -> FlowTimes:
    src_id = f"ami-{name}-src"
    mark, started, requested = len(ami.events), time.perf_counter(), time.time()
    reply = await ami.action(
        "Originate", Channel=f"Local/{src}@test-phones", Context="bench-ami", Exten=dst,
        Priority="1", Async="true", Codecs="ulaw", Timeout="30000",
        ChannelId=src_id, OtherChannelId=f"{src_id}-2")
    if reply.get("Response") != "Success":
        raise RuntimeError(f"AMI Originate refused: {reply}")
    # The originate's own dial ends when the origin answers (no OriginateResponse event comes
    # with Events: call on 22.10.1).
    await ami.wait(event("DialEnd", DestUniqueid=src_id, DialStatus="ANSWER"), mark)
    origin_answered = time.perf_counter() - started
    dial_end = await ami.wait(event("DialEnd", Uniqueid=src_id, DialStatus="ANSWER"), mark)
    connected = time.perf_counter() - started
    await held(hold, (src_id, dial_end["DestUniqueid"]))
    mark, hangup = len(ami.events), time.time()   # as in bare_ari: no rescanning a long hold's events
    await ami.action("Hangup", Channel=dial_end["Channel"])
    for unique_id in (src_id, dial_end["DestUniqueid"]):
        await ami.wait(event("Hangup", Uniqueid=unique_id), mark)
    return FlowTimes(origin_answered, connected, requested, hangup, src_id)
