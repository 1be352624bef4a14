"""Retrying a callback whose attempt failed: which outcomes are worth another try, and when.

``status_detail`` is an attempt's outcome as the app records it: ``answered``, ``cancelled``,
``asterisk_lost``, the app's own ``error``/``unrecoverable``, or ``<side>_<kind>`` with side
``src`` or ``dst``. The CUSTOMER is whichever side the callback dials the customer on
(``customer_side``); the other side is the agent or queue. Retry classes:

=================================================  =============  =========================
outcome                                            class          why
=================================================  =============  =========================
answered                                           None           connected: done
cancelled                                          None           nobody wants it any more
asterisk_lost, error, unrecoverable                failed         our side broke; try again
customer busy                                      busy
customer no_answer, ring_timeout, rejected         no_answer      the customer may pick up
                                                                  later
customer unavailable, congestion, failed,          failed         the network may recover
unknown, lost, failed_transfer
customer abandoned, normal, answered_elsewhere     not_reached    picked up, or hung up, but
                                                                  never connected
customer invalid_number                            None           retrying cannot help
other side (agent/queue): any kind                 failed         not the customer's doing
anything else                                      failed         an outcome this table does
                                                                  not know yet
=================================================  =============  =========================

Pure: times are UNIX epoch floats passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from .hours import OpeningHours

BUSY = "busy"
NO_ANSWER = "no_answer"
FAILED = "failed"
NOT_REACHED = "not_reached"
SIDES = ("src", "dst")

_NEVER = frozenset({"answered", "cancelled"})
_CUSTOMER_KINDS: dict[str, str | None] = {
    "busy": BUSY,
    "no_answer": NO_ANSWER, "ring_timeout": NO_ANSWER, "rejected": NO_ANSWER,
    "unavailable": FAILED, "congestion": FAILED, "failed": FAILED, "unknown": FAILED, "lost": FAILED,
    "failed_transfer": FAILED,
    "abandoned": NOT_REACHED, "normal": NOT_REACHED, "answered_elsewhere": NOT_REACHED,
    "invalid_number": None,
}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3                                # attempts in total, the first included
    backoff_seconds: tuple[int, ...] = (120, 300, 900)   # before the 2nd, 3rd, ...; the last repeats
    deadline_seconds: int = 86400                        # no attempt starts after requested_at + this
    retry_on: frozenset[str] = frozenset({BUSY, NO_ANSWER, FAILED, NOT_REACHED})

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts: {self.max_attempts} must be at least 1")
        if any(wait < 0 for wait in self.backoff_seconds) or self.deadline_seconds < 0:
            raise ValueError("backoff_seconds and deadline_seconds must not be negative")
        unknown = set(self.retry_on) - {BUSY, NO_ANSWER, FAILED, NOT_REACHED}
        if unknown:
            raise ValueError(f"retry_on: {sorted(unknown)} are not retry classes")

    def backoff_after(self, attempts_made: int) -> int:
        """The wait before attempt ``attempts_made + 1``."""
        if not self.backoff_seconds:
            return 0
        return self.backoff_seconds[min(attempts_made, len(self.backoff_seconds)) - 1]


def retry_class(status_detail: str, customer_side: str = "src") -> str | None:
    """The retry class of an attempt's outcome (see the table above); None: never retried."""
    if customer_side not in SIDES:
        raise ValueError(f"customer_side: {customer_side!r} is not one of {SIDES}")
    if status_detail in _NEVER:
        return None
    side, _, kind = status_detail.partition("_")
    if side not in SIDES or not kind:
        return FAILED   # asterisk_lost, error, unrecoverable, and outcomes not known yet
    if side != customer_side:
        return FAILED
    return _CUSTOMER_KINDS.get(kind, FAILED)


def next_attempt(policy: RetryPolicy, hours: OpeningHours | None, status_detail: str, attempts_made: int,
                 ended_at: float, requested_at: float, customer_side: str = "src") -> float | None:
    """When to try again: the earliest time at least the backoff after ``ended_at`` at which the
    option is open; None if the outcome is not retried, the attempts are used up, or that time
    is past ``requested_at + deadline_seconds``. ``attempts_made`` counts the one that ended."""
    if attempts_made < 1:
        raise ValueError(f"attempts_made: {attempts_made} must count the attempt that ended")
    klass = retry_class(status_detail, customer_side)
    if klass is None or klass not in policy.retry_on or attempts_made >= policy.max_attempts:
        return None
    deadline = requested_at + policy.deadline_seconds
    earliest = ended_at + policy.backoff_after(attempts_made)
    if earliest > deadline:
        return None
    if hours is not None:
        horizon_days = int((deadline - earliest) // 86400) + 1
        opened = hours.next_open(earliest, horizon_days=horizon_days)
        if opened is None:
            return None
        earliest = opened
    return earliest if earliest <= deadline else None
