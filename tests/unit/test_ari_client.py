"""AriClient against httpx.MockTransport: what goes on the wire, and how failures surface."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ari_callback.ari.client import AriClient
from ari_callback.ari.errors import AriError
from ari_callback.ari.models import Bridge, Channel, Playback

Responder = Callable[[httpx.Request], httpx.Response]

CHANNEL = {"id": "cb-1-src0", "name": "PJSIP/trunk-00000001", "state": "Down",
           "caller": {"name": "", "number": ""}, "connected": {"name": "", "number": ""},
           "accountcode": "", "dialplan": {"context": "default", "exten": "s", "priority": 1,
                                            "app_name": "", "app_data": ""},
           "creationtime": "2024-05-01T10:00:00.000+0000", "language": "en"}
BRIDGE = {"id": "cb-1", "technology": "simple_bridge", "bridge_type": "mixing",
          "bridge_class": "stasis", "creator": "Stasis", "name": "cb:1", "channels": [],
          "creationtime": "2024-05-01T10:00:00.000+0000"}
PLAYBACK = {"id": "cb-1-ann", "media_uri": "sound:a", "target_uri": "channel:cb-1-src0",
            "state": "queued"}


class Recorder:
    """Answers every request with ``respond`` and keeps the requests for inspection."""

    def __init__(self, respond: Responder | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._respond = respond or (lambda request: httpx.Response(204))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._respond(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def json_response(body: Any, status: int = 200) -> Responder:
    return lambda request: httpx.Response(status, json=body)


def make_client(recorder: Recorder) -> AriClient:
    return AriClient("http://ari.test:8088/", "cb", "s3cret",
                     transport=httpx.MockTransport(recorder))


def query(request: httpx.Request) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for key, value in request.url.params.multi_items():
        result.setdefault(key, []).append(value)
    return result


async def test_given_originate_then_variables_in_body_and_rest_as_query_params() -> None:
    rec = Recorder(json_response(CHANNEL))
    async with make_client(rec) as ari:
        result = await ari.originate(
            "PJSIP/100@trunk", channel_id="cb-1-src0", app="cb", app_args="src,1,0",
            caller_id='"Shop" <+4930123>', timeout=60, formats="ulaw",
            other_channel_id="cb-1-src0b", originator="cb-1-dst",
            variables={"CB_CALL_ID": "1", "CB_ROLE": "src"},
        )
    request = rec.last
    assert request.method == "POST"
    assert request.url.path == "/ari/channels"
    assert query(request) == {
        "endpoint": ["PJSIP/100@trunk"], "app": ["cb"], "appArgs": ["src,1,0"],
        "channelId": ["cb-1-src0"], "callerId": ['"Shop" <+4930123>'], "timeout": ["60"],
        "formats": ["ulaw"], "otherChannelId": ["cb-1-src0b"], "originator": ["cb-1-dst"],
    }
    # '+' must arrive encoded: Asterisk decodes a bare '+' in a query as a space.
    assert b"%2B4930123" in request.url.query
    assert json.loads(request.content) == {"variables": {"CB_CALL_ID": "1", "CB_ROLE": "src"}}
    assert request.headers["content-type"] == "application/json"
    expected_auth = "Basic " + base64.b64encode(b"cb:s3cret").decode()
    assert request.headers["authorization"] == expected_auth
    assert isinstance(result, Channel) and result.id == "cb-1-src0"


async def test_given_originate_without_optionals_then_only_required_params_and_no_body() -> None:
    rec = Recorder(json_response(CHANNEL))
    async with make_client(rec) as ari:
        await ari.originate("Local/100@phones", channel_id="cb-1-src0", app="cb")
    assert query(rec.last) == {"endpoint": ["Local/100@phones"], "app": ["cb"],
                               "channelId": ["cb-1-src0"]}
    assert rec.last.content == b""


async def test_given_create_channel_then_post_channels_create() -> None:
    rec = Recorder(json_response(CHANNEL | {"id": "cb-1-dst"}))
    async with make_client(rec) as ari:
        result = await ari.create_channel(
            "Local/200@dst-route", channel_id="cb-1-dst", app="cb", app_args="dst,1",
            formats="ulaw", other_channel_id="cb-1-dst2",
            variables={"CB_CALL_ID": "1", "CB_ROLE": "dst"},
        )
    assert rec.last.url.path == "/ari/channels/create"
    assert query(rec.last) == {
        "endpoint": ["Local/200@dst-route"], "app": ["cb"], "appArgs": ["dst,1"],
        "channelId": ["cb-1-dst"], "formats": ["ulaw"], "otherChannelId": ["cb-1-dst2"],
    }
    assert json.loads(rec.last.content) == {"variables": {"CB_CALL_ID": "1", "CB_ROLE": "dst"}}
    assert result.id == "cb-1-dst"


async def test_given_dial_with_timeout_zero_then_zero_is_sent_not_dropped() -> None:
    rec = Recorder()
    async with make_client(rec) as ari:
        await ari.dial("cb-1-dst", timeout=0)
        await ari.dial("cb-1-dst", caller="cb-1-src0")
    first, second = rec.requests
    assert (first.method, first.url.path) == ("POST", "/ari/channels/cb-1-dst/dial")
    assert query(first) == {"timeout": ["0"]}
    assert query(second) == {"caller": ["cb-1-src0"]}


async def test_given_play_with_several_files_then_one_comma_joined_media_param() -> None:
    rec = Recorder(json_response(PLAYBACK))
    async with make_client(rec) as ari:
        result = await ari.play_on_channel("cb-1-src0", ["sound:a", "sound:b"],
                                           playback_id="cb-1-ann")
        await ari.play_on_bridge("cb-1", ["sound:c", "digits:12"], playback_id="cb-1-dann")
    on_channel, on_bridge = rec.requests
    assert on_channel.url.path == "/ari/channels/cb-1-src0/play"
    assert query(on_channel) == {"media": ["sound:a,sound:b"], "playbackId": ["cb-1-ann"]}
    assert on_bridge.url.path == "/ari/bridges/cb-1/play"
    assert query(on_bridge) == {"media": ["sound:c,digits:12"], "playbackId": ["cb-1-dann"]}
    assert isinstance(result, Playback) and result.state == "queued"


async def test_given_bridge_calls_then_params_and_booleans_as_true_false() -> None:
    rec = Recorder(json_response(BRIDGE))
    async with make_client(rec) as ari:
        created = await ari.create_bridge("cb-1", name="cb:1")
        rec._respond = lambda request: httpx.Response(204)
        await ari.add_channel("cb-1", "cb-1-dst", inhibit_connected_line_updates=True)
        await ari.add_channel("cb-1", "cb-1-src0", absorb_dtmf=True, role="participant")
        await ari.remove_channel("cb-1", "cb-1-dst")
        await ari.destroy_bridge("cb-1")
    create, add_dst, add_src, remove, destroy = rec.requests
    assert isinstance(created, Bridge) and created.id == "cb-1"
    assert (create.method, create.url.path) == ("POST", "/ari/bridges")
    assert query(create) == {"type": ["mixing,dtmf_events"], "bridgeId": ["cb-1"],
                             "name": ["cb:1"]}
    assert add_dst.url.path == "/ari/bridges/cb-1/addChannel"
    assert query(add_dst) == {"channel": ["cb-1-dst"], "absorbDTMF": ["false"],
                              "inhibitConnectedLineUpdates": ["true"]}
    assert query(add_src) == {"channel": ["cb-1-src0"], "role": ["participant"],
                              "absorbDTMF": ["true"], "inhibitConnectedLineUpdates": ["false"]}
    assert (remove.url.path, query(remove)) == ("/ari/bridges/cb-1/removeChannel",
                                                {"channel": ["cb-1-dst"]})
    assert (destroy.method, destroy.url.path) == ("DELETE", "/ari/bridges/cb-1")


async def test_given_generic_request_with_bools_then_spelled_lowercase() -> None:
    rec = Recorder()
    async with make_client(rec) as ari:
        await ari.request("POST", "/channels/x/variable",
                          params={"variable": "V", "report_events": True, "skip": None})
        await ari.request("POST", "/x", params={"flag": False})
    assert query(rec.requests[0]) == {"variable": ["V"], "report_events": ["true"]}
    assert query(rec.requests[1]) == {"flag": ["false"]}


async def test_given_channel_control_calls_then_routes_and_params() -> None:
    rec = Recorder()
    async with make_client(rec) as ari:
        await ari.hangup("cb-1-src1", reason="answered_elsewhere")
        await ari.answer("cb-1-src0")
        await ari.ring("cb-1-src0")
        await ari.continue_in_dialplan("cb-1-src0", context="phones", extension="100",
                                       priority=1)
        await ari.redirect("cb-1-dst", "PJSIP/sip:123@host")
        await ari.set_variable("cb-1-dst", "TIMEOUT(absolute)", "3600")
        await ari.send_dtmf("cb-1-dst", "12w#", between=100, duration=80)
        await ari.stop_playback("cb-1-ann")
        await ari.transfer_progress("cb-1-src0", "channel_answered")
    got = [(r.method, r.url.path, query(r)) for r in rec.requests]
    assert got == [
        ("DELETE", "/ari/channels/cb-1-src1", {"reason": ["answered_elsewhere"]}),
        ("POST", "/ari/channels/cb-1-src0/answer", {}),
        ("POST", "/ari/channels/cb-1-src0/ring", {}),
        ("POST", "/ari/channels/cb-1-src0/continue",
         {"context": ["phones"], "extension": ["100"], "priority": ["1"]}),
        ("POST", "/ari/channels/cb-1-dst/redirect", {"endpoint": ["PJSIP/sip:123@host"]}),
        ("POST", "/ari/channels/cb-1-dst/variable",
         {"variable": ["TIMEOUT(absolute)"], "value": ["3600"]}),
        ("POST", "/ari/channels/cb-1-dst/dtmf",
         {"dtmf": ["12w#"], "between": ["100"], "duration": ["80"]}),
        ("DELETE", "/ari/playbacks/cb-1-ann", {}),
        ("POST", "/ari/channels/cb-1-src0/transfer_progress", {"states": ["channel_answered"]}),
    ]


async def test_given_id_with_reserved_characters_then_path_segment_is_percent_encoded() -> None:
    rec = Recorder()
    async with make_client(rec) as ari:
        await ari.hangup("cb-1-dst;2")
        await ari.hangup("odd/id")
    assert rec.requests[0].url.raw_path == b"/ari/channels/cb-1-dst%3B2"
    assert rec.requests[1].url.raw_path == b"/ari/channels/odd%2Fid"


async def test_given_reads_then_models_returned() -> None:
    routes = {
        "/ari/channels": [CHANNEL],
        "/ari/channels/cb-1-src0": CHANNEL,
        "/ari/channels/cb-1-src0/variable": {"value": "1"},
        "/ari/bridges": [BRIDGE],
        "/ari/bridges/cb-1": BRIDGE,
        "/ari/applications/cb": {"name": "cb", "channel_ids": ["cb-1-src0"], "bridge_ids": []},
        "/ari/asterisk/info": {"system": {"version": "22.10.1", "entity_id": "aa"}},
    }
    rec = Recorder(lambda request: httpx.Response(200, json=routes[request.url.path]))
    async with make_client(rec) as ari:
        assert [c.id for c in await ari.list_channels()] == ["cb-1-src0"]
        assert (await ari.get_channel("cb-1-src0")).state == "Down"
        assert await ari.get_variable("cb-1-src0", "CB_CALL_ID") == "1"
        assert [b.id for b in await ari.list_bridges()] == ["cb-1"]
        assert (await ari.get_bridge("cb-1")).bridge_class == "stasis"
        assert (await ari.get_application("cb"))["channel_ids"] == ["cb-1-src0"]
        assert (await ari.asterisk_info())["system"]["version"] == "22.10.1"
    assert query(rec.requests[2]) == {"variable": ["CB_CALL_ID"]}
    assert all(r.method == "GET" for r in rec.requests)


@pytest.mark.parametrize(
    ("status", "not_found", "conflict"), [(404, True, False), (409, False, True),
                                          (500, False, False)]
)
async def test_given_error_status_then_ari_error_with_all_fields(
    status: int, not_found: bool, conflict: bool
) -> None:
    body = {"message": "Channel not found"}
    rec = Recorder(json_response(body, status))
    async with make_client(rec) as ari:
        with pytest.raises(AriError) as caught:
            await ari.dial("cb-1-dst", timeout=0)
    err = caught.value
    assert (err.method, err.path, err.status) == ("POST", "/channels/cb-1-dst/dial", status)
    assert json.loads(err.body) == body
    assert (err.not_found, err.conflict) == (not_found, conflict)
    assert str(err) == f'POST /channels/cb-1-dst/dial -> {status}: {{"message":"Channel not found"}}'


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                                 httpx.RemoteProtocolError("garbage")])
async def test_given_transport_failure_then_ari_error_without_status(exc: Exception) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    async with make_client(Recorder(fail)) as ari:
        with pytest.raises(AriError) as caught:
            await ari.hangup("cb-1-src0")
    err = caught.value
    assert (err.method, err.path, err.status) == ("DELETE", "/channels/cb-1-src0", None)
    assert type(exc).__name__ in err.body
    assert not err.not_found
    assert "transport error" in str(err)
    assert err.__cause__ is exc


async def test_given_204_or_empty_body_then_none() -> None:
    responses = iter([httpx.Response(204), httpx.Response(200, content=b"")])
    async with make_client(Recorder(lambda request: next(responses))) as ari:
        assert await ari.request("POST", "/channels/x/answer") is None
        assert await ari.request("POST", "/channels/x/answer") is None


async def test_given_success_with_unexpected_body_then_ari_error_not_validation_error() -> None:
    bodies = iter([httpx.Response(200, content=b"<html>"), httpx.Response(200, json={"x": 1}),
                   httpx.Response(200, json=[1])])
    async with make_client(Recorder(lambda request: next(bodies))) as ari:
        for call in (ari.asterisk_info(), ari.get_channel("c"), ari.get_application("cb")):
            with pytest.raises(AriError) as caught:
                await call
            assert caught.value.status == 200


async def test_given_defaults_then_pool_bounded_below_asterisk_session_limit() -> None:
    async with AriClient("http://127.0.0.1:8088", "cb", "pw") as ari:
        assert ari.limits.max_connections == 20
        assert ari.limits.max_keepalive_connections == 20
        # The limits must reach the pool httpx really uses (httpcore internals, pinned httpx).
        pool = ari._http.client._transport._pool  # type: ignore[attr-defined]
        assert pool._max_connections == 20
    async with AriClient("http://127.0.0.1:8088", "cb", "pw", max_connections=5) as ari:
        assert ari.limits.max_connections == 5


async def test_given_context_manager_exit_then_http_client_closed() -> None:
    ari = make_client(Recorder())
    async with ari:
        pass
    assert ari._http.is_closed
