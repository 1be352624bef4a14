"""When a failed delivery is tried again: exponential backoff with jitter, a bounded number
of tries. Pure: the caller passes the time and a random number.

With the defaults (10 s doubling to at most 1 h, 32 tries, +-20 % jitter) the last try comes
about 23 hours after the first, and a receiver that is down for a working day still gets
everything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 10.0
    factor: float = 2.0
    max_delay: float = 3600.0
    max_attempts: int = 32
    jitter: float = 0.2   # each delay is spread over +-20 %, so receivers that failed together do not retry together


def delay(policy: RetryPolicy, attempts: int) -> float:
    """The nominal wait after the ``attempts``-th failed try (1 for the first)."""
    return min(policy.max_delay, policy.first_delay * policy.factor ** max(0, attempts - 1))


def next_try(policy: RetryPolicy, attempts: int, now: float, random: float) -> float | None:
    """When to try again after ``attempts`` failed tries, ``random`` in [0, 1); None: give up."""
    if attempts >= policy.max_attempts:
        return None
    spread = 1.0 - policy.jitter + 2.0 * policy.jitter * random
    return now + delay(policy, attempts) * spread


def schedule(policy: RetryPolicy) -> list[float]:
    """The nominal waits between tries, first to last (for the docs and the tests)."""
    return [delay(policy, n) for n in range(1, policy.max_attempts)]
