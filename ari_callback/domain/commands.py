"""What the state machine asks the executor to do (the executor alone talks to Asterisk)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Originate:
    """Ring a number directly; Asterisk puts the channel in our app only once it answers."""

    leg_id: str
    endpoint: str
    caller_id: str
    timeout: int
    formats: str | None
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateLeg:
    """Create a channel (in our app at once, state Down) that is bridged before it is dialled."""

    leg_id: str
    endpoint: str
    formats: str | None
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Dial:
    """Dial a created leg. ``timeout`` is Asterisk's safety net only; our timer restarts."""

    leg_id: str
    timeout: int = 0


@dataclass(frozen=True)
class Hangup:
    leg_id: str
    reason: str = "normal"


@dataclass(frozen=True)
class CreateBridge:
    bridge_id: str


@dataclass(frozen=True)
class AddToBridge:
    """Join a leg to the bridge. Connected-line updates are inhibited by default: each party
    keeps the caller ID the request chose instead of being shown the other party's."""

    bridge_id: str
    leg_id: str
    absorb_dtmf: bool = False
    inhibit_connected_line: bool = True


@dataclass(frozen=True)
class DestroyBridge:
    bridge_id: str


@dataclass(frozen=True)
class PlayToLeg:
    leg_id: str
    media: tuple[str, ...]
    playback_id: str


@dataclass(frozen=True)
class PlayToBridge:
    bridge_id: str
    media: tuple[str, ...]
    playback_id: str


@dataclass(frozen=True)
class StopPlayback:
    playback_id: str


@dataclass(frozen=True)
class SetVariable:
    leg_id: str
    name: str
    value: str


@dataclass(frozen=True)
class SendDtmf:
    leg_id: str
    digits: str


@dataclass(frozen=True)
class StartTimer:
    name: str
    delay: float
    token: int


@dataclass(frozen=True)
class CancelTimer:
    name: str


Command = (Originate | CreateLeg | Dial | Hangup | CreateBridge | AddToBridge | DestroyBridge
           | PlayToLeg | PlayToBridge | StopPlayback | SetVariable | SendDtmf | StartTimer | CancelTimer)
