"""The app's own time per Asterisk event, measured inside the process (issue 12, item 5).

A step starts when ``Engine.handle`` is given an ARI event and ends when the commands of the
machine step it caused have been sent to Asterisk. It is split in three parts, so a slow p99
says which one to look at:

- ``queued``: from the engine getting the event (translation included) to the call's task
  taking it off its queue; long when the call is still busy with an earlier step or the
  event loop is busy with other calls;
- ``machine_store``: the machine's transition and the store write of that step;
- ``ari``: the step's ARI requests, until the last answer came back.

Only ``time.perf_counter()`` and one deque append per step: cheap enough to stay on in
production. The ring keeps the newest samples, so a long-running process reports recent
behaviour and its memory stays bounded. Benchmarks read ``summary()`` in-process.
"""

from __future__ import annotations

import math
from collections import deque

from ..stats import Histogram

PARTS = ("total", "queued", "machine_store", "ari")
DEFAULT_SAMPLES = 20_000


def _percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list."""
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


class StepTimes:
    """A bounded ring of (queued, machine_store, ari) seconds, one sample per event step."""

    def __init__(self, samples: int = DEFAULT_SAMPLES) -> None:
        self._ring: deque[tuple[float, float, float]] = deque(maxlen=samples)
        # For /metrics: counts since start, never cleared (Prometheus wants them to only grow).
        self.histograms = {part: Histogram() for part in PARTS}

    def record(self, arrived: float, taken: float, stored: float, sent: float) -> None:
        """perf_counter() stamps: event given to the engine, taken off the call's queue,
        machine step and store write done, ARI requests answered."""
        parts = (taken - arrived, stored - taken, sent - stored)
        self._ring.append(parts)
        for name, seconds in zip(PARTS, (sum(parts), *parts), strict=True):
            self.histograms[name].observe(seconds)

    def clear(self) -> None:
        self._ring.clear()

    def __len__(self) -> int:
        return len(self._ring)

    def summary(self) -> dict[str, object]:
        """``count`` and, per part, ``p50``/``p99``/``max`` in milliseconds."""
        columns = {"queued": [s[0] for s in self._ring], "machine_store": [s[1] for s in self._ring],
                   "ari": [s[2] for s in self._ring]}
        columns["total"] = [sum(s) for s in self._ring]
        figures: dict[str, object] = {"count": len(self._ring)}
        for part in PARTS:
            ordered = sorted(columns[part])
            figures[part] = ({"p50": 1000 * _percentile(ordered, 0.50), "p99": 1000 * _percentile(ordered, 0.99),
                              "max": 1000 * ordered[-1]} if ordered else {})
        return figures
