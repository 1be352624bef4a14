"""WebSocketTransport against a fake socket: frames, the probe, timeouts, drops, busy channels."""

from __future__ import annotations

import asyncio
import json

import pytest

from ari_callback.ari.errors import AriOutcomeUnknown, AriRequestNotSent
from ari_callback.ari.models import RestResponse, decode_event
from ari_callback.ari.transport import AriRequest, AriResponse
from ari_callback.ari.ws_transport import WebSocketTransport, encode_request
from tests.fakes.ari import FakeSocket, Fault, requests_of
from tests.fakes.asterisk import FakeAsterisk

pytestmark = pytest.mark.timeout(10)

PING = ("GET", "asterisk/ping")


async def connected(handler: object = None, *, answers_rest: bool = True,
                    timeout: float = 1.0) -> tuple[WebSocketTransport, FakeSocket]:
    transport = WebSocketTransport(timeout=timeout, probe_timeout=0.05)
    socket = FakeSocket(transport, handler or FakeAsterisk(), answers_rest=answers_rest)  # type: ignore[arg-type]
    await socket.connect()
    return transport, socket


def test_given_request_then_frame_as_asterisk_reads_it() -> None:
    request = AriRequest("POST", "/channels/a%3B2/play", {"media": "sound:a+b", "x": "1"},
                         json={"variables": {"V": "1"}})
    frame = json.loads(encode_request(request, "7"))
    assert frame == {
        "type": "RESTRequest", "transaction_id": "7", "request_id": "7", "method": "POST",
        # No leading slash (Asterisk answers 405), id segments stay percent-encoded.
        "uri": "channels/a%3B2/play",
        # Name/value pairs: '+' needs no encoding, unlike a query string.
        "query_strings": [{"name": "media", "value": "sound:a+b"}, {"name": "x", "value": "1"}],
        "content_type": "application/json", "message_body": '{"variables": {"V": "1"}}',
    }


def test_given_request_without_params_or_body_then_minimal_frame() -> None:
    frame = json.loads(encode_request(AriRequest("GET", "/asterisk/ping"), "1"))
    assert set(frame) == {"type", "transaction_id", "request_id", "method", "uri"}


async def test_given_asterisk_answers_the_probe_then_requests_go_as_frames() -> None:
    asterisk = FakeAsterisk()
    transport, socket = await connected(asterisk)
    assert transport.available and transport.supported
    response = await transport.send(AriRequest("POST", "/bridges", {"bridgeId": "cb-1"}))
    assert response.status == 200 and json.loads(response.text)["id"] == "cb-1"
    assert requests_of(socket.frames) == [PING, ("POST", "bridges")]
    assert "cb-1" in asterisk.bridges
    assert transport.sent == 1   # the probe is not counted


async def test_given_asterisk_before_22_4_then_not_available_and_requests_not_sent() -> None:
    transport, socket = await connected(answers_rest=False)
    assert not transport.available
    assert not transport.accepts(AriRequest("GET", "/channels"))
    with pytest.raises(AriRequestNotSent):
        await transport.send(AriRequest("GET", "/channels"))
    assert requests_of(socket.frames) == [PING]


async def test_given_probe_answered_late_then_connection_switches_over() -> None:
    transport = WebSocketTransport(probe_timeout=0.01)
    socket = FakeSocket(transport, FakeAsterisk(), answers_rest=False)
    await socket.connect()
    assert not transport.available
    probe = socket.frames[0]
    transport.deliver(RestResponse(type="RESTResponse", request_id=probe["request_id"],
                                   status_code=200))
    await asyncio.sleep(0)   # done-callbacks run on the next loop turn
    assert transport.available


async def test_given_probe_refused_then_not_used() -> None:
    transport, _ = await connected(lambda request: AriResponse(401, '{"message": "no"}'))
    assert not transport.available


async def test_given_unbound_then_not_sent() -> None:
    transport = WebSocketTransport()
    with pytest.raises(AriRequestNotSent):
        await transport.send(AriRequest("GET", "/channels"))


async def test_given_no_answer_within_timeout_then_outcome_unknown_and_nothing_pending() -> None:
    transport, socket = await connected(timeout=0.05)
    socket.inject(Fault.LOST_RESPONSE)
    with pytest.raises(AriOutcomeUnknown) as caught:
        await transport.send(AriRequest("POST", "/channels/x/dial"))
    assert caught.value.status is None and "TimeoutError" in caught.value.body
    assert transport._pending == {}


