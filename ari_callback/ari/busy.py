"""Which ARI requests would stall the websocket because Asterisk waits for a busy channel.

Asterisk runs the ``RESTRequest``s of one websocket one after another on one thread
(res/ari/ari_websockets.c: ``session_read`` then ``ari_websocket_process_request``). Most
requests return at once, but a few wait until the target channel's own thread has run them
(``stasis_app_send_command``: answer, set a variable, add to or remove from a bridge), and that
thread is busy for the whole of a DTMF string sent with ``/dtmf`` and of a playback on the
channel. Verified on Asterisk 22.10.1: while ``WWW1`` was being sent to a channel, setting a
variable on it over the websocket held up an unrelated ``GET asterisk/ping`` behind it for
3.3 s; over HTTP the ping took 1 ms. So those requests go over HTTP while their channel is
busy, where they wait alone instead of stalling every call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from urllib.parse import unquote

from ari_callback.ari.models import ChannelDestroyed, Event, PlaybackFinished, StasisEnd
from ari_callback.ari.transport import AriRequest

# Asterisk's defaults for /dtmf (ms), and its pauses: 'w' half a second, 'W' one second.
_DIGIT_MS = 100
_BETWEEN_MS = 100
_PAUSE_MS = {"w": 500, "W": 1000}
# Margin for the command queue and the frames in flight around the estimate.
_SLACK_SECONDS = 0.5
# A playback whose PlaybackFinished never comes (an unknown media scheme) stops counting here.
_PLAYBACK_CAP_SECONDS = 600.0
_PURGE_ABOVE = 256


def dtmf_seconds(params: Mapping[str, str]) -> float:
    """How long Asterisk takes to send a /dtmf request's string, from its parameters."""
    digit = int(params.get("duration", _DIGIT_MS))
    between = int(params.get("between", _BETWEEN_MS))
    total = int(params.get("before", 0)) + int(params.get("after", 0))
    for char in params.get("dtmf", ""):
        total += _PAUSE_MS.get(char, digit + between)
    return total / 1000


def _segments(path: str) -> list[str]:
    return [unquote(part) for part in path.strip("/").split("/")]


def channels_waited_on(request: AriRequest) -> tuple[str, ...]:
    """The channels whose own thread Asterisk waits for before answering ``request``."""
    if request.method != "POST":
        return ()
    parts = _segments(request.path)
    if len(parts) != 3:
        return ()
    if parts[0] == "channels" and parts[2] in ("answer", "variable"):
        return (parts[1],)
    if parts[0] == "bridges" and parts[2] in ("addChannel", "removeChannel"):
        return tuple(request.params.get("channel", "").split(","))
    return ()


class BusyChannels:
    """Channels whose thread is sending DTMF or playing media, as far as our requests tell."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._dtmf_until: dict[str, float] = {}
        self._playing_until: dict[str, float] = {}
        self._playback_channel: dict[str, str] = {}

    def note_sent(self, request: AriRequest) -> None:
        """Learn from a request that went to Asterisk."""
        parts = _segments(request.path)
        if request.method != "POST" or len(parts) != 3 or parts[0] != "channels":
            return
        channel, action, now = parts[1], parts[2], self._clock()
        if action == "dtmf":
            until = now + dtmf_seconds(request.params) + _SLACK_SECONDS
            self._dtmf_until[channel] = max(until, self._dtmf_until.get(channel, 0.0))
        elif action == "play":
            self._playing_until[channel] = now + _PLAYBACK_CAP_SECONDS
            self._playback_channel[request.params.get("playbackId", "")] = channel
        if len(self._dtmf_until) + len(self._playing_until) > _PURGE_ABOVE:
            self._purge(now)

    def observe(self, event: Event) -> None:
        """Learn from an event: a playback ended, a channel left."""
        if isinstance(event, PlaybackFinished):
            channel = self._playback_channel.pop(event.playback.id, None)
            target = event.playback.target_uri
            if channel is None and target.startswith("channel:"):
                channel = target.removeprefix("channel:")
            if channel is not None:
                self._playing_until.pop(channel, None)
        elif isinstance(event, (ChannelDestroyed, StasisEnd)):
            self._forget(event.channel.id)

    def blocks(self, request: AriRequest) -> bool:
        """Whether ``request`` would wait for a busy channel's thread."""
        now = self._clock()
        return any(
            self._dtmf_until.get(channel, 0.0) > now or self._playing_until.get(channel, 0.0) > now
            for channel in channels_waited_on(request)
        )

    def _forget(self, channel: str) -> None:
        self._dtmf_until.pop(channel, None)
        self._playing_until.pop(channel, None)
        for playback, owner in list(self._playback_channel.items()):
            if owner == channel:
                del self._playback_channel[playback]

    def _purge(self, now: float) -> None:
        for table in (self._dtmf_until, self._playing_until):
            for channel in [c for c, until in table.items() if until <= now]:
                del table[channel]
        live = self._playing_until.keys()
        for playback in [p for p, c in self._playback_channel.items() if c not in live]:
            del self._playback_channel[playback]
