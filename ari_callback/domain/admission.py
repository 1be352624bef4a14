"""How many unfinished callbacks a client may have, and what a refusal is called.

Seed 002: callbacks may use ``(100 - callback_rate_limit) %`` of the client's concurrent-call
limit; the higher the rate, the likelier a refusal, and 100 always refuses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CONCURRENT = "concurrent_call_limit_exceeded"
RATE = "callback_rate_limit_exceeded"


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
