"""What happens to a call, as the state machine sees it (decoded once, at the engine's edge)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Start:
    """Begin dialling."""


@dataclass(frozen=True)
class Resume:
    """The app restarted and restored this call: re-arm its timers (or start it, if new)."""


@dataclass(frozen=True)
class Cancel:
    reason: str = "cancelled"


@dataclass(frozen=True)
class LegRinging:
    leg_id: str


@dataclass(frozen=True)
class LegProgress:
    """Early media (Asterisk reports it only as a Dial event with PROGRESS)."""

    leg_id: str


@dataclass(frozen=True)
class LegAnswered:
    leg_id: str


@dataclass(frozen=True)
class LegReady:
    """A created (not originated) leg entered our Stasis app: it can be bridged and dialled."""

    leg_id: str


@dataclass(frozen=True)
class LegDialStatus:
    """A final Dial status before the channel is gone (BUSY, CONGESTION, NOANSWER...)."""

    leg_id: str
    status: str


@dataclass(frozen=True)
class LegHangup:
    """The first sign that a leg is going (hangup request, StasisEnd)."""

    leg_id: str
    cause: int | None = None


@dataclass(frozen=True)
class LegDestroyed:
    leg_id: str
    cause: int | None = None
    cause_txt: str = ""
    tech_cause: int | None = None


@dataclass(frozen=True)
class LegFailed:
    """Asterisk refused to create the leg at all (the executor reports it)."""

    leg_id: str
    detail: str = ""


@dataclass(frozen=True)
class PlaybackDone:
    playback_id: str
    ok: bool = True


@dataclass(frozen=True)
class DtmfReceived:
    leg_id: str
    digit: str


@dataclass(frozen=True)
class TransferRequested:
    """A phone asked to transfer (SIP REFER seen by Asterisk, handled by us)."""

    leg_id: str
    number: str


@dataclass(frozen=True)
class TimerFired:
    name: str
    token: int


@dataclass(frozen=True)
class BridgeFailed:
    detail: str = ""


@dataclass(frozen=True)
class AsteriskLost:
    """Asterisk restarted since the call's legs were made: they went with it. Whoever seemed to
    hang up first did not; the outcome says that Asterisk went away."""

    detail: str = ""


CallEvent = (Start | Resume | Cancel | LegRinging | LegProgress | LegAnswered | LegReady | LegDialStatus
             | LegHangup | LegDestroyed | LegFailed | PlaybackDone | DtmfReceived | TransferRequested
             | TimerFired | BridgeFailed | AsteriskLost)
