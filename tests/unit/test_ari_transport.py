"""The transports under AriClient: HTTP's failure split, the fallback rule, the busy-channel rule."""

from __future__ import annotations

import httpx
import pytest

from ari_callback.ari.busy import BusyChannels, channels_waited_on, dtmf_seconds
from ari_callback.ari.errors import AriError, AriOutcomeUnknown, AriRequestNotSent
from ari_callback.ari.models import decode_event
from ari_callback.ari.transport import (
    AriRequest,
    AriResponse,
    FallbackTransport,
    HttpTransport,
    created_path,
    repeatable,
)
from tests.fakes.ari import FakeTransport, Fault, respond, script


def http_over(handler: object) -> HttpTransport:
    return HttpTransport("http://ari.test:8088", "cb", "pw",
                         transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"),
                                 httpx.PoolTimeout("pool full"),
                                 httpx.UnsupportedProtocol("ftp")])
async def test_given_http_fails_before_sending_then_not_sent(exc: Exception) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    http = http_over(fail)
    with pytest.raises(AriRequestNotSent) as caught:
        await http.send(AriRequest("POST", "/channels", {"channelId": "x"}))
    await http.aclose()
    assert (caught.value.method, caught.value.path, caught.value.status) == ("POST", "/channels", None)
    assert caught.value.__cause__ is exc
    assert http.sent == 0


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("slow"), httpx.WriteTimeout("slow"),
                                 httpx.ReadError("reset"), httpx.RemoteProtocolError("eof")])
async def test_given_http_fails_after_sending_then_outcome_unknown(exc: Exception) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    http = http_over(fail)
    with pytest.raises(AriOutcomeUnknown) as caught:
        await http.send(AriRequest("DELETE", "/channels/x"))
    await http.aclose()
    assert isinstance(caught.value, AriError) and caught.value.status is None
    assert "outcome unknown" in str(caught.value)
    assert http.sent == 1


async def test_given_http_error_status_then_returned_not_raised() -> None:
    http = http_over(lambda request: httpx.Response(404, json={"message": "Channel not found"}))
    response = await http.send(AriRequest("DELETE", "/channels/x"))
    await http.aclose()
    assert response == AriResponse(404, '{"message":"Channel not found"}')


class Primary(FakeTransport):
    """A websocket transport that accepts what ``accept`` says."""

    def __init__(self, accept: bool, *responses: AriResponse) -> None:
        super().__init__(script(*responses))
        self.accept = accept

    def accepts(self, request: AriRequest) -> bool:
        return self.accept


async def test_given_primary_accepts_then_fallback_unused() -> None:
    primary, fallback = Primary(True, respond(200, {"a": 1})), FakeTransport(script())
    response = await FallbackTransport(primary, fallback).send(AriRequest("GET", "/x"))
    assert response.status == 200
    assert (primary.sent, fallback.sent) == (1, 0)


async def test_given_primary_declines_then_fallback_carries_it() -> None:
    primary, fallback = Primary(False), FakeTransport(script(respond(204)))
    assert (await FallbackTransport(primary, fallback).send(AriRequest("GET", "/x"))).status == 204
    assert (len(primary.attempts), fallback.sent) == (0, 1)


async def test_given_primary_could_not_send_then_fallback_carries_it() -> None:
    primary, fallback = Primary(True), FakeTransport(script(respond(204)))
    primary.inject(Fault.NOT_SENT)
    assert (await FallbackTransport(primary, fallback).send(AriRequest("POST", "/x"))).status == 204
    assert fallback.sent == 1


async def test_given_primary_outcome_unknown_then_raised_not_resent_over_fallback() -> None:
    primary, fallback = Primary(True, respond(204)), FakeTransport(script())
    primary.inject(Fault.LOST_RESPONSE)
    with pytest.raises(AriOutcomeUnknown):
        await FallbackTransport(primary, fallback).send(AriRequest("POST", "/channels/x/dial"))
    assert fallback.sent == 0


@pytest.mark.parametrize(("request_", "path"), [
    (AriRequest("POST", "/channels", {"channelId": "cb-1-src0"}), "/channels/cb-1-src0"),
    (AriRequest("POST", "/channels/create", {"channelId": "a;2"}), "/channels/a%3B2"),
    (AriRequest("POST", "/bridges", {"bridgeId": "cb-1"}), "/bridges/cb-1"),
    (AriRequest("POST", "/channels", {"endpoint": "x"}), None),
    (AriRequest("POST", "/channels/x/dial"), None),
    (AriRequest("GET", "/channels"), None),
])
def test_given_request_then_path_of_the_resource_it_creates(request_: AriRequest,
                                                            path: str | None) -> None:
    assert created_path(request_) == path


