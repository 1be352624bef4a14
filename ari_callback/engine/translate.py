"""ARI events in, the call machine's events out: decoded once, here, at the edge.

Channel ids are ours (``cb-<call>-src0``, ``cb-<call>-dst``, ``cb-<call>-xfer1``), so the id
alone says which call and which role a channel has. Local channels' ``;2`` halves share the
prefix but are not legs: they are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..ari import models as ari
from ..domain import causes
from ..domain import events as ev

LEG_ID = re.compile(r"^cb-(?P<call>.+)-(?P<role>src\d+|dst|xfer\d+)$")
PLAYBACK_ID = re.compile(r"^cb-(?P<call>.+)-pb\d+$")

Routed = tuple[str, ev.CallEvent]


@dataclass(frozen=True)
class OriginEndReport(ev.LegDestroyed):
    """The origin context's hangup handler saying how an origin ended before it answered. It is
    the only word of that end when the app's subscription to the origin came too late (the
    channel was gone); otherwise ``ChannelDestroyed`` says it, with the SIP code, and the call's
    runner drops this report (``CallRunner``)."""


def leg_of(channel_id: str) -> tuple[str, str] | None:
    """(call id, role) of one of our legs, or None."""
    match = LEG_ID.match(channel_id)
    if match is None:
        return None
    role = match["role"].rstrip("0123456789")
    return match["call"], role


def call_of_playback(playback_id: str) -> str | None:
    match = PLAYBACK_ID.match(playback_id)
    return match["call"] if match else None


def _dial(event: ari.Dial) -> list[Routed]:
    leg = leg_of(event.peer.id)
    if leg is None:
        return []
    call, role = leg
    status = (event.dialstatus or "").upper()
    if status == "RINGING":
        return [(call, ev.LegRinging(event.peer.id))]
    if status == "PROGRESS":
        return [(call, ev.LegProgress(event.peer.id))]
    if status == "ANSWER":
        # An originated origin can only be bridged once it is in Stasis: StasisStart says so.
        return [] if role == "src" else [(call, ev.LegAnswered(event.peer.id))]
    return [(call, ev.LegDialStatus(event.peer.id, status))] if status else []


def _stasis_start(event: ari.StasisStart) -> list[Routed]:
    leg = leg_of(event.channel.id)
    if leg is None:
        return []
    call, role = leg
    if event.args[:1] == ["ended"]:
        # The origin context's hangup handler: an origin that ended before it reached us.
        number = int(event.args[1]) if len(event.args) > 1 and event.args[1].isdigit() else None
        return [(call, OriginEndReport(event.channel.id, number, causes.text(number)))]
    # Originated legs enter Stasis when answered; created ones at once (state Down).
    if role == "src":
        return [(call, ev.LegAnswered(event.channel.id))]
    return [(call, ev.LegReady(event.channel.id))]


def _on_leg(channel_id: str, make) -> list[Routed]:
    leg = leg_of(channel_id)
    return [(leg[0], make(channel_id))] if leg else []


def _refer(event: ari.ChannelTransfer) -> list[Routed]:
    """A phone's REFER on one of our legs (PJSIP_TRANSFER_HANDLING=ari-only): we decide."""
    source = (event.referred_by or {}).get("source_channel") or {}
    leg = leg_of(source.get("id", ""))
    target = ((event.refer_to or {}).get("requested_destination") or {}).get("destination", "")
    if leg is None or not target:
        return []
    return [(leg[0], ev.TransferRequested(source["id"], str(target)))]


def translate(event: ari.Event) -> list[Routed]:
    """The call events an ARI event means, each with the id of its call."""
    match event:
        case ari.StasisStart():
            return _stasis_start(event)
        case ari.Dial():
            return _dial(event)
        case ari.ChannelStateChange(channel=ch) if ch.state == "Ringing":
            return _on_leg(ch.id, ev.LegRinging)
        case ari.ChannelHangupRequest(channel=ch):
            return _on_leg(ch.id, lambda i: ev.LegHangup(i, event.cause))
        case ari.StasisEnd(channel=ch):
            return _on_leg(ch.id, ev.LegHangup)
        case ari.ChannelDestroyed(channel=ch):
            return _on_leg(ch.id, lambda i: ev.LegDestroyed(i, event.cause, event.cause_txt or "",
                                                            event.tech_cause))
        case ari.ChannelDtmfReceived(channel=ch):
            return _on_leg(ch.id, lambda i: ev.DtmfReceived(i, event.digit))
        case ari.ChannelTransfer():
            return _refer(event)
        case ari.PlaybackFinished(playback=pb):
            call = call_of_playback(pb.id)
            return [(call, ev.PlaybackDone(pb.id, ok=pb.state == "done"))] if call else []
    return []
