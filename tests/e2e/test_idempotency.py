"""Idempotency-Key across two real instances on one PostgreSQL (issue 13): 100 concurrent
identical requests, split across the two, start exactly one callback, and every one of them
gets the first answer. And the guard on a real server: a huge body is refused before it is
read, with the server's memory unmoved."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from pathlib import Path

from ari_callback.store import CallbackStore
from tests.pg_server import fresh_database

from .instances import all_final, start_instance

KEY = {"Idempotency-Key": "e2e-one-callback"}


def _rss_kib(pid: int) -> int:
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(found[1]) if found else 0


async def test_given_100_identical_requests_with_one_key_on_two_instances_then_exactly_one_callback(
        asterisk, observer, pg_url, tmp_path):
    async with fresh_database(pg_url) as url:
        clients = {"default": {"max_concurrent_calls": 1000}}
        a = await start_instance(asterisk, tmp_path, "inst-a", url, clients=clients)
        b = await start_instance(asterisk, tmp_path, "inst-b", url, clients=clients)
        try:
            mark = observer.mark()
            started = time.monotonic()
            answers = await asyncio.gather(*(
                (a if i % 2 else b).http.post("/v1/callbacks", json={"src": ["1001"], "dst": "6004"}, headers=KEY)
                for i in range(100)))
            took = time.monotonic() - started
            ids = {r.json().get("id") for r in answers}
            records = await all_final(a, [i for i in ids if i], timeout=60)
            store = await CallbackStore.open(url)
            try:
                stored = await store.list_recent(limit=1000)
            finally:
                await store.close()
        finally:
            await a.stop()
            await b.stop()
    statuses = Counter(r.status_code for r in answers)
    replayed = sum(1 for r in answers if r.headers.get("idempotent-replayed") == "true")
    originates = [e for e in observer.since(mark, "ChannelCreated") if re.fullmatch(r"cb-.+-src\d+", e.channel.id)]
    print(f"\n100 requests with one Idempotency-Key on two instances in {took:.2f} s: {dict(statuses)}, "
          f"{replayed} replayed; {len(stored)} callback stored, {len(originates)} originate")
    assert statuses == {201: 100} and len(ids) == 1 and replayed == 99
    assert len({r.content for r in answers}) == 1
    assert len(stored) == 1 and len(originates) == 1
    assert [r["status"] for r in records.values()] == ["completed"]


async def _raw_post(port: int, headers: dict[str, str], total: int, chunked: bool) -> tuple[str, float, int]:
    """POST ``total`` bytes, reading the answer while still sending (httpx only reads once it
    has sent everything, and fails when the server answers early): the status line, how long
    it took, and how much had been sent by then. With ``Expect: 100-continue`` in ``headers``
    (curl's way for large bodies) the body waits for the server's go-ahead."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(total)}
    head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": "x", "Content-Type": "application/json",
                                                 **framing, **headers}.items())
    started = time.monotonic()
    writer.write(f"POST /v1/callbacks HTTP/1.1\r\n{head}\r\n".encode())
    sent, piece = 0, b"{" * (1024 * 1024)

    async def send() -> None:
        nonlocal sent
        with contextlib.suppress(ConnectionError):   # the server closed after its answer and drain
            while sent < total:
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                await writer.drain()
                sent += len(piece)

    if headers.get("Expect") == "100-continue":
        status = (await asyncio.wait_for(reader.readline(), 10)).decode().strip()
        if not status.startswith("HTTP/1.1 100"):
            writer.close()
            return status, time.monotonic() - started, sent
        await reader.readline()   # the blank line after 100 Continue
    sender = asyncio.ensure_future(send())
    try:
        try:
            status = (await asyncio.wait_for(reader.readline(), 10)).decode().strip()
        except ConnectionResetError:
            # A client still sending when the server closes (its drain of 16 MiB or 1 s is over)
            # gets a reset, which on Linux drops the answer it had not read yet: any HTTP server
            # that answers early does this. What counts is that it was cut off early.
            status = "reset"
        took = time.monotonic() - started
    finally:
        sender.cancel()
        writer.close()
    return status, took, sent


async def test_given_a_huge_body_on_a_real_server_then_401_or_413_at_once_and_memory_bounded(
        asterisk, pg_url, tmp_path):
    async with fresh_database(pg_url) as url:
        server = await start_instance(asterisk, tmp_path, "inst-a", url)
        try:
            before = _rss_kib(server.proc.pid)
            big = 200 * 1024 * 1024
            anonymous = await _raw_post(server.port, {}, big, chunked=False)
            curl = await _raw_post(server.port, {"Expect": "100-continue"}, big, chunked=False)
            streamed = await _raw_post(server.port, {"X-API-Key": "test-key"}, big, chunked=True)
            declared = await _raw_post(server.port, {"X-API-Key": "test-key"}, big, chunked=False)
            announced = await _raw_post(server.port, {"X-API-Key": "test-key", "Expect": "100-continue"}, big,
                                        chunked=False)
            health = (await server.http.get("/health")).json()
            after = _rss_kib(server.proc.pid)
        finally:
            await server.stop()
    for name, (status, took, sent) in {"no key": anonymous, "no key, Expect: 100-continue": curl,
                                       "key, chunked": streamed,
                                       "key, Content-Length": declared,
                                       "key, Content-Length, Expect: 100-continue": announced}.items():
        print(f"\n200 MB, {name}: {status!r} after {took * 1000:.0f} ms, {sent >> 20} MiB sent by then")
    print(f"server RSS {before >> 10} -> {after >> 10} MiB")
    assert anonymous[0].startswith("HTTP/1.1 401") and curl[0].startswith("HTTP/1.1 401") and curl[2] == 0
    assert all(s.startswith("HTTP/1.1 413") or s == "reset" for s, _, _ in (streamed, declared))
    # Refused on its Content-Length alone: a client that waits for 100 Continue reads the 413.
    assert announced[0].startswith("HTTP/1.1 413") and announced[2] == 0
    assert all(took < 1.0 and sent < 64 * 1024 * 1024 for _, took, sent in (anonymous, curl, streamed, declared))
    assert health["status"] == "ok" and after - before < 50 * 1024
