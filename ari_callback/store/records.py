"""What the store takes and gives: plain frozen records, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .tables import FINISHED


@dataclass(frozen=True, slots=True)
class NewCallback:
    """A callback as accepted: stored once, then only the dispatcher and its attempts move it."""

    id: str
    client_id: str
    api: str
    request: dict[str, Any]
    plan: dict[str, Any] | None
    created_at: float
    due_at: float
    status: str = "queued"
    asterisk: str | None = None
    option_sid: str | None = None    # a customer callback: its call option's waitlist
    number: str | None = None        # the customer's number (one pending callback per number and option)
    place_at: float | None = None    # its place in the waitlist; default: created_at
    source: str = ""
    policy: dict[str, Any] | None = None
    idem_tag: str | None = None      # the Idempotency-Key's use that made it (store/idempotency.py)


@dataclass(frozen=True, slots=True)
class Admission:
    """How many unfinished callbacks the client may have, this one included, and how many it
    may start in a window of time (``domain.admission.pace``), if limited."""

    allowed: int
    pace: tuple[int, float] | None = None   # (callbacks, per seconds)


@dataclass(frozen=True, slots=True)
class AttemptView:
    """One attempt as stored. Legs and timeline entries are dicts keyed by column name."""

    id: str
    callback_id: str
    seq: int
    instance: str
    state: str
    status_detail: str
    ended_by: str
    winner_leg: str | None
    created_at: float
    updated_at: float
    connected_at: float | None
    ended_at: float | None
    snapshot: dict[str, Any] | None = None
    legs: tuple[dict[str, Any], ...] = ()
    timeline: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class CallbackView:
    """A callback as stored, with its attempts (oldest first) when they were asked for."""

    id: str
    client_id: str
    api: str
    status: str
    status_detail: str
    ended_by: str
    request: dict[str, Any]
    plan: dict[str, Any] | None
    created_at: float
    updated_at: float
    due_at: float
    connected_at: float | None
    ended_at: float | None
    asterisk: str | None
    owner: str | None
    lease_until: float | None
    fence: int
    attempts: int
    cancel_requested_at: float | None
    option_sid: str | None = None
    number: str | None = None
    place_at: float | None = None
    source: str = ""
    policy: dict[str, Any] | None = None
    attempt_list: tuple[AttemptView, ...] = ()

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def latest(self) -> AttemptView | None:
        return self.attempt_list[-1] if self.attempt_list else None


@dataclass(frozen=True, slots=True)
class Claim:
    """A callback this instance now dials, under the lease ``fence``.

    ``attempt`` is the attempt to run: a new one for a fresh claim, or the one a dead owner
    left (``adopted``), with its legs and timeline, to be recovered.
    """

    callback_id: str
    client_id: str
    plan: dict[str, Any] | None
    fence: int
    attempt: AttemptView
    adopted: bool
    cancel_requested: bool
    policy: dict[str, Any] | None = None   # how to go on after a failed attempt (customer callbacks)
    due_at: float | None = None            # for the dispatcher's lateness metric
    requested_at: float = 0.0              # when it was asked for: retries stop at a deadline from it


@dataclass(frozen=True, slots=True)
class Lease:
    """Who may write an attempt's progress: the owning instance with the current fence."""

    callback_id: str
    attempt_id: str
    client_id: str
    instance: str
    fence: int


@dataclass(frozen=True, slots=True)
class Progress:
    """One step of an attempt: its state, the legs as they are, the new timeline entries."""

    state: str
    status_detail: str
    ended_by: str
    winner_leg: str | None
    connected_at: float | None
    ended_at: float | None
    at: float
    legs: tuple[dict[str, Any], ...]
    timeline: tuple[dict[str, Any], ...]
    previous_state: str
    final: bool
    snapshot: dict[str, Any] | None = None
    retry_at: float | None = None   # final, and the callback is to be tried again then
