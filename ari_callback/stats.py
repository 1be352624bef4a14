"""Counters the running parts keep for ``/metrics``: plain numbers, no I/O, no locks.

Kept apart from the exposition (api/metrics.py), so the ARI client and the engine count without
depending on the web layer or on prometheus_client. Recording is a bisect and two additions:
cheap enough for every ARI request and every event.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

# Seconds. ARI requests over the websocket take a few ms; a slow Asterisk or a timeout, seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# How late a due callback is claimed: the poll interval's order, then trouble.
LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass
class Histogram:
    """Counts per upper bound (not cumulative here; the exposition adds them up), a sum, a count."""

    bounds: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)   # the last one is +Inf

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or below it), ending with +Inf: Prometheus' buckets."""
        found, running = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            found.append((bound, running))
        return found


class RequestStats:
    """ARI requests by method and outcome (``2xx``, ``4xx``, ``5xx``, ``error``), with their latency."""

    def __init__(self) -> None:
        self.latency: dict[tuple[str, str], Histogram] = {}

    def record(self, method: str, outcome: str, seconds: float) -> None:
        key = (method, outcome)
        if key not in self.latency:
            self.latency[key] = Histogram()
        self.latency[key].observe(seconds)


def outcome_of(status: int | None) -> str:
    return "error" if status is None else f"{status // 100}xx"


class DispatchStats:
    """Callbacks claimed by this instance (``click_to_call`` or from a ``waitlist``), and how late
    after their due time click-to-calls were claimed. A waitlisted callback's wait for a free
    agent is its queue working, not the dispatcher being late, so it is not timed."""

    def __init__(self) -> None:
        self.claimed = {"click_to_call": 0, "waitlist": 0}
        self.lateness = Histogram(LATENESS_BUCKETS)

    def record(self, kind: str, claims: list[Any], now: float) -> None:
        self.claimed[kind] = self.claimed.get(kind, 0) + len(claims)
        if kind == "click_to_call":
            for claim in claims:
                if claim.due_at is not None:
                    self.lateness.observe(max(0.0, now - claim.due_at))


class WebhookStats:
    """Webhook delivery tries of this instance: by outcome (``delivered``, ``failed``: the
    receiver answered other than 2xx or not at all), with how long each POST took."""

    def __init__(self) -> None:
        self.tries = {"delivered": 0, "failed": 0}
        self.latency = Histogram()

    def record(self, delivered: bool, seconds: float) -> None:
        self.tries["delivered" if delivered else "failed"] += 1
        self.latency.observe(seconds)
