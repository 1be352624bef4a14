"""ARI event decoding: payload shapes follow Asterisk's rest-api/api-docs/events.json."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ari_callback.ari.errors import EventDecodeError
from ari_callback.ari.models import (
    EVENT_TYPES,
    ApplicationRegistered,
    ApplicationReplaced,
    BridgeBlindTransfer,
    BridgeCreated,
    BridgeDestroyed,
    Channel,
    ChannelCallerId,
    ChannelConnectedLine,
    ChannelCreated,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelEnteredBridge,
    ChannelHangupRequest,
    ChannelLeftBridge,
    ChannelStateChange,
    ChannelTransfer,
    ChannelUserevent,
    ChannelVarset,
    Dial,
    Event,
    PlaybackContinuing,
    PlaybackFinished,
    PlaybackStarted,
    RestResponse,
    StasisEnd,
    StasisStart,
    UnknownEvent,
    decode_event,
)

TS = "2024-05-01T10:00:00.123+0200"


def channel(cid: str = "cb-1-src0", state: str = "Up", **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": cid,
        "name": "PJSIP/trunk-00000001",
        "state": state,
        "protocol_id": "3b1c@127.0.0.1",
        "caller": {"name": "Alice", "number": "100"},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {
            "context": "default", "exten": "s", "priority": 1,
            "app_name": "Stasis", "app_data": "cb,src,1,0",
        },
        "creationtime": "2024-05-01T09:59:58.001+0200",
        "language": "en",
        "channelvars": {"CB_CALL_ID": "1", "CB_ROLE": "src"},
    }
    data.update(over)
    return data


def bridge(bid: str = "cb-1", channels: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": bid, "technology": "simple_bridge", "bridge_type": "mixing",
        "bridge_class": "stasis", "creator": "Stasis", "name": "cb:1",
        "channels": channels or [], "creationtime": TS, "video_mode": "none",
    }


def playback(pid: str = "cb-1-announce", state: str = "playing") -> dict[str, Any]:
    return {
        "id": pid, "media_uri": "sound:hello-world", "target_uri": "channel:cb-1-src0",
        "language": "en", "state": state,
    }


def frame(kind: str, **fields: Any) -> str:
    return json.dumps(
        {"type": kind, "application": "cb", "timestamp": TS, "asterisk_id": "aa:bb", **fields}
    )


def test_given_stasis_start_when_decoded_then_typed_with_channel_and_args() -> None:
    event = decode_event(frame("StasisStart", args=["src", "1", "0"], channel=channel()))
    assert isinstance(event, StasisStart)
    assert event.application == "cb"
    assert event.timestamp == datetime(2024, 5, 1, 10, 0, 0, 123000,
                                       tzinfo=timezone(timedelta(hours=2)))
    assert event.asterisk_id == "aa:bb"
    assert event.args == ["src", "1", "0"]
    assert event.channel.caller.number == "100"
    assert event.channel.dialplan.app_data == "cb,src,1,0"
    assert event.channel.dialplan.priority == 1
    assert event.channel.channelvars == {"CB_CALL_ID": "1", "CB_ROLE": "src"}
    assert event.channel.creationtime is not None
    assert event.replace_channel is None


def test_given_channel_destroyed_then_cause_and_sip_tech_cause_are_kept() -> None:
    event = decode_event(frame("ChannelDestroyed", cause=17, cause_txt="User busy",
                               tech_cause=486, channel=channel(state="Ringing")))
    assert isinstance(event, ChannelDestroyed)
    assert (event.cause, event.cause_txt, event.tech_cause) == (17, "User busy", 486)


def test_given_dial_progress_then_peer_caller_and_status() -> None:
    event = decode_event(frame("Dial", dialstatus="PROGRESS", dialstring="dst@dst-route",
                               peer=channel("cb-1-dst", "Ring"), caller=channel("cb-1-src0")))
    assert isinstance(event, Dial)
    assert event.dialstatus == "PROGRESS"
    assert event.peer.id == "cb-1-dst"
    assert event.caller is not None and event.caller.id == "cb-1-src0"
    assert event.forwarded is None and event.forward is None


@pytest.mark.parametrize(
    ("payload", "cls", "check"),
    [
        (dict(type="StasisEnd", channel=channel()), StasisEnd, lambda e: e.channel.id),
        (dict(type="ChannelCreated", channel=channel(state="Down")), ChannelCreated,
         lambda e: e.channel.state == "Down"),
        (dict(type="ChannelStateChange", channel=channel(state="Ringing")), ChannelStateChange,
         lambda e: e.channel.state == "Ringing"),
        (dict(type="ChannelHangupRequest", cause=32, soft=True, channel=channel()),
         ChannelHangupRequest, lambda e: e.cause == 32 and e.soft is True),
        (dict(type="ChannelDtmfReceived", digit="#", duration_ms=120, channel=channel()),
         ChannelDtmfReceived, lambda e: e.digit == "#" and e.duration_ms == 120),
        (dict(type="ChannelEnteredBridge", bridge=bridge(channels=["cb-1-src0"]),
              channel=channel()), ChannelEnteredBridge,
         lambda e: e.bridge.channels == ["cb-1-src0"] and e.channel.id == "cb-1-src0"),
        (dict(type="ChannelEnteredBridge", bridge=bridge()), ChannelEnteredBridge,
         lambda e: e.channel is None),
        (dict(type="ChannelLeftBridge", bridge=bridge(), channel=channel()), ChannelLeftBridge,
         lambda e: e.bridge.bridge_class == "stasis"),
        (dict(type="BridgeCreated", bridge=bridge()), BridgeCreated,
         lambda e: e.bridge.id == "cb-1" and e.bridge.technology == "simple_bridge"),
        (dict(type="BridgeDestroyed", bridge=bridge()), BridgeDestroyed,
         lambda e: e.bridge.name == "cb:1"),
        (dict(type="PlaybackStarted", playback=playback()), PlaybackStarted,
         lambda e: e.playback.state == "playing"),
        (dict(type="PlaybackContinuing",
              playback={**playback(), "next_media_uri": "sound:vm-goodbye"}),
         PlaybackContinuing, lambda e: e.playback.next_media_uri == "sound:vm-goodbye"),
        (dict(type="PlaybackFinished", playback=playback(state="failed")), PlaybackFinished,
         lambda e: e.playback.state == "failed" and e.playback.target_uri.startswith("channel:")),
        (dict(type="ChannelVarset", variable="CB_ROLE", value="dst", channel=channel()),
         ChannelVarset, lambda e: e.variable == "CB_ROLE" and e.channel is not None),
        (dict(type="ChannelVarset", variable="GLOBALVAR", value="1"), ChannelVarset,
         lambda e: e.channel is None),
        (dict(type="ChannelUserevent", eventname="Phone", channel=channel(),
              userevent={"dtmf": "123", "cid": "100"}), ChannelUserevent,
         lambda e: e.userevent["dtmf"] == "123" and e.bridge is None and e.endpoint is None),
        (dict(type="ChannelCallerId", caller_presentation=0,
              caller_presentation_txt="Presentation Allowed, Not Screened", channel=channel()),
         ChannelCallerId, lambda e: e.caller_presentation_txt.startswith("Presentation")),
        (dict(type="ChannelConnectedLine", channel=channel()), ChannelConnectedLine,
         lambda e: e.channel.connected.number == ""),
        (dict(type="BridgeBlindTransfer", channel=channel(), transferee=channel("cb-1-dst"),
              bridge=bridge(), exten="200", context="transfer", result="Success",
              is_external=True), BridgeBlindTransfer,
         lambda e: e.exten == "200" and e.is_external and e.replace_channel is None),
        (dict(type="ApplicationReplaced"), ApplicationReplaced, lambda e: True),
        (dict(type="ApplicationRegistered"), ApplicationRegistered, lambda e: True),
    ],
)
def test_given_realistic_payload_when_decoded_then_typed(
    payload: dict[str, Any], cls: type[Event], check: Any
) -> None:
    event = decode_event({"application": "cb", "timestamp": TS, **payload})
    assert type(event) is cls
    assert check(event)


def test_given_channel_transfer_then_refer_details_stay_loose_dicts() -> None:
    event = decode_event(frame(
        "ChannelTransfer", state="channel_answered",
        refer_to={"requested_destination": {"protocol_id": "x", "destination": "sip:200@h"},
                  "destination_channel": channel("cb-1-xfer")},
        referred_by={"source_channel": channel("cb-1-src0"),
                     "connected_channel": channel("cb-1-dst")},
    ))
    assert isinstance(event, ChannelTransfer)
    assert event.refer_to["requested_destination"]["destination"] == "sip:200@h"
    assert event.channel_ids() == ("cb-1-xfer", "cb-1-src0", "cb-1-dst")


def test_given_rest_response_frame_then_rest_response_model() -> None:
    event = decode_event(json.dumps({
        "type": "RESTResponse", "transaction_id": "t1", "request_id": "r1",
        "status_code": 200, "reason_phrase": "OK", "uri": "asterisk/info",
        "content_type": "application/json", "message_body": "{\"build\":{}}",
    }))
    assert isinstance(event, RestResponse)
    assert (event.request_id, event.status_code, event.message_body) == ("r1", 200, '{"build":{}}')


def test_given_unknown_type_then_unknown_event_keeps_raw_payload() -> None:
    payload = {"type": "ChannelHold", "application": "cb", "timestamp": TS,
               "musicclass": "default", "channel": channel()}
    event = decode_event(json.dumps(payload))
    assert isinstance(event, UnknownEvent)
    assert event.type == "ChannelHold"
    assert event.raw == payload
    assert event.channel_ids() == ("cb-1-src0",)


def test_given_new_fields_from_a_newer_asterisk_then_kept_not_refused() -> None:
    event = decode_event(frame("StasisEnd", channel=channel(tenantid="t9"), shiny_new=1))
    assert isinstance(event, StasisEnd)
    assert event.model_extra == {"shiny_new": 1}
    assert event.channel.model_extra == {"tenantid": "t9"}


# Every Message subtype of Asterisk 22.10.1's events.json, with every field any of our models
# requires: none of them may crash the decoder.
ASTERISK_22_MESSAGE_TYPES = [
    "MissingParams", "DeviceStateChanged", "PlaybackStarted", "PlaybackContinuing",
    "PlaybackFinished", "RecordingStarted", "RecordingFinished", "RecordingFailed",
    "ApplicationMoveFailed", "ApplicationRegistered", "ApplicationUnregistered",
    "ApplicationReplaced", "BridgeCreated", "BridgeDestroyed", "BridgeMerged",
    "BridgeBlindTransfer", "BridgeAttendedTransfer", "BridgeVideoSourceChanged",
    "ChannelCreated", "ChannelDestroyed", "ChannelEnteredBridge", "ChannelLeftBridge",
    "ChannelStateChange", "ChannelDtmfReceived", "ChannelDialplan", "ChannelCallerId",
    "ChannelUserevent", "ChannelHangupRequest", "ChannelVarset", "ChannelToneDetected",
    "ChannelTalkingStarted", "ChannelTalkingFinished", "ChannelHold", "ChannelUnhold",
    "ContactStatusChange", "EndpointStateChange", "Dial", "StasisEnd", "StasisStart",
    "TextMessageReceived", "ChannelConnectedLine", "PeerStatusChange", "ChannelTransfer",
    "RESTResponse", "CallBroadcast", "CallClaimed",
]


@pytest.mark.parametrize("kind", ASTERISK_22_MESSAGE_TYPES)
def test_given_any_asterisk_22_message_type_then_decodes(kind: str) -> None:
    event = decode_event(frame(
        kind, channel=channel(), peer=channel("cb-1-dst"), bridge=bridge(), playback=playback(),
        cause=16, cause_txt="Normal Clearing", dialstatus="ANSWER", digit="1",
        duration_ms=80, variable="V", value="1", eventname="E", userevent={},
        status_code=200, args=[], endpoint={"technology": "PJSIP", "resource": "a",
                                             "state": "online", "channel_ids": []},
    ))
    assert event.type == kind
    assert isinstance(event, EVENT_TYPES.get(kind, UnknownEvent))
    assert "cb-1-src0" in event.channel_ids()


@pytest.mark.parametrize(
    "bad",
    [
        "", "not json", "[1, 2]", "42", "null", '"StasisStart"', b"\xff\xfe\xfa",
        '{"application": "cb"}', '{"type": 5}', '{"type": ""}', '{"type": null}',
        '{"type": ["StasisStart"]}',
        '{"type": "StasisStart", "args": [], "channel": {"name": "no id"}}',
        '{"type": "StasisStart", "args": "src", "channel": {"id": "c"}}',
        '{"type": "ChannelDestroyed", "cause": "busy", "cause_txt": "", "channel": {"id": "c"}}',
        '{"type": "Dial", "dialstatus": "ANSWER"}',
        '{"type": "StasisEnd", "timestamp": "yesterday", "channel": {"id": "c"}}',
        '{"type": "ChannelHold", "timestamp": [1]}',
        "[" * 100_000,
        '{"type": "X", "n": ' + "9" * 5000 + "}",
    ],
)
def test_given_malformed_frame_then_only_event_decode_error(bad: str | bytes) -> None:
    with pytest.raises(EventDecodeError):
        decode_event(bad)


def test_given_decode_error_then_it_is_a_value_error() -> None:
    assert issubclass(EventDecodeError, ValueError)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(
    ["channel", "peer", "caller", "bridge", "playback", "args", "cause", "timestamp",
     "application", "replace_channel", "id", "channelvars", "refer_to", "status_code", "raw"]
) | st.text(max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.text() | st.binary())
def test_given_arbitrary_text_then_never_anything_but_decode_error(data: str | bytes) -> None:
    try:
        assert isinstance(decode_event(data), Event)
    except EventDecodeError:
        pass


@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from(sorted(EVENT_TYPES) + ["ChannelHold", "Nope"]) | json_values,
    fields=st.dictionaries(field_names, json_values, max_size=6),
)
def test_given_arbitrary_json_object_then_event_or_decode_error(kind: Any, fields: Any) -> None:
    text = json.dumps({**fields, "type": kind})
    try:
        event = decode_event(text)
    except EventDecodeError:
        return
    assert event.type == kind
    assert all(isinstance(cid, str) for cid in event.channel_ids())


def test_given_dial_then_channel_ids_cover_peer_caller_and_forwarded() -> None:
    event = decode_event(frame("Dial", dialstatus="ANSWER", peer=channel("dst"),
                               caller=channel("src"), forwarded=channel("fwd")))
    assert event.channel_ids() == ("dst", "src", "fwd")


def test_given_stasis_start_with_replace_channel_then_both_ids() -> None:
    event = decode_event(frame("StasisStart", args=[], channel=channel("new"),
                               replace_channel=channel("old")))
    assert event.channel_ids() == ("new", "old")


def test_given_same_channel_twice_then_id_listed_once() -> None:
    event = decode_event(frame("BridgeBlindTransfer", channel=channel("a"),
                               transferee=channel("a"), replace_channel=channel("b"),
                               result="Success", exten="1", context="c", is_external=False))
    assert event.channel_ids() == ("a", "b")


def test_given_bridge_or_playback_event_then_no_channel_ids() -> None:
    # A bridge's member list is not what the event is about: routing uses the channel field.
    assert decode_event(frame("BridgeDestroyed", bridge=bridge(channels=["x"]))).channel_ids() == ()
    assert decode_event(frame("PlaybackFinished", playback=playback())).channel_ids() == ()
    assert decode_event(frame("ChannelVarset", variable="G", value="1")).channel_ids() == ()


def test_given_decoded_event_then_frozen() -> None:
    event = decode_event(frame("StasisEnd", channel=channel()))
    assert isinstance(event, StasisEnd)
    with pytest.raises(ValueError):
        event.type = "other"
    with pytest.raises(ValueError):
        event.channel.state = "Up"
    assert isinstance(event.channel, Channel)


def test_given_already_parsed_dict_then_decoded_like_text() -> None:
    payload = json.loads(frame("StasisEnd", channel=channel()))
    assert decode_event(payload) == decode_event(json.dumps(payload))