async def test_given_connection_lost_while_waiting_then_outcome_unknown_at_once() -> None:
    transport, socket = await connected(timeout=5.0)
    socket.inject(Fault.LOST_REQUEST, drop=True)
    started = asyncio.get_running_loop().time()
    with pytest.raises(AriOutcomeUnknown):
        await transport.send(AriRequest("POST", "/channels/x/dial"))
    assert asyncio.get_running_loop().time() - started < 1.0
    assert not transport.available


async def test_given_send_raises_then_outcome_unknown_not_not_sent() -> None:
    transport, socket = await connected()

    async def broken(frame: str) -> None:
        raise ConnectionError("reset while writing")

    transport._send_frame = broken
    with pytest.raises(AriOutcomeUnknown):
        await transport.send(AriRequest("DELETE", "/channels/x"))


async def test_given_concurrent_requests_then_each_gets_its_own_answer() -> None:
    delays = {"a": 0.03, "b": 0.0, "c": 0.01}

    async def slow(request: AriRequest) -> AriResponse:
        name = request.path.rsplit("/", 1)[-1]
        await asyncio.sleep(delays.get(name, 0))
        return AriResponse(200, json.dumps({"name": name}))

    transport, _ = await connected(slow)
    answers = await asyncio.gather(*(transport.send(AriRequest("GET", f"/things/{n}"))
                                     for n in "abc"))
    assert [json.loads(a.text)["name"] for a in answers] == ["a", "b", "c"]


async def test_given_stray_or_duplicate_response_then_ignored() -> None:
    transport, _ = await connected()
    transport.deliver(RestResponse(type="RESTResponse", request_id="999", status_code=200))
    assert (await transport.send(AriRequest("GET", "/asterisk/ping"))).status == 200


async def test_given_rebind_then_old_waiters_fail_and_new_connection_is_probed() -> None:
    transport, socket = await connected(timeout=5.0)
    socket.inject(Fault.LOST_RESPONSE)
    waiting = asyncio.create_task(transport.send(AriRequest("POST", "/channels/x/dial")))
    await asyncio.sleep(0.01)
    second = FakeSocket(transport, FakeAsterisk())
    await second.connect()
    with pytest.raises(AriOutcomeUnknown):
        await waiting
    assert transport.available and requests_of(second.frames) == [PING]


async def test_given_channel_sending_dtmf_then_requests_waiting_for_it_are_declined() -> None:
    asterisk = FakeAsterisk()
    transport, _ = await connected(asterisk)
    asterisk(AriRequest("POST", "/channels", {"endpoint": "L/1", "app": "cb", "channelId": "a"}))
    await transport.send(AriRequest("POST", "/channels/a/dtmf", {"dtmf": "W1"}))
    assert not transport.accepts(AriRequest("POST", "/channels/a/variable", {"variable": "X"}))
    assert transport.accepts(AriRequest("POST", "/channels/b/variable", {"variable": "X"}))
    assert transport.accepts(AriRequest("DELETE", "/channels/a"))


async def test_given_playback_finished_event_then_channel_accepted_again() -> None:
    transport, _ = await connected()
    await transport.send(AriRequest("POST", "/channels/a/play", {"playbackId": "p"}))
    add = AriRequest("POST", "/bridges/b/addChannel", {"channel": "a"})
    assert not transport.accepts(add)
    transport.observe(decode_event({"type": "PlaybackFinished",
                                    "playback": {"id": "p", "target_uri": "channel:a"}}))
    assert transport.accepts(add)


async def test_given_request_whose_answer_grows_with_calls_then_declined() -> None:
    transport, _ = await connected()
    assert transport.accepts(AriRequest("POST", "/channels", {"channelId": "a"}))
    assert transport.accepts(AriRequest("DELETE", "/bridges/b"))
    assert not transport.accepts(AriRequest("GET", "/channels"))
    assert not transport.accepts(AriRequest("GET", "/channels/a/variable"))
    assert not transport.accepts(AriRequest("PUT", "/applications/cb/eventFilter"))
