"""FakeAsterisk: an in-memory ARI that keeps state and answers the way Asterisk 22 does.

What it models, because the client and the engine depend on it:

- ids: a create with an id that exists gets 409 (channels, bridges, playbacks); anything
  addressed by a missing id gets 404. An id is free again once its channel is gone.
- events, recorded in ``events`` (plain dicts, as on the websocket) and passed to
  ``on_event``: an originated channel answers at once (``StasisStart``, state Up), a created one
  enters Stasis at once (state Down), ``dial`` answers (``Dial ANSWER``), a hang-up gives
  ``ChannelHangupRequest``, ``StasisEnd``, ``ChannelDestroyed`` (cause 16), a playback finishes
  at once.
- ``created``: how many times each channel id was created, for "exactly once" checks.

It does not model ringing, busy phones, media or timing; tests that need them script them.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timezone
from typing import Any
from urllib.parse import unquote

from ari_callback.ari.transport import AriRequest, AriResponse

Json = dict[str, Any]
Route = Callable[..., AriResponse]


def _json(status: int, body: Any = None) -> AriResponse:
    return AriResponse(status, "" if body is None else json.dumps(body))


def _error(status: int, message: str) -> AriResponse:
    return _json(status, {"message": message})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class FakeAsterisk:
    """Call it with an :class:`AriRequest`; it answers like Asterisk and keeps the state."""

    def __init__(self, on_event: Callable[[Json], None] | None = None) -> None:
        self.channels: dict[str, Json] = {}
        self.bridges: dict[str, Json] = {}
        self.playbacks: dict[str, Json] = {}
        self.variables: dict[str, dict[str, str]] = {}
        self.event_filters: dict[str, Any] = {}
        self.events: list[Json] = []
        self.created: Counter[str] = Counter()
        self.subscriptions: list[tuple[str, str]] = []
        self.before_subscribe: Callable[[str], None] | None = None   # what happens in the race
        self.apologised: list[str] = []   # origins that answered while their app was gone
        self.on_event = on_event
        self._numbers = itertools.count(1)
        self._routes: list[tuple[str, re.Pattern[str], Route]] = [
            (method, re.compile(f"^{pattern}$"), route) for method, pattern, route in (
                ("POST", r"/channels", self._originate),
                ("POST", r"/channels/create", self._create),
                ("GET", r"/channels", self._list_channels),
                ("GET", r"/channels/([^/]+)", self._get_channel),
                ("DELETE", r"/channels/([^/]+)", self._hangup),
                ("POST", r"/channels/([^/]+)/dial", self._dial),
                ("POST", r"/channels/([^/]+)/variable", self._set_variable),
                ("GET", r"/channels/([^/]+)/variable", self._get_variable),
                ("POST", r"/channels/([^/]+)/play", self._play_on_channel),
                ("POST", r"/channels/([^/]+)/(?:answer|ring|dtmf|continue|redirect)",
                 self._channel_noop),
                ("POST", r"/bridges", self._create_bridge),
                ("GET", r"/bridges", self._list_bridges),
                ("GET", r"/bridges/([^/]+)", self._get_bridge),
                ("DELETE", r"/bridges/([^/]+)", self._destroy_bridge),
                ("POST", r"/bridges/([^/]+)/addChannel", self._add_channel),
                ("POST", r"/bridges/([^/]+)/removeChannel", self._remove_channel),
                ("POST", r"/bridges/([^/]+)/play", self._play_on_bridge),
                ("DELETE", r"/playbacks/([^/]+)", self._stop_playback),
                ("GET", r"/applications/([^/]+)", self._application),
                ("PUT", r"/applications/([^/]+)/eventFilter", self._set_filter),
                ("POST", r"/applications/([^/]+)/subscription", self._subscribe),
                ("GET", r"/asterisk/info", lambda r: _json(200, {"system": {"version": "22"}})),
                ("GET", r"/asterisk/ping", lambda r: _json(200, {"ping": "pong"})),
            )
        ]

    def __call__(self, request: AriRequest) -> AriResponse:
        for method, pattern, route in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                return route(request, *(unquote(g) for g in match.groups()))
        return _error(404, "Resource not found")

    # --- events ----------------------------------------------------------------------------

    def emit(self, kind: str, app: str = "", **payload: Any) -> None:
        event = {"type": kind, "application": app, "timestamp": _now(), **payload}
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def events_of(self, kind: str) -> list[Json]:
        return [e for e in self.events if e["type"] == kind]

    # --- channels --------------------------------------------------------------------------

    def _new_channel(self, request: AriRequest, state: str) -> AriResponse | Json:
        params = request.params
        if "endpoint" not in params or ("app" in params) == ("context" in params):
            return _error(400, "Endpoint and one of app or context must be given")
        channel_id = params.get("channelId") or f"fake-{next(self._numbers)}"
        if channel_id in self.channels:
            return _error(409, "Channel with given unique ID already exists")
        self.created[channel_id] += 1
        channel = {"id": channel_id, "name": f"{params['endpoint']}-{channel_id}", "state": state,
                   "caller": {"name": "", "number": ""}, "connected": {"name": "", "number": ""},
                   "accountcode": "", "creationtime": _now(), "language": "en",
                   "dialplan": {"context": params.get("context", ""), "exten": params.get("extension", ""),
                                "priority": 1, "app_name": "Stasis" if "app" in params else "",
                                "app_data": params.get("app", "")}, "app": params.get("app", "")}
        self.channels[channel_id] = channel
        self.variables[channel_id] = dict((request.json or {}).get("variables", {}))
        return channel

    def _originate(self, request: AriRequest) -> AriResponse:
        into_app = "app" in request.params
        channel = self._new_channel(request, "Up" if into_app else "Ringing")
        if isinstance(channel, AriResponse):
            return channel
        if into_app:
            self.emit("StasisStart", channel["app"], channel=channel, args=[])
        return _json(200, channel)

    # The origin context (asterisk-conf/extensions.conf, [cb-origin]) as Asterisk runs it.

    def answer_origin(self, channel_id: str, active_apps: set[str]) -> bool:
        """An origin rung into the origin context answers: it enters the app its ``CB_APP``
        names if that app is connected (True), or hears the apology and is hung up (False)."""
        channel, variables = self.channels[channel_id], self.variables[channel_id]
        channel["state"] = "Up"
        app = variables.get("CB_APP", "")
        if app in active_apps:
            channel["app"] = app
            self.emit("StasisStart", app, channel=channel, args=variables.get("CB_APP_ARGS", "").split(","))
            return True
        self.apologised.append(channel_id)
        self._destroy(channel_id, 16)
        return False

    def end_origin(self, channel_id: str, cause: int, active_apps: set[str], tech_cause: int | None = None) -> None:
        """An origin ends before answering: its hangup handler tells ``CB_APP``."""
        channel, app = self.channels[channel_id], self.variables[channel_id].get("CB_APP", "")
        if app in active_apps:
            self.emit("StasisStart", app, channel=channel, args=["ended", str(cause)])
        self._destroy(channel_id, cause, tech_cause)

    def _destroy(self, channel_id: str, cause: int, tech_cause: int | None = None) -> None:
        channel = self.channels.pop(channel_id)
        extra = {"tech_cause": tech_cause} if tech_cause is not None else {}
        self.emit("ChannelDestroyed", channel["app"], channel=channel, cause=cause, cause_txt="", **extra)

    def _subscribe(self, request: AriRequest, app: str) -> AriResponse:
        source = request.params.get("eventSource", "")
        if self.before_subscribe is not None:
            self.before_subscribe(source)
        kind, _, name = source.partition(":")
        known = self.channels if kind == "channel" else self.bridges if kind == "bridge" else {}
        if name not in known:
            return _error(422, "Event source does not exist")
        self.subscriptions.append((app, source))
        return self._application(request, app)

    def _create(self, request: AriRequest) -> AriResponse:
        channel = self._new_channel(request, "Down")
        if isinstance(channel, AriResponse):
            return channel
        self.emit("StasisStart", channel["app"], channel=channel, args=[])
        return _json(200, channel)

    def _list_channels(self, request: AriRequest) -> AriResponse:
        return _json(200, list(self.channels.values()))

    def _get_channel(self, request: AriRequest, channel_id: str) -> AriResponse:
        channel = self.channels.get(channel_id)
        return _json(200, channel) if channel else _error(404, "Channel not found")

    def _hangup(self, request: AriRequest, channel_id: str) -> AriResponse:
        channel = self.channels.pop(channel_id, None)
        if channel is None:
            return _error(404, "Channel not found")
        for bridge in self.bridges.values():
            if channel_id in bridge["channels"]:
                bridge["channels"].remove(channel_id)
        app = channel["app"]
        self.emit("ChannelHangupRequest", app, channel=channel, cause=16)
        self.emit("StasisEnd", app, channel=channel)
        self.emit("ChannelDestroyed", app, channel=channel, cause=16, cause_txt="Normal Clearing")
        return _json(204)

    def _dial(self, request: AriRequest, channel_id: str) -> AriResponse:
        channel = self.channels.get(channel_id)
        if channel is None:
            return _error(404, "Channel not found")
        channel["state"] = "Up"
        self.emit("Dial", channel["app"], peer=channel, dialstatus="ANSWER", dialstring="")
        return _json(204)

    def _set_variable(self, request: AriRequest, channel_id: str) -> AriResponse:
        if channel_id not in self.channels:
            return _error(404, "Channel not found")
        self.variables[channel_id][request.params["variable"]] = request.params.get("value", "")
        return _json(204)

    def _get_variable(self, request: AriRequest, channel_id: str) -> AriResponse:
        value = self.variables.get(channel_id, {}).get(request.params.get("variable", ""))
        if channel_id not in self.channels or value is None:
            return _error(404, "Channel or variable not found")
        return _json(200, {"value": value})

    def _channel_noop(self, request: AriRequest, channel_id: str) -> AriResponse:
        return _json(204) if channel_id in self.channels else _error(404, "Channel not found")

    # --- playbacks -------------------------------------------------------------------------

    def _play(self, request: AriRequest, target: str, app: str) -> AriResponse:
        playback_id = request.params.get("playbackId") or f"fake-pb-{next(self._numbers)}"
        if playback_id in self.playbacks:
            return _error(409, "Playback with given ID already exists")
        playback = {"id": playback_id, "media_uri": request.params.get("media", ""),
                    "target_uri": target, "state": "done"}
        self.emit("PlaybackFinished", app, playback=playback)
        return _json(201, playback | {"state": "queued"})

    def _play_on_channel(self, request: AriRequest, channel_id: str) -> AriResponse:
        channel = self.channels.get(channel_id)
        if channel is None:
            return _error(404, "Channel not found")
        return self._play(request, f"channel:{channel_id}", channel["app"])

    def _play_on_bridge(self, request: AriRequest, bridge_id: str) -> AriResponse:
        if bridge_id not in self.bridges:
            return _error(404, "Bridge not found")
        return self._play(request, f"bridge:{bridge_id}", "")

    def _stop_playback(self, request: AriRequest, playback_id: str) -> AriResponse:
        return _json(204) if self.playbacks.pop(playback_id, None) else _error(404, "not found")

    # --- bridges ---------------------------------------------------------------------------

    def _create_bridge(self, request: AriRequest) -> AriResponse:
        bridge_id = request.params.get("bridgeId") or f"fake-br-{next(self._numbers)}"
        if bridge_id in self.bridges:
            return _error(409, "Bridge with given unique ID already exists")
        self.bridges[bridge_id] = {
            "id": bridge_id, "technology": "simple_bridge", "bridge_type": "mixing",
            "bridge_class": "stasis", "creator": "Stasis", "channels": [],
            "name": request.params.get("name", ""), "creationtime": _now()}
        return _json(200, self.bridges[bridge_id])

    def _list_bridges(self, request: AriRequest) -> AriResponse:
        return _json(200, list(self.bridges.values()))

    def _get_bridge(self, request: AriRequest, bridge_id: str) -> AriResponse:
        bridge = self.bridges.get(bridge_id)
        return _json(200, bridge) if bridge else _error(404, "Bridge not found")

    def _destroy_bridge(self, request: AriRequest, bridge_id: str) -> AriResponse:
        return _json(204) if self.bridges.pop(bridge_id, None) else _error(404, "Bridge not found")

    def _bridge_members(self, request: AriRequest, bridge_id: str
                        ) -> tuple[Json, list[str]] | AriResponse:
        bridge = self.bridges.get(bridge_id)
        if bridge is None:
            return _error(404, "Bridge not found")
        members = [c for c in request.params.get("channel", "").split(",") if c]
        if not members:
            return _error(400, "Missing parameter channel")
        if any(c not in self.channels for c in members):
            return _error(400, "Channel not found")
        return bridge, members

    def _add_channel(self, request: AriRequest, bridge_id: str) -> AriResponse:
        found = self._bridge_members(request, bridge_id)
        if isinstance(found, AriResponse):
            return found
        bridge, members = found
        bridge["channels"].extend(c for c in members if c not in bridge["channels"])
        return _json(204)

    def _remove_channel(self, request: AriRequest, bridge_id: str) -> AriResponse:
        found = self._bridge_members(request, bridge_id)
        if isinstance(found, AriResponse):
            return found
        bridge, members = found
        if any(c not in bridge["channels"] for c in members):
            return _error(422, "Channel not in this bridge")
        bridge["channels"] = [c for c in bridge["channels"] if c not in members]
        return _json(204)

    # --- applications ----------------------------------------------------------------------

    def _application(self, request: AriRequest, app: str) -> AriResponse:
        channel_ids = [c for c, ch in self.channels.items() if ch["app"] == app]
        event_filter = self.event_filters.get(app, {})
        return _json(200, {"name": app, "channel_ids": channel_ids,
                           "bridge_ids": list(self.bridges), "endpoint_ids": [],
                           "device_names": [],
                           "events_allowed": event_filter.get("allowed", []),
                           "events_disallowed": event_filter.get("disallowed", [])})

    def _set_filter(self, request: AriRequest, app: str) -> AriResponse:
        self.event_filters[app] = request.json or {}
        return self._application(request, app)
