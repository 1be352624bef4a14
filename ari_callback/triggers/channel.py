"""One trigger channel on Asterisk: the only code that calls ARI for dialplan triggers.

The desk feeds it the channel's events in order. Every wait is bounded; a channel that hangs
up (or that Asterisk no longer knows: 404) raises :class:`ChannelGone`, and the flow simply
stops. Digits pressed at any time are kept (type-ahead) and cut a prompt short.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid

from ..ari import models as ari
from ..ari.client import AriClient
from ..ari.errors import AriError

log = logging.getLogger("ari_callback.triggers")
_playbacks = itertools.count(1)


class ChannelGone(Exception):
    """The caller hung up, or the channel left our app: nothing more to do on it."""


class TriggerChannel:
    def __init__(self, ari_client: AriClient, channel: ari.Channel):
        self.ari, self.id, self.channel = ari_client, channel.id, channel
        self.events: asyncio.Queue[ari.Event] = asyncio.Queue()
        self.digits: list[str] = []
        self.gone = False
        self._prefix = f"trig-{uuid.uuid4().hex[:12]}"

    def post(self, event: ari.Event) -> None:
        self.events.put_nowait(event)

    async def _call(self, coro) -> object:
        """One ARI request; a channel Asterisk no longer has is a hang-up."""
        if self.gone:
            raise ChannelGone(self.id)
        try:
            return await coro
        except AriError as exc:
            if exc.status == 404:
                self.gone = True
                raise ChannelGone(self.id) from None
            raise

    async def answer(self) -> None:
        if self.channel.state != "Up":
            await self._call(self.ari.answer(self.id))

    async def variable(self, name: str) -> str:
        """A channel variable ('' when unset: Asterisk answers 404 for those, so ask whether
        the channel is still there before taking the 404 as a hang-up)."""
        try:
            return await self.ari.get_variable(self.id, name)
        except AriError as exc:
            if exc.status != 404:
                raise
        await self._call(self.ari.get_channel(self.id))
        return ""

    async def _next(self, deadline: float) -> ari.Event | None:
        """The next event before ``deadline`` (monotonic), None on time-out; hang-ups raise."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            event = await asyncio.wait_for(self.events.get(), remaining)
        except TimeoutError:
            return None
        if isinstance(event, (ari.StasisEnd, ari.ChannelHangupRequest, ari.ChannelDestroyed)):
            self.gone = True
            raise ChannelGone(self.id)
        if isinstance(event, ari.ChannelDtmfReceived):
            self.digits.append(event.digit)
        return event

    async def play(self, media: list[str], *, timeout: float, barge_in: bool = False) -> None:
        """Play ``media`` and wait until it ends (or ``timeout``, then stop it). With
        ``barge_in`` a key pressed (now or before) ends it at once; the digit stays queued."""
        if not media or (barge_in and self.digits):
            return
        playback_id = f"{self._prefix}-pb{next(_playbacks)}"
        await self._call(self.ari.play_on_channel(self.id, media, playback_id=playback_id))
        deadline = time.monotonic() + timeout
        try:
            while True:
                event = await self._next(deadline)
                if isinstance(event, ari.PlaybackFinished) and event.playback.id == playback_id:
                    return
                if event is None or (barge_in and self.digits):
                    await self._stop(playback_id)
                    return
        except asyncio.CancelledError:
            # The trigger's time limit: Asterisk runs a channel's requests in order, so a
            # prompt still playing would hold up the hand-back that follows.
            await self._stop(playback_id)
            raise

    async def _stop(self, playback_id: str) -> None:
        try:
            await self.ari.stop_playback(playback_id)
        except AriError as exc:
            if exc.status != 404:   # 404: it had just finished
                log.warning("trigger %s: could not stop playback: %s", self.id, exc)

    async def read(self, *, max_digits: int, first_timeout: float, next_timeout: float,
                   terminator: str = "#") -> str:
        """Keys pressed until ``terminator`` (not returned), ``max_digits`` or a time-out."""
        got = ""
        deadline = time.monotonic() + first_timeout
        while len(got) < max_digits:
            if not self.digits and await self._next(deadline) is None:
                break
            if not self.digits:
                continue
            digit = self.digits.pop(0)
            if digit == terminator:
                break
            got += digit
            deadline = time.monotonic() + next_timeout
        return got

    async def hand_back(self, variables: dict[str, str]) -> None:
        """Set the result variables and return the channel to the dialplan (next priority)."""
        for name, value in variables.items():
            await self._call(self.ari.set_variable(self.id, name, value))
        await self._call(self.ari.continue_in_dialplan(self.id))
