"""The trigger desk: takes the channels the dialplan hands to our app with a trigger verb,
runs one task per channel, and always hands the channel back to the dialplan.

Rule: a trigger channel never stays in Stasis. Whatever happens (bad arguments, a refusal,
an ARI error, the time limit ``triggers.max_seconds``), the channel gets CB_RESULT, CB_REASON
and CB_CALLBACK_ID and is continued at its next priority; only a caller who hung up is left
alone (there is nothing to continue).
"""

from __future__ import annotations

import asyncio
import logging
import re

from ..ari import models as ari
from ..ari.client import AriClient
from ..ari.errors import AriError
from ..config import Settings
from . import flows, rules
from .channel import ChannelGone, TriggerChannel
from .rules import Reason, TriggerError

log = logging.getLogger("ari_callback.triggers")
HAND_BACK_S = 5.0   # the error prompt and the hand-back after the time limit get this long


def destination_policy(settings: Settings) -> rules.DestinationPolicy:
    """``triggers.ringback_destinations``, or else the numbers of the non-external routes."""
    patterns = settings.triggers.ringback_destinations
    if patterns is None:
        trunks = settings.dialing.trunks
        patterns = [r.match for r in settings.dialing.routes if not trunks[r.trunk].external]
    return rules.DestinationPolicy(tuple(re.compile(p) for p in patterns))


class TriggerDesk:
    def __init__(self, ari_client: AriClient, context: flows.TriggerContext):
        self.ari, self.context = ari_client, context
        self.channels: dict[str, TriggerChannel] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def wants(self, event: ari.Event) -> bool:
        """A trigger's StasisStart (a channel we did not create, with a verb), or an event of
        a channel a trigger runs on."""
        match event:
            case ari.StasisStart(channel=ch) if not ch.id.startswith("cb-") and event.replace_channel is None:
                return rules.is_trigger_start(event.args)
            case ari.PlaybackFinished(playback=pb):
                return pb.target_uri.removeprefix("channel:") in self.channels
        channel = getattr(event, "channel", None)
        return channel is not None and channel.id in self.channels

    def post(self, event: ari.Event) -> None:
        if isinstance(event, ari.StasisStart) and event.channel.id not in self.channels:
            self._start(event)
            return
        target = (event.playback.target_uri.removeprefix("channel:") if isinstance(event, ari.PlaybackFinished)
                  else event.channel.id)   # type: ignore[attr-defined]
        if (channel := self.channels.get(target)) is not None:
            channel.post(event)

    def _start(self, event: ari.StasisStart) -> None:
        channel = TriggerChannel(self.ari, event.channel)
        self.channels[channel.id] = channel
        task = asyncio.create_task(self._serve(channel, list(event.args)), name=f"trigger-{channel.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, channel: TriggerChannel, args: list[str]) -> None:
        log.info("trigger on %s (%s): %s", channel.id, channel.channel.caller.number, args)
        try:
            result = await asyncio.wait_for(self._outcome(channel, args), self.context.settings.max_seconds)
        except TimeoutError:
            result = _failed(Reason.TIMED_OUT)
        except ChannelGone:
            result = None
        try:
            if result is not None and not channel.gone:
                await asyncio.wait_for(channel.hand_back(result), HAND_BACK_S)
                log.info("trigger on %s handed back: %s", channel.id, result)
        except (TimeoutError, ChannelGone):
            pass
        except AriError as exc:
            log.warning("trigger on %s: could not hand the channel back: %s", channel.id, exc)
        finally:
            self.channels.pop(channel.id, None)

    async def _outcome(self, channel: TriggerChannel, args: list[str]) -> dict[str, str]:
        """The result variables; an error prompt first when the trigger failed."""
        try:
            callback_id = await flows.run(rules.parse(args), channel, self.context)
            return {"CB_RESULT": "ok", "CB_REASON": "", "CB_CALLBACK_ID": callback_id}
        except ChannelGone:
            raise
        except TriggerError as exc:
            log.info("trigger on %s refused: %s (%s)", channel.id, exc.reason, exc)
            reason = exc.reason
        except AriError as exc:
            log.warning("trigger on %s: Asterisk refused a request: %s", channel.id, exc)
            reason = Reason.INTERNAL
        except Exception:   # a bug of ours must not keep the caller in Stasis
            log.exception("trigger on %s failed", channel.id)
            reason = Reason.INTERNAL
        try:
            await channel.play(rules.error_prompt(reason), timeout=self.context.settings.prompt_timeout)
        except AriError as exc:
            log.warning("trigger on %s: no error prompt: %s", channel.id, exc)
        return _failed(reason)

    async def release_strays(self, app_channel_ids: frozenset[str] | set[str]) -> int:
        """After a (re)connect: hand back to the dialplan every channel in our app that is not a
        callback's leg and that no trigger here runs (its trigger died with a crashed instance:
        left in Stasis it would sit there, silent, until the caller gives up). How many."""
        strays = [cid for cid in app_channel_ids if not cid.startswith("cb-") and cid not in self.channels]
        for channel_id in strays:
            try:
                for name, value in _failed("app_restarted").items():
                    await self.ari.set_variable(channel_id, name, value)
                await self.ari.continue_in_dialplan(channel_id)
            except AriError:
                pass   # hung up meanwhile
        return len(strays)

    async def shutdown(self, grace: float = 3.0) -> None:
        """Stop every trigger and hand its channel back (CB_REASON=shutdown) before the app
        goes: a channel left in Stasis would sit there, silent, until the caller gives up."""
        pending = [c for c in self.channels.values() if not c.gone]
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for channel in pending:
            try:
                await asyncio.wait_for(channel.hand_back(_failed("shutdown")), grace)
            except (TimeoutError, ChannelGone, AriError):
                pass


def _failed(reason: str) -> dict[str, str]:
    return {"CB_RESULT": "error", "CB_REASON": reason, "CB_CALLBACK_ID": ""}
