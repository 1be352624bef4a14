"""The executor: the only code that calls ARI.

It runs the machine's commands in order and turns Asterisk's refusals into events the machine
understands. It is also the one place that decides what an error means: a 404 on a hangup or
a bridge destroy is success (the thing is already gone), a 409 on a create means a retried
request already did it (our ids make creates idempotent); anything else is reported back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..ari.client import AriClient
from ..ari.errors import AriError, AriOutcomeUnknown
from ..domain import commands as cmd
from ..domain import events as ev
from .timers import CallTimers

log = logging.getLogger("ari_callback.engine")

Emit = Callable[[ev.CallEvent], None]


class Executor:
    """Runs one call's commands. ``emit`` queues events back to that call."""

    def __init__(self, ari: AriClient, app: str, call_id: str, timers: CallTimers, emit: Emit,
                 origin_context: str | None = None):
        self.ari, self.app, self.call_id = ari, app, call_id
        self.origin_context = origin_context or None   # None: origins enter the app directly
        self.timers, self.emit = timers, emit
        self.created: set[str] = set()   # legs Asterisk accepted (reconciliation looks for them)
        self.unwatched: set[str] = set()  # origins gone before our subscription reached them

    async def run(self, commands: list[cmd.Command]) -> None:
        for command in commands:
            try:
                await self._run_one(command)
            except AriOutcomeUnknown as exc:
                if not await self._settled(command):
                    self._refused(command, exc)
            except AriError as exc:
                self._refused(command, exc)

    async def _settled(self, c: cmd.Command) -> bool:
        """A create whose answer was lost (even after the client's resend) may have happened:
        ask Asterisk. A leg that exists is ours, and its events come to our app as usual."""
        if not isinstance(c, (cmd.Originate, cmd.CreateLeg)):
            return False
        try:
            await self.ari.get_channel(c.leg_id)
        except AriError:
            return False
        self.created.add(c.leg_id)
        log.warning("call %s: %s's answer was lost, but the channel exists", self.call_id, type(c).__name__)
        if isinstance(c, cmd.Originate) and self.origin_context is not None:
            await self._listen_to(c.leg_id)
        return True

    async def _run_one(self, c: cmd.Command) -> None:
        match c:
            case cmd.StartTimer():
                self.timers.start(c.name, c.delay, c.token)
            case cmd.CancelTimer():
                self.timers.cancel(c.name)
            case cmd.Originate():
                await self._originate(c)
            case cmd.CreateLeg():
                await self.ari.create_channel(c.endpoint, channel_id=c.leg_id, app=self.app,
                                              app_args=f"leg,{self.call_id}", formats=c.formats,
                                              variables=dict(c.variables))
                self.created.add(c.leg_id)
            case cmd.Dial():
                await self.ari.dial(c.leg_id, timeout=c.timeout)
            case cmd.Hangup():
                await self.ari.hangup(c.leg_id, reason=c.reason)
            case cmd.CreateBridge():
                await self.ari.create_bridge(c.bridge_id, type="mixing,dtmf_events", name=f"cb:{self.call_id}")
            case cmd.AddToBridge():
                await self.ari.add_channel(c.bridge_id, c.leg_id, absorb_dtmf=c.absorb_dtmf,
                                           inhibit_connected_line_updates=c.inhibit_connected_line)
            case cmd.DestroyBridge():
                await self.ari.destroy_bridge(c.bridge_id)
            case cmd.PlayToLeg():
                await self.ari.play_on_channel(c.leg_id, list(c.media), playback_id=c.playback_id)
            case cmd.PlayToBridge():
                await self.ari.play_on_bridge(c.bridge_id, list(c.media), playback_id=c.playback_id)
            case cmd.StopPlayback():
                await self.ari.stop_playback(c.playback_id)
            case cmd.SetVariable():
                await self.ari.set_variable(c.leg_id, c.name, c.value)
            case cmd.SendDtmf():
                await self.ari.send_dtmf(c.leg_id, c.digits)
            case _:
                raise TypeError(f"unknown command {c!r}")

    async def _originate(self, c: cmd.Originate) -> None:
        stasis_args = f"leg,{self.call_id}"
        if self.origin_context is None:
            await self.ari.originate(c.endpoint, channel_id=c.leg_id, app=self.app, app_args=stasis_args,
                                     caller_id=c.caller_id or None, timeout=c.timeout, formats=c.formats,
                                     variables=dict(c.variables))
            self.created.add(c.leg_id)
            return
        variables = {**c.variables, **origin_variables(self.origin_context, self.app, stasis_args)}
        await self.ari.originate(c.endpoint, channel_id=c.leg_id, context=self.origin_context, extension="s",
                                 caller_id=c.caller_id or None, timeout=c.timeout, formats=c.formats,
                                 variables=variables)
        self.created.add(c.leg_id)
        await self._listen_to(c.leg_id)

    async def _listen_to(self, leg_id: str) -> None:
        """An origin rung through the origin context is not our app's until it answers: ask for
        its events now. What happened before this subscription is read off the channel; an origin
        already gone is reported by its hangup handler (docs/decisions.md, "origin context")."""
        try:
            await self.ari.subscribe(self.app, f"channel:{leg_id}")
        except AriError:
            self.unwatched.add(leg_id)   # its hangup handler's report is all we will hear
            return
        try:
            channel = await self.ari.get_channel(leg_id)
        except AriError:
            return   # ended since: its ChannelDestroyed is on its way to us
        if channel.state == "Ringing":
            self.emit(ev.LegRinging(leg_id))

    def _refused(self, c: cmd.Command, exc: AriError) -> None:
        """What an Asterisk refusal means for the call (see the module docstring)."""
        gone = exc.status == 404
        if isinstance(c, (cmd.Hangup, cmd.DestroyBridge, cmd.StopPlayback)) and gone:
            return
        if isinstance(c, (cmd.Originate, cmd.CreateLeg, cmd.CreateBridge)) and exc.status == 409:
            return
        log.warning("call %s: %s refused: %s", self.call_id, type(c).__name__, exc)
        match c:
            case cmd.Originate() | cmd.CreateLeg():
                self.emit(ev.LegFailed(c.leg_id, f"{exc.status}: {exc.body[:200]}"))
            case cmd.Dial():
                # The channel exists but will not ring: the machine hangs it up.
                self.emit(ev.LegDialStatus(c.leg_id, "CHANUNAVAIL"))
            case cmd.CreateBridge():
                self.emit(ev.BridgeFailed(str(exc)))
            case cmd.AddToBridge() if not gone:
                self.emit(ev.BridgeFailed(str(exc)))
            case cmd.PlayToLeg() | cmd.PlayToBridge():
                self.emit(ev.PlaybackDone(c.playback_id, ok=False))
            case cmd.Hangup():
                # Not gone and not hung up: say it is gone so the call cannot wait forever;
                # reconciliation hangs up any channel that is really left.
                self.emit(ev.LegDestroyed(c.leg_id, None, f"hangup refused: {exc.status}"))