def test_given_requests_then_only_harmless_ones_are_repeatable() -> None:
    assert repeatable(AriRequest("GET", "/channels"))
    assert repeatable(AriRequest("DELETE", "/channels/x"))
    assert repeatable(AriRequest("POST", "/channels", {"channelId": "x"}))
    assert not repeatable(AriRequest("POST", "/channels", {"endpoint": "x"}))
    assert not repeatable(AriRequest("POST", "/channels/x/dtmf", {"dtmf": "1"}))
    assert not repeatable(AriRequest("POST", "/bridges/b/addChannel", {"channel": "x"}))


def test_given_dtmf_params_then_duration_as_asterisk_sends_it() -> None:
    assert dtmf_seconds({"dtmf": "12"}) == pytest.approx(0.4)
    assert dtmf_seconds({"dtmf": "wW1"}) == pytest.approx(1.7)
    assert dtmf_seconds({"dtmf": "1", "before": "300", "after": "200", "duration": "50",
                         "between": "50"}) == pytest.approx(0.6)


def test_given_requests_then_channels_whose_thread_asterisk_waits_for() -> None:
    assert channels_waited_on(AriRequest("POST", "/channels/a%3B2/variable")) == ("a;2",)
    assert channels_waited_on(AriRequest("POST", "/channels/a/answer")) == ("a",)
    assert channels_waited_on(AriRequest("POST", "/bridges/b/addChannel",
                                         {"channel": "a,b"})) == ("a", "b")
    assert channels_waited_on(AriRequest("POST", "/bridges/b/removeChannel",
                                         {"channel": "a"})) == ("a",)
    for async_request in (AriRequest("POST", "/channels/a/dtmf"), AriRequest("DELETE", "/channels/a"),
                          AriRequest("POST", "/channels/a/dial"), AriRequest("GET", "/channels/a/variable")):
        assert channels_waited_on(async_request) == ()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def event(kind: str, **payload: object) -> object:
    return decode_event({"type": kind, **payload})


CHANNEL = {"id": "a", "name": "Local/1@x", "state": "Up"}


def test_given_dtmf_sent_then_channel_busy_until_the_string_is_done() -> None:
    clock = Clock()
    busy = BusyChannels(clock)
    setvar = AriRequest("POST", "/channels/a/variable", {"variable": "X", "value": "1"})
    assert not busy.blocks(setvar)
    busy.note_sent(AriRequest("POST", "/channels/a/dtmf", {"dtmf": "W1"}))
    assert busy.blocks(setvar)
    assert busy.blocks(AriRequest("POST", "/bridges/b/addChannel", {"channel": "a"}))
    assert not busy.blocks(AriRequest("POST", "/channels/other/variable"))
    clock.now += 1.2 + 0.5 + 0.01   # the string, then the slack
    assert not busy.blocks(setvar)


def test_given_channel_playback_then_busy_until_playback_finished_or_channel_gone() -> None:
    busy = BusyChannels(Clock())
    answer = AriRequest("POST", "/channels/a/answer")
    busy.note_sent(AriRequest("POST", "/channels/a/play", {"media": "sound:x", "playbackId": "p1"}))
    assert busy.blocks(answer)
    busy.observe(event("PlaybackFinished", playback={"id": "p1", "target_uri": "channel:a"}))
    assert not busy.blocks(answer)
    busy.note_sent(AriRequest("POST", "/channels/a/play", {"media": "sound:x"}))
    busy.observe(event("ChannelDestroyed", channel=CHANNEL, cause=16))
    assert not busy.blocks(answer)


def test_given_playback_without_our_id_then_target_uri_clears_it() -> None:
    busy = BusyChannels(Clock())
    busy.note_sent(AriRequest("POST", "/channels/a/play", {"media": "sound:x"}))
    busy.observe(event("PlaybackFinished", playback={"id": "asterisk-made",
                                                     "target_uri": "channel:a"}))
    assert not busy.blocks(AriRequest("POST", "/channels/a/answer"))


def test_given_many_finished_dtmf_strings_then_old_entries_are_purged() -> None:
    clock = Clock()
    busy = BusyChannels(clock)
    for n in range(300):
        busy.note_sent(AriRequest("POST", f"/channels/c{n}/dtmf", {"dtmf": "1"}))
        clock.now += 1.0
    assert len(busy._dtmf_until) <= 257
