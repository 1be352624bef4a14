"""The record of a call's legs and of everything that happened to them (the timeline)."""

from __future__ import annotations

from dataclasses import dataclass, field

SRC, DST, XFER = "src", "dst", "xfer"


@dataclass
class Leg:
    """One channel of a callback. Times are epoch seconds from the injected clock."""

    id: str
    role: str
    number: str
    index: int = 0
    created_at: float | None = None
    ringing_at: float | None = None
    progress_at: float | None = None
    answered_at: float | None = None
    dialled_at: float | None = None             # created legs: when we dialled them
    hangup_requested_at: float | None = None   # we asked Asterisk to hang it up
    hangup_at: float | None = None             # Asterisk said it is hanging up
    ended_at: float | None = None
    cause: int | None = None
    cause_txt: str = ""
    tech_cause: int | None = None
    dialstatus: str = ""
    hangup_reason: str = ""
    outcome: str = ""

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def leaving(self) -> bool:
        """A hangup was asked for or seen: the leg no longer counts as a party."""
        return self.hangup_requested_at is not None or self.gone

    @property
    def gone(self) -> bool:
        """Asterisk reported the leg hanging up or destroyed: the call reacts once, to the first."""
        return self.hangup_at is not None or self.ended_at is not None

    @property
    def destroyed(self) -> bool:
        return self.ended_at is not None


@dataclass(frozen=True)
class TimelineEntry:
    at: float
    kind: str
    leg_id: str | None = None
    detail: dict[str, object] = field(default_factory=dict)
