"""The fake Asterisk answers like Asterisk, so later unit tests of the engine can trust it."""

from __future__ import annotations

import pytest

from ari_callback.ari.client import AriClient
from ari_callback.ari.errors import AriError
from ari_callback.ari.models import decode_event
from tests.fakes.ari import FakeTransport, respond, script
from tests.fakes.asterisk import FakeAsterisk


def client(asterisk: FakeAsterisk) -> tuple[AriClient, FakeTransport]:
    fake = FakeTransport(asterisk)
    return AriClient("http://fake.invalid", "cb", "pw", rest_transport=fake), fake


async def test_given_a_callback_flow_then_state_and_events_as_asterisk_gives_them() -> None:
    asterisk = FakeAsterisk()
    ari, fake = client(asterisk)
    await ari.originate("Local/1001@test-phones", channel_id="cb-1-src0", app="cb")
    await ari.create_bridge("cb-1")
    await ari.add_channel("cb-1", "cb-1-src0")
    await ari.create_channel("Local/1002@dst-route", channel_id="cb-1-dst", app="cb",
                             variables={"CB_ROLE": "dst"})
    await ari.add_channel("cb-1", "cb-1-dst")
    await ari.dial("cb-1-dst", timeout=0)
    await ari.set_variable("cb-1-dst", "TIMEOUT(absolute)", "60")
    assert await ari.get_variable("cb-1-dst", "CB_ROLE") == "dst"
    playback = await ari.play_on_bridge("cb-1", ["sound:hello"], playback_id="cb-1-pb1")
    assert (await ari.get_bridge("cb-1")).channels == ["cb-1-src0", "cb-1-dst"]
    assert (await ari.get_application("cb"))["channel_ids"] == ["cb-1-src0", "cb-1-dst"]
    for leg in ("cb-1-src0", "cb-1-dst"):
        await ari.hangup(leg)
    await ari.destroy_bridge("cb-1")
    events = [decode_event(e) for e in asterisk.events]
    assert [e.type for e in events] == [
        "StasisStart", "StasisStart", "Dial", "PlaybackFinished",
        *["ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"] * 2]
    assert playback.id == "cb-1-pb1"
    assert await ari.list_channels() == [] and await ari.list_bridges() == []
    assert len(fake.requests) == 16


@pytest.mark.parametrize(("call", "status"), [
    (lambda ari: ari.hangup("none"), 404),
    (lambda ari: ari.dial("none"), 404),
    (lambda ari: ari.destroy_bridge("none"), 404),
    (lambda ari: ari.add_channel("none", "x"), 404),
    (lambda ari: ari.get_channel("none"), 404),
    (lambda ari: ari.request("GET", "/no/such/route"), 404),
])
async def test_given_missing_ids_then_404(call, status: int) -> None:
    ari, _ = client(FakeAsterisk())
    with pytest.raises(AriError) as caught:
        await call(ari)
    assert caught.value.status == status


async def test_given_duplicate_ids_then_409_until_the_channel_is_gone() -> None:
    asterisk = FakeAsterisk()
    ari, _ = client(asterisk)
    await ari.originate("L/1", channel_id="a", app="cb")
    with pytest.raises(AriError) as caught:
        await ari.create_channel("L/1", channel_id="a", app="cb")
    assert caught.value.conflict
    await ari.hangup("a")
    await ari.originate("L/1", channel_id="a", app="cb")   # Asterisk allows reuse once gone
    assert asterisk.created["a"] == 2


async def test_given_scripted_responses_then_returned_in_order() -> None:
    fake = FakeTransport(script(respond(200, {"value": "x"}), respond(404, {"message": "no"})))
    ari = AriClient("http://fake.invalid", "cb", "pw", rest_transport=fake)
    assert await ari.get_variable("c", "V") == "x"
    with pytest.raises(AriError):
        await ari.get_variable("c", "V")
    assert [r.params for r in fake.requests] == [{"variable": "V"}] * 2
