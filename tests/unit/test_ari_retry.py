"""AriClient on the fake transports: which requests are resent when their outcome is unknown.

R8 (reliability.md): an originate retried after a REST timeout gives exactly one channel per
leg over 100 trials. The fake Asterisk answers 409 to a duplicate channel id, as Asterisk does.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from ari_callback.ari.client import AriClient
from ari_callback.ari.errors import AriError, AriOutcomeUnknown, AriRequestNotSent
from ari_callback.ari.models import Bridge, Channel
from ari_callback.ari.transport import AriRequest, FallbackTransport
from ari_callback.ari.ws_transport import WebSocketTransport
from tests.fakes.ari import FakeSocket, FakeTransport, Fault
from tests.fakes.asterisk import FakeAsterisk

TRIALS = 100
LEGS = 3


def client_on(fake: FakeTransport, retries: int = 1) -> AriClient:
    return AriClient("http://fake.invalid", "cb", "pw", rest_transport=fake,
                     unknown_outcome_retries=retries)


def originates(request: AriRequest) -> bool:
    return request.method == "POST" and request.path == "/channels"


async def originate(ari: AriClient, leg: str) -> Channel:
    return await ari.originate("Local/1001@test-phones", channel_id=leg, app="cb",
                               formats="ulaw", variables={"CB_ROLE": "src"})


@pytest.mark.parametrize("fault", [Fault.LOST_REQUEST, Fault.LOST_RESPONSE])
async def test_given_originate_outcome_unknown_then_resent_and_one_channel(fault: Fault) -> None:
    asterisk = FakeAsterisk()
    fake = FakeTransport(asterisk)
    fake.inject(fault, when=originates)
    channel = await originate(client_on(fake), "cb-1-src0")
    assert channel.id == "cb-1-src0"
    assert asterisk.created["cb-1-src0"] == 1
    sent = [(r.method, r.path) for r, _ in fake.attempts]
    if fault is Fault.LOST_RESPONSE:
        # The resend met our own channel (409): the client fetched it instead of failing.
        assert sent == [("POST", "/channels")] * 2 + [("GET", "/channels/cb-1-src0")]
    else:
        assert sent == [("POST", "/channels")] * 2


async def test_given_every_attempt_unknown_then_the_error_says_so() -> None:
    fake = FakeTransport(FakeAsterisk())
    fake.inject(Fault.LOST_RESPONSE, when=originates, times=5)
    with pytest.raises(AriOutcomeUnknown):
        await originate(client_on(fake, retries=2), "cb-1-src0")
    assert len(fake.attempts) == 3


async def test_given_resend_not_sent_then_still_outcome_unknown() -> None:
    fake = FakeTransport(FakeAsterisk())
    fake.inject(Fault.LOST_RESPONSE, when=originates)
    fake.inject(Fault.NOT_SENT, when=originates)
    with pytest.raises(AriOutcomeUnknown):
        await originate(client_on(fake), "cb-1-src0")


async def test_given_not_sent_then_raised_at_once_without_resend() -> None:
    fake = FakeTransport(FakeAsterisk())
    fake.inject(Fault.NOT_SENT)
    with pytest.raises(AriRequestNotSent):
        await originate(client_on(fake), "cb-1-src0")
    assert len(fake.attempts) == 1


async def test_given_first_attempt_conflicts_then_409_raised_not_fetched() -> None:
    asterisk = FakeAsterisk()
    fake = FakeTransport(asterisk)
    ari = client_on(fake)
    await originate(ari, "cb-1-src0")
    with pytest.raises(AriError) as caught:
        await originate(ari, "cb-1-src0")
    assert caught.value.conflict
    assert [r.method for r, _ in fake.attempts] == ["POST", "POST"]


async def test_given_resend_conflicts_but_channel_already_gone_then_409_raised() -> None:
    asterisk = FakeAsterisk()
    fake = FakeTransport(asterisk)
    fake.inject(Fault.LOST_RESPONSE, when=originates)
    fake.inject(Fault.LOST_REQUEST, when=lambda r: r.method == "GET")
    fake.inject(Fault.LOST_REQUEST, when=lambda r: r.method == "GET")
    with pytest.raises(AriError) as caught:
        await originate(client_on(fake), "cb-1-src0")
    assert caught.value.conflict
    assert asterisk.created["cb-1-src0"] == 1


async def test_given_bridge_create_response_lost_then_bridge_returned_once() -> None:
    asterisk = FakeAsterisk()
    fake = FakeTransport(asterisk)
    fake.inject(Fault.LOST_RESPONSE, when=lambda r: r.path == "/bridges")
    bridge = await client_on(fake).create_bridge("cb-1", name="cb:1")
    assert isinstance(bridge, Bridge) and bridge.id == "cb-1"
    assert list(asterisk.bridges) == ["cb-1"]


async def test_given_hangup_response_lost_then_resend_finds_nothing_and_says_404() -> None:
    asterisk = FakeAsterisk()
    fake = FakeTransport(asterisk)
    ari = client_on(fake)
    await originate(ari, "cb-1-src0")
    fake.inject(Fault.LOST_RESPONSE, when=lambda r: r.method == "DELETE")
    with pytest.raises(AriError) as caught:
        await ari.hangup("cb-1-src0")
    # The executor reads 404 on a hangup as "already gone": the right answer here.
    assert caught.value.not_found
    assert len(asterisk.events_of("ChannelDestroyed")) == 1


@pytest.mark.parametrize("call", ["dial", "dtmf", "add"])
async def test_given_unsafe_request_outcome_unknown_then_not_resent(call: str) -> None:
    fake = FakeTransport(FakeAsterisk())
    fake.inject(Fault.LOST_REQUEST)
    ari = client_on(fake)
    with pytest.raises(AriOutcomeUnknown):
        if call == "dial":
            await ari.dial("cb-1-dst", timeout=0)
        elif call == "dtmf":
            await ari.send_dtmf("cb-1-dst", "123")
        else:
            await ari.add_channel("cb-1", "cb-1-dst")
    assert len(fake.attempts) == 1


async def test_given_read_outcome_unknown_then_resent() -> None:
    fake = FakeTransport(FakeAsterisk())
    fake.inject(Fault.LOST_RESPONSE, when=lambda r: r.path == "/channels")
    assert await client_on(fake).list_channels() == []
    assert len(fake.attempts) == 2


def pick_fault(rng: random.Random) -> Fault | None:
    return rng.choice([None, Fault.LOST_REQUEST, Fault.LOST_RESPONSE])


async def one_trial_over_http(rng: random.Random, trial: int) -> FakeAsterisk:
    asterisk = FakeAsterisk()
    fake = FakeTransport(asterisk)
    legs = [f"cb-{trial}-src{i}" for i in range(LEGS)]
    for leg in legs:
        if (fault := pick_fault(rng)) is not None:
            fake.inject(fault, when=lambda r, leg=leg: originates(r) and
                        r.params.get("channelId") == leg, delay=rng.choice([0, 0.001]))
    ari = client_on(fake)
    channels = await asyncio.gather(*(originate(ari, leg) for leg in legs))
    assert [c.id for c in channels] == legs
    return asterisk


async def test_r8_given_100_trials_over_http_with_injected_timeouts_then_one_channel_per_leg() -> None:
    rng = random.Random(8)
    for trial in range(TRIALS):
        asterisk = await one_trial_over_http(rng, trial)
        assert set(asterisk.channels) == {f"cb-{trial}-src{i}" for i in range(LEGS)}
        assert all(count == 1 for count in asterisk.created.values()), asterisk.created


async def one_trial_over_websocket(rng: random.Random, trial: int) -> FakeAsterisk:
    """Faults on the websocket: the socket drops after the frame left (or times out), the
    resend goes over HTTP (the fallback) to the same Asterisk."""
    asterisk = FakeAsterisk()
    # Long enough that a loaded machine answers a resend in time; each injected timeout waits it out.
    ws = WebSocketTransport(timeout=0.2)
    socket = FakeSocket(ws, asterisk)
    await socket.connect()
    http = FakeTransport(asterisk)
    ari = client_on(http)
    ari._transport = FallbackTransport(ws, http)
    legs = [f"cb-{trial}-src{i}" for i in range(LEGS)]
    for leg in legs:
        if (fault := pick_fault(rng)) is not None:
            socket.inject(fault, drop=rng.random() < 0.5,
                          when=lambda r, leg=leg: originates(r) and r.params.get("channelId") == leg)
    channels = await asyncio.gather(*(originate(ari, leg) for leg in legs))
    assert [c.id for c in channels] == legs
    return asterisk


async def test_r8_given_100_trials_over_websocket_with_drops_and_timeouts_then_one_channel_per_leg(
) -> None:
    rng = random.Random(22)
    for trial in range(TRIALS):
        asterisk = await one_trial_over_websocket(rng, trial)
        assert set(asterisk.channels) == {f"cb-{trial}-src{i}" for i in range(LEGS)}
        assert all(count == 1 for count in asterisk.created.values()), asterisk.created