# The channel variables the origin context reads (asterisk-conf/extensions.conf, [cb-origin]).
ORIGIN_APP = "CB_APP"            # the Stasis app an answered origin enters: its owner's
ORIGIN_APP_ARGS = "CB_APP_ARGS"  # and its arguments


def origin_variables(context: str, app: str, stasis_args: str) -> dict[str, str]:
    """What an origin rung through ``context`` carries: the app to enter on answer, and a hangup
    handler that tells that app how the origin ended if it never got that far."""
    return {ORIGIN_APP: app, ORIGIN_APP_ARGS: stasis_args,
            "CHANNEL(hangup_handler_push)": f"{context},ended,1"}


async def redirect_origins(ari: AriClient, app: str, leg_ids: list[str]) -> None:
    """Have ringing origins an adopted call took over enter ``app`` on answer, not the app of the
    instance that rang them (which is gone: they would get the apology)."""
    for leg_id in leg_ids:
        try:
            await ari.set_variable(leg_id, ORIGIN_APP, app)
        except AriError as exc:
            if exc.status != 404:
                log.warning("could not redirect origin %s to %s: %s", leg_id, app, exc)


@dataclass(frozen=True)
class AsteriskState:
    channel_ids: frozenset[str]       # every channel Asterisk has
    app_channel_ids: frozenset[str]   # the channels in our Stasis app
    app_bridge_ids: frozenset[str]    # the bridges our app created or is subscribed to
    up: frozenset[str] = frozenset()  # channels in state Up (answered)
    stasis: frozenset[str] = frozenset()   # channels in any Stasis app (ours or an adopted one's)
    started_at: float | None = None   # when Asterisk last started (epoch), if it says


async def snapshot(ari: AriClient, app: str) -> AsteriskState:
    """What Asterisk has now, for reconciliation."""
    channels = await ari.list_channels()
    application = await ari.get_application(app)
    info = await ari.asterisk_info()
    return AsteriskState(frozenset(c.id for c in channels), frozenset(application.get("channel_ids", [])),
                         frozenset(application.get("bridge_ids", [])),
                         frozenset(c.id for c in channels if c.state == "Up"),
                         frozenset(c.id for c in channels if c.dialplan.app_name == "Stasis"),
                         _epoch((info.get("status") or {}).get("startup_time")))


def _epoch(iso: object) -> float | None:
    try:
        return datetime.fromisoformat(str(iso)).timestamp() if iso else None
    except ValueError:
        return None


async def ours_everywhere(ari: AriClient) -> tuple[list[str], list[str]]:
    """Every channel and bridge on Asterisk with our id prefix, whichever app holds it."""
    channels = [c.id for c in await ari.list_channels() if c.id.startswith("cb-")]
    bridges = [b.id for b in await ari.list_bridges() if b.id.startswith("cb-")]
    return channels, bridges


async def subscribe(ari: AriClient, app: str, channel_ids: list[str], bridge_id: str | None) -> None:
    """Have the events of an adopted call's channels and bridge sent to our app. One that is gone
    already is fine: reconciliation finds it missing."""
    sources = [f"channel:{cid}" for cid in channel_ids] + ([f"bridge:{bridge_id}"] if bridge_id else [])
    for source in sources:
        try:
            await ari.subscribe(app, source)
        except AriError as exc:
            if exc.status not in (404, 422):
                log.warning("could not subscribe %s to %s: %s", app, source, exc)


async def remove(ari: AriClient, channel_ids: list[str], bridge_ids: list[str]) -> None:
    """Hang up channels and destroy bridges nobody owns; already gone is fine."""
    for channel_id in channel_ids:
        try:
            await ari.hangup(channel_id, reason="normal")
        except AriError as exc:
            if exc.status != 404:
                log.warning("could not hang up orphan %s: %s", channel_id, exc)
    for bridge_id in bridge_ids:
        try:
            await ari.destroy_bridge(bridge_id)
        except AriError as exc:
            if exc.status != 404:
                log.warning("could not destroy orphan bridge %s: %s", bridge_id, exc)
