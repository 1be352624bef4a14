"""Webhooks end to end: a real ``ari-callback serve`` process, callbacks on the real Asterisk,
and a real HTTP receiver on 127.0.0.1. Events arrive signed and in order, a receiver answering
500 is retried, a delivery can be replayed, and what was pending when the server was killed is
delivered after it comes back (R23)."""

from __future__ import annotations

import asyncio
import time

import yaml

from ari_callback.webhooks.signing import verify
from tests.webhook_receiver import Receiver, Running

from .test_cli import _config, _free_port
from .test_restart import Server, _place

SECRET = "e2e-webhook-secret-0123"
FINAL = "callback.completed"


async def _server(asterisk, tmp_path, receiver: Receiver) -> Server:
    port = _free_port()
    config = _config(asterisk, tmp_path, port)
    data = yaml.safe_load(config.read_text())
    data["clients"]["default"]["webhooks"] = [{"id": "crm", "url": receiver.url, "secret": SECRET}]
    data["webhook_delivery"] = {"first_retry_seconds": 0.5, "max_retry_seconds": 1.0, "poll_interval": 0.1,
                                "timeout": 2.0}
    config.write_text(yaml.safe_dump(data))
    server = Server(config, port)
    await server.start()
    return server


def _accepted(receiver: Receiver, call_id: str) -> list[dict]:
    return receiver.events(call_id, accepted_only=True)


def _got_final(call_id: str):
    return lambda received: any(r.event["callback_id"] == call_id and r.event["type"] == FINAL and r.status == 200
                                for r in received)


