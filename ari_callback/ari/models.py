"""Typed ARI resources and events, decoded once at the edge.

Every model is frozen (events are facts) and keeps unknown fields (``extra="allow"``) so a newer
Asterisk adding a field never breaks decoding. Field names follow Asterisk's JSON exactly
(rest-api/api-docs/*.json). Defaults exist where the engine can live without a field; a field
that is present with the wrong type is refused, because it means the frame is not what we think.

:func:`decode_event` is the only way in, and :class:`EventDecodeError` the only way it fails:
the event stream logs and skips such frames instead of dying on them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ari_callback.ari.errors import EventDecodeError


class AriModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


# --- resources -----------------------------------------------------------------------------


class CallerID(AriModel):
    name: str = ""
    number: str = ""


class DialplanCEP(AriModel):
    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""


class Channel(AriModel):
    id: str
    name: str = ""
    state: str = ""
    protocol_id: str = ""
    caller: CallerID = CallerID()
    connected: CallerID = CallerID()
    accountcode: str = ""
    dialplan: DialplanCEP = DialplanCEP()
    creationtime: datetime | None = None
    language: str = ""
    # Only the variables listed in ari.conf `channelvars` (CB_CALL_ID, CB_ROLE): how events
    # find their call even after a restart.
    channelvars: dict[str, str] | None = None


class Bridge(AriModel):
    id: str
    technology: str = ""
    bridge_type: str = ""
    bridge_class: str = ""
    creator: str = ""
    name: str = ""
    channels: list[str] = Field(default_factory=list)
    creationtime: datetime | None = None


class Playback(AriModel):
    id: str
    media_uri: str = ""
    target_uri: str = ""
    state: str = ""
    next_media_uri: str | None = None
    language: str | None = None


# --- events --------------------------------------------------------------------------------


class Event(AriModel):
    type: str
    application: str = ""
    timestamp: datetime | None = None
    asterisk_id: str | None = None

    def channel_ids(self) -> tuple[str, ...]:
        """Ids of every channel this event concerns, in field order, without duplicates.

        The engine routes an event to each call owning one of these ids. Unknown events and
        loosely typed payloads (transfers) are searched too, so a new event type carrying a
        channel still reaches its call.
        """
        found: dict[str, None] = {}
        for value in self._payload_values():
            _collect_channel_ids(value, found, depth=0)
        return tuple(found)

    def _payload_values(self) -> Iterator[Any]:
        yield from self.__dict__.values()
        yield from (self.model_extra or {}).values()


def _looks_like_channel(value: dict[str, Any]) -> bool:
    # Bridges lack "state", playbacks and endpoints lack "name" or "id": only channels have all.
    return isinstance(value.get("id"), str) and "name" in value and "state" in value


def _collect_channel_ids(value: Any, found: dict[str, None], depth: int) -> None:
    if isinstance(value, Channel):
        found[value.id] = None
    elif isinstance(value, dict):
        if _looks_like_channel(value):
            found[value["id"]] = None
        elif depth < 2:
            # Transfer payloads nest channels one level down (refer_to.destination_channel).
            for inner in value.values():
                _collect_channel_ids(inner, found, depth + 1)


class StasisStart(Event):
    args: list[str] = Field(default_factory=list)
    channel: Channel
    replace_channel: Channel | None = None


class StasisEnd(Event):
    channel: Channel


class ChannelCreated(Event):
    channel: Channel


class ChannelStateChange(Event):
    channel: Channel


class ChannelDestroyed(Event):
    channel: Channel
    cause: int
    cause_txt: str = ""
    # The SIP status on PJSIP legs: the only place a 486 vs 480 difference survives.
    tech_cause: int | None = None


class ChannelHangupRequest(Event):
    channel: Channel
    cause: int | None = None
    tech_cause: int | None = None
    soft: bool | None = None


class Dial(Event):
    peer: Channel
    caller: Channel | None = None
    forwarded: Channel | None = None
    dialstatus: str
    dialstring: str | None = None
    forward: str | None = None


class ChannelDtmfReceived(Event):
    channel: Channel
    digit: str
    duration_ms: int = 0


class ChannelEnteredBridge(Event):
    bridge: Bridge
    channel: Channel | None = None


class ChannelLeftBridge(Event):
    bridge: Bridge
    channel: Channel


class BridgeCreated(Event):
    bridge: Bridge


class BridgeDestroyed(Event):
    bridge: Bridge


class PlaybackStarted(Event):
    playback: Playback


class PlaybackContinuing(Event):
    playback: Playback


class PlaybackFinished(Event):
    playback: Playback


class ChannelVarset(Event):
    # No channel means a global variable.
    channel: Channel | None = None
    variable: str
    value: str = ""


class ChannelUserevent(Event):
    eventname: str
    channel: Channel | None = None
    bridge: Bridge | None = None
    endpoint: dict[str, Any] | None = None
    userevent: dict[str, Any] = Field(default_factory=dict)


class ChannelCallerId(Event):
    channel: Channel
    caller_presentation: int = 0
    caller_presentation_txt: str = ""


class ChannelConnectedLine(Event):
    channel: Channel


class ChannelTransfer(Event):
    # SIP REFER details vary by channel driver and version: kept as plain dicts on purpose.
    state: str | None = None
    refer_to: dict[str, Any] = Field(default_factory=dict)
    referred_by: dict[str, Any] = Field(default_factory=dict)


class BridgeBlindTransfer(Event):
    channel: Channel | None = None
    replace_channel: Channel | None = None
    transferee: Channel | None = None
    bridge: Bridge | None = None
    result: str = ""
    exten: str = ""
    context: str = ""
    is_external: bool = False


class ApplicationReplaced(Event):
    pass


class ApplicationRegistered(Event):
    pass


class RestResponse(Event):
    """Asterisk 22's answer to a ``RESTRequest`` sent over the event websocket."""

    transaction_id: str = ""
    request_id: str = ""
    status_code: int
    reason_phrase: str = ""
    uri: str = ""
    content_type: str | None = None
    message_body: str | None = None


