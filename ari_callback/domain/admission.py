"""How many unfinished callbacks a client may have, and what a refusal is called.

Seed 002: callbacks may use ``(100 - callback_rate_limit) %`` of the client's concurrent-call
limit; the higher the rate, the likelier a refusal, and 100 always refuses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CONCURRENT = "concurrent_call_limit_exceeded"
RATE = "callback_rate_limit_exceeded"
PACE = "calls_per_second_exceeded"


@dataclass(frozen=True)
class Allowance:
    allowed: int      # unfinished callbacks the client may have, the new one included
    refusal: str      # the error id when that is reached
    limit: int
    rate: int | None


def allowance(limit: int, rate: int | None) -> Allowance:
    if rate is None:
        return Allowance(limit, CONCURRENT, limit, rate)
    return Allowance(min(limit, math.floor(limit * (100 - rate) / 100)), RATE, limit, rate)


def refusal_message(a: Allowance, client_id: str, active: int) -> str:
    if a.refusal == RATE:
        return (f"{active} active calls; callback_rate_limit {a.rate}% allows {a.allowed} "
                f"of the client's {a.limit}")
    return f"client {client_id!r} already has {active} of {a.limit} calls"


def pace(per_second: float | None) -> tuple[int, float] | None:
    """``max_calls_per_second`` as (callbacks, in a window of seconds): at least one callback per
    window and a window of at least a second, so 0.5/s is one callback per 2 s and 2.5/s is
    two per second (a limit is never exceeded, even for a moment)."""
    if per_second is None:
        return None
    window = max(1.0, 1.0 / per_second)
    return max(1, int(per_second * window + 1e-9)), window