async def _log(server: Server, call_id: str) -> list[dict]:
    response = await server.http.get(f"/v1/callbacks/{call_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


async def _log_settles(server: Server, call_id: str, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        log = await _log(server, call_id)
        if log and all(d["status"] == "delivered" for d in log):
            return log
        assert time.monotonic() < deadline, log
        await asyncio.sleep(0.1)


async def test_given_a_callback_then_signed_events_arrive_in_order_after_a_500_and_replay_works(asterisk, tmp_path):
    async with Running(Receiver(answers=[500])) as receiver:
        server = await _server(asterisk, tmp_path, receiver)
        try:
            call_id = await _place(server, src=["1001"], dst="6002")
            await server.until(call_id, lambda r: r["finished"], timeout=40)
            await receiver.wait_for(_got_final(call_id), timeout=30)
            for got in receiver.received:   # every request, the refused one too, is signed
                assert verify(SECRET, got.headers["x-callback-signature"], got.body, now=time.time())
                assert got.headers["x-callback-event-id"] == str(got.event["id"])
            events = _accepted(receiver, call_id)
            types = [e["type"] for e in events]
            assert types[:3] == ["callback.queued", "callback.dialling", "callback.ringing"], types
            assert types[-2:] == ["attempt.completed", FINAL], types
            assert {"callback.answered", "callback.connected"} <= set(types), types
            ids = [e["id"] for e in events]
            assert ids == sorted(ids) and len(set(ids)) == len(ids)   # in order, each once (it was accepted)
            refused = receiver.received[0]
            assert (refused.status, refused.event["type"]) == (500, "callback.queued")
            assert receiver.received[1].event["id"] == refused.event["id"]   # the same event, retried
            connected = next(e for e in events if e["type"] == "callback.connected")
            assert {leg["role"] for leg in connected["data"]["legs"]} == {"src", "dst"}
            assert all(leg["answered_at"] for leg in connected["data"]["legs"])
            completed = events[-1]["data"]
            assert (completed["status_detail"], completed["ended_by"]) == ("answered", "dst")

            log = await _log_settles(server, call_id)
            assert [d["event_id"] for d in log] == ids
            assert [t["status_code"] for t in log[0]["tries"]] == [500, 200]

            replay = await server.http.post(f"/v1/deliveries/{log[-1]['id']}/replay")
            assert replay.status_code == 202, replay.text
            again = await receiver.wait_for(lambda r: sum(x.event["id"] == ids[-1] for x in r) == 2, timeout=10)
            resent = [x for x in again if x.event["id"] == ids[-1]]
            assert resent[0].body == resent[1].body   # same event, same body, signed afresh
            assert verify(SECRET, resent[1].headers["x-callback-signature"], resent[1].body, now=time.time())
            other = await server.http.post(f"/v1/deliveries/{log[-1]['id']}/replay",
                                           headers={"X-API-Key": "other-client-key"})
            assert (other.status_code, other.json()["error_id"]) == (404, "delivery_not_found")
        finally:
            await server.stop()


async def test_given_the_server_killed_while_the_receiver_fails_then_everything_is_delivered_after_restart(
        asterisk, tmp_path):
    async with Running(Receiver(answers=[503] * 10_000)) as receiver:
        server = await _server(asterisk, tmp_path, receiver)
        try:
            call_id = await _place(server, src=["1001"], dst="6001")
            await server.until(call_id, lambda r: r["finished"], timeout=40)
            await receiver.wait_for(lambda r: len(r) >= 3)   # tried, and refused
            server.kill()
            receiver.answers.clear()   # the receiver is back while the server is down
            before = len(receiver.received)
            await asyncio.sleep(0.5)
            assert len(receiver.received) == before
            await server.start()
            await receiver.wait_for(_got_final(call_id), timeout=60)
            log = await _log_settles(server, call_id, timeout=30)
        finally:
            await server.stop()
    accepted = [e["id"] for e in _accepted(receiver, call_id)]
    assert accepted == sorted(accepted) and set(accepted) == {d["event_id"] for d in log}   # none lost
    assert len(set(accepted)) == len(accepted)   # none accepted twice: the outbox position survived
    assert [e["type"] for e in _accepted(receiver, call_id)][-1] == FINAL


async def test_given_the_receiver_down_then_slow_then_up_across_a_restart_then_each_event_arrives_in_order(
        asterisk, tmp_path):
    """R23: down (connection refused), then slower than the timeout, then up, with the server
    killed in between: every event accepted at least once, first acceptances in order."""
    receiver = Receiver(port=_free_port())
    server = await _server(asterisk, tmp_path, receiver)
    try:
        call_id = await _place(server, src=["1001"], dst="6001")
        await server.until(call_id, lambda r: r["finished"], timeout=40)
        log = await _log(server, call_id)
        assert log and "ConnectError" in log[0]["last_error"], log   # down: nobody listens
        async with Running(receiver):
            receiver.delay = 3.0   # slow: past the 2 s timeout
            await receiver.wait_for(lambda r: len(r) >= 1, timeout=20)
            server.kill()
            receiver.delay = 0.0
            await server.start()
            await receiver.wait_for(_got_final(call_id), timeout=60)
            log = await _log_settles(server, call_id, timeout=30)
    finally:
        await server.stop()
    firsts: list[int] = []
    for event in _accepted(receiver, call_id):
        if event["id"] not in firsts:
            firsts.append(event["id"])
    assert firsts == sorted(firsts) == [d["event_id"] for d in log]
    assert all(d["status"] == "delivered" for d in log)


async def test_given_two_instances_on_postgresql_then_each_event_is_sent_by_one_at_a_time_and_accepted_once(
        asterisk, tmp_path, pg_database):
    from .instances import instance_config

    async with Running(Receiver(answers=[500] * 6, delay=0.2)) as receiver:
        servers = []
        for name in ("wh-a", "wh-b"):
            config, port = instance_config(asterisk, tmp_path, name, pg_database, clients={"default": {
                "webhooks": [{"id": "crm", "url": receiver.url, "secret": SECRET}]}})
            data = yaml.safe_load(config.read_text())
            data["webhook_delivery"] = {"first_retry_seconds": 0.3, "max_retry_seconds": 0.6, "poll_interval": 0.1,
                                        "timeout": 2.0}
            config.write_text(yaml.safe_dump(data))
            servers.append(Server(config, port))
        try:
            for server in servers:
                await server.start()
            call_ids = [await _place(servers[i % 2], src=["1001"], dst="6001") for i in range(4)]
            for call_id in call_ids:
                await servers[0].until(call_id, lambda r: r["finished"], timeout=40)
                await receiver.wait_for(_got_final(call_id), timeout=40)
            logs = {call_id: await _log_settles(servers[1], call_id) for call_id in call_ids}
        finally:
            for server in servers:
                await server.stop()
    for call_id in call_ids:
        accepted = [e["id"] for e in _accepted(receiver, call_id)]
        assert accepted == sorted(set(accepted)) == [d["event_id"] for d in logs[call_id]]   # once each, in order
    by_event: dict[int, list] = {}
    for got in receiver.received:
        by_event.setdefault(got.event["id"], []).append(got)
    for tries in by_event.values():   # never two instances sending one event at once
        tries.sort(key=lambda r: r.started)
        assert all(a.at <= b.started for a, b in zip(tries, tries[1:], strict=False)), [
            (r.started, r.at) for r in tries]