class UnknownEvent(Event):
    """Any message type we do not model; ``raw`` is the payload exactly as received."""

    raw: dict[str, Any] = Field(default_factory=dict, exclude=True)

    def _payload_values(self) -> Iterator[Any]:
        return iter(self.raw.values())


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        StasisStart, StasisEnd, ChannelCreated, ChannelStateChange, ChannelDestroyed,
        ChannelHangupRequest, Dial, ChannelDtmfReceived, ChannelEnteredBridge,
        ChannelLeftBridge, BridgeCreated, BridgeDestroyed, PlaybackStarted,
        PlaybackContinuing, PlaybackFinished, ChannelVarset, ChannelUserevent,
        ChannelCallerId, ChannelConnectedLine, ChannelTransfer, BridgeBlindTransfer,
        ApplicationReplaced, ApplicationRegistered,
    )
}
EVENT_TYPES["RESTResponse"] = RestResponse

# The event types the call engine acts on (engine/translate.py `translate`): what the service
# passes as EventStream(event_filter=...), so Asterisk sends nothing else. The stream adds its
# own (ApplicationReplaced, RESTResponse). tests/unit/test_ari_filter.py keeps this in step.
CALL_EVENT_TYPES = (
    "StasisStart", "StasisEnd", "Dial", "ChannelStateChange", "ChannelHangupRequest",
    "ChannelDestroyed", "ChannelDtmfReceived", "ChannelTransfer", "PlaybackFinished",
)


def _parse_json(frame: str | bytes) -> Any:
    try:
        return json.loads(frame)
    # ValueError covers bad JSON and bad UTF-8; RecursionError comes from absurd nesting.
    except (ValueError, RecursionError) as exc:
        raise EventDecodeError(f"frame is not JSON: {exc}") from exc


def decode_event(frame: str | bytes | dict[str, Any]) -> Event:
    """Decode one websocket frame (or an already parsed dict) into a typed event.

    Raises :class:`EventDecodeError`, and nothing else, for anything that is not a well-formed
    ARI message; a well-formed message of a type we do not model becomes :class:`UnknownEvent`.
    """
    if isinstance(frame, (str, bytes, bytearray)):
        payload = _parse_json(frame)
    else:
        payload = frame
    if not isinstance(payload, dict):
        raise EventDecodeError(f"an ARI message is a JSON object, got {type(payload).__name__}")
    kind = payload.get("type")
    if not isinstance(kind, str) or not kind:
        raise EventDecodeError("an ARI message needs a non-empty string 'type'")
    model = EVENT_TYPES.get(kind)
    try:
        if model is None:
            return UnknownEvent.model_validate({**payload, "raw": payload})
        return model.model_validate(payload)
    except (ValidationError, ValueError, TypeError, RecursionError) as exc:
        raise EventDecodeError(f"malformed {kind} message: {exc}") from exc
