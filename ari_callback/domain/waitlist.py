"""The waitlist of a call option: its order, each callback's position and estimated wait.

Order: by ``place_at``, the time the customer joined (then by id, so the order is total). A
caller who leaves a queue for a callback keeps the time they joined the queue, so asking to be
called back never costs them their place. A retry keeps its place too; its ``due_at`` only
says it may not be dialled before its backoff ends.

Estimate: the option's capacity is ``capacity`` servers. Each running attempt frees its server
at ``started + cycle``, or half a cycle from now once it has overrun the cycle. Then, whenever
a server is free, the first callback in order that is due takes it (a callback still backing
off does not hold up the ones behind it), never while the option is closed; it occupies the
server for ``cycle_seconds``. A callback's launch
time in this simulation is its estimate. ``cycle_seconds`` is a robust average of how long
recent attempts occupied capacity (start to end); see ``stats_from_history``.

Pure: ``now`` and every instant are UNIX epoch floats passed in.
"""

from __future__ import annotations

import bisect
import heapq
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .hours import OpeningHours

OUTLIER_FACTOR = 4.0   # a cycle counts as at most this many times the median one
HORIZON_DAYS = 366     # no estimate for a callback that cannot be launched within a year
_CALENDAR_CHUNK = 7 * 86400


@dataclass(frozen=True)
class Waiting:
    id: str
    place_at: float   # the order key: when the customer joined
    due_at: float     # not dialled before this (a retry's backoff)


@dataclass(frozen=True)
class Finished:
    started_at: float
    connected_at: float | None
    ended_at: float


@dataclass(frozen=True)
class QueueStats:
    cycle_seconds: float   # how long one callback occupies a unit of capacity
    capacity: int
    samples: int           # recent complete cycles behind cycle_seconds; 0: the default


@dataclass(frozen=True)
class Forecast:
    position: int          # 1-based place in the list
    wait_seconds: int      # estimated time until this callback is launched
    estimated_for: float   # now + wait, moved to the opening time when closed


def stats_from_history(history: Sequence[Finished], capacity: int, now: float, window_seconds: float = 3600,
                       default_cycle_seconds: float = 180) -> QueueStats:
    """The option's cycle from the attempts that ended in the last ``window_seconds``: their mean
    start-to-end time, each capped at OUTLIER_FACTOR times the median, so one forgotten call
    does not stretch every estimate, yet the long tail that real calls have still counts (a
    median alone would underestimate a sum of calls). No history: the default."""
    cycles = [f.ended_at - f.started_at for f in history
              if now - window_seconds <= f.ended_at <= now and f.ended_at >= f.started_at]
    if not cycles:
        return QueueStats(float(default_cycle_seconds), capacity, 0)
    return QueueStats(capped_mean(cycles), capacity, len(cycles))


def capped_mean(values: Sequence[float], factor: float = OUTLIER_FACTOR) -> float:
    cap = factor * statistics.median(values)
    return statistics.fmean(min(value, cap) for value in values)


def order(waiting: Iterable[Waiting]) -> list[Waiting]:
    return sorted(waiting, key=lambda w: (w.place_at, w.id))


def forecast(waiting: Sequence[Waiting], in_progress: Sequence[float], stats: QueueStats, now: float,
             hours: OpeningHours | None = None) -> dict[str, Forecast]:
    """Position and estimated launch of each waiting callback, by id. A callback that cannot be
    launched within HORIZON_DAYS (hours that never open, no capacity) has no entry."""
    ordered = order(waiting)
    calendar = _OpenCalendar(hours, now) if hours is not None else None
    launches = _simulate(ordered, _servers(in_progress, stats, now), stats.cycle_seconds, now, calendar)
    return {ordered[index].id: Forecast(index + 1, round(launch - now), launch)
            for index, launch in launches.items()}


def _servers(in_progress: Sequence[float], stats: QueueStats, now: float) -> list[float]:
    """When each unit of capacity is next free, as a heap."""
    if stats.capacity <= 0:
        return []
    frees = sorted(_frees_at(started, stats.cycle_seconds, now) for started in in_progress)
    # More running than the capacity (it was lowered): a launch waits for enough of them to end.
    busy = frees[len(frees) - stats.capacity:] if len(frees) > stats.capacity else frees
    return [now] * (stats.capacity - len(busy)) + busy   # sorted: a valid heap


def _frees_at(started: float, cycle: float, now: float) -> float:
    """A cycle after it started; but an attempt that has overrun the cycle is not about to end
    (calls have a long tail): it gets half a cycle more. Measured in benchmarks/estimate.py:
    better than "ends now" at every load (docs/waitlist.md)."""
    return started + cycle if now - started < cycle else now + cycle / 2


def _simulate(ordered: list[Waiting], servers: list[float], cycle: float, now: float,
              calendar: _OpenCalendar | None) -> dict[int, float]:
    """Launch time by index in ``ordered``: the earliest free server goes to the first callback
    in order that is due by then."""
    queue = _ReadyQueue([w.due_at for w in ordered], now)
    launches: dict[int, float] = {}
    at = now
    while servers and len(launches) < len(ordered):
        # Launch times never go back: the earliest free server only gets later, and when a launch
        # waited for a due time or an opening, nothing could launch before it either. So the
        # callbacks the queue holds as ready are due by `at`.
        at = max(at, servers[0])
        if not queue.has_ready():
            at = max(at, queue.next_due())
        if calendar is not None:
            opened = calendar.next_open(at)
            if opened is None:
                break
            at = opened
        launches[queue.pop_first_due_by(at)] = at
        heapq.heapreplace(servers, at + cycle)
    return launches


class _ReadyQueue:
    """Indices of the waiting callbacks (their order), giving out the first one that is due.
    Those due from the start are a sorted list read in turn, the rest join a heap as they fall
    due: the common case (everyone due) costs no heap work."""

    def __init__(self, dues: list[float], now: float):
        self._dues = dues
        self._early = [index for index, due in enumerate(dues) if due <= now]
        self._late = sorted((index for index, due in enumerate(dues) if due > now), key=dues.__getitem__)
        self._next_early = self._next_late = 0
        self._fallen_due: list[int] = []   # heap

    def has_ready(self) -> bool:
        return self._next_early < len(self._early) or bool(self._fallen_due)

    def next_due(self) -> float:
        return self._dues[self._late[self._next_late]]

    def pop_first_due_by(self, at: float) -> int:
        late, dues = self._late, self._dues
        while self._next_late < len(late) and dues[late[self._next_late]] <= at:
            heapq.heappush(self._fallen_due, late[self._next_late])
            self._next_late += 1
        early_left = self._next_early < len(self._early)
        if self._fallen_due and (not early_left or self._fallen_due[0] < self._early[self._next_early]):
            return heapq.heappop(self._fallen_due)
        self._next_early += 1
        return self._early[self._next_early - 1]


class _OpenCalendar:
    """``OpeningHours.next_open`` for many increasing-ish instants: the open intervals from
    ``now`` on, loaded a week at a time and searched by bisection."""

    def __init__(self, hours: OpeningHours, now: float):
        self._hours = hours
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._loaded_until = now
        self._horizon = now + HORIZON_DAYS * 86400

    def next_open(self, at: float) -> float | None:
        while True:
            index = bisect.bisect_right(self._ends, at)
            if index < len(self._ends):
                return max(at, self._starts[index])
            if self._loaded_until >= self._horizon:
                return None
            self._load_week()

    def _load_week(self) -> None:
        upto = min(self._loaded_until + _CALENDAR_CHUNK, self._horizon)
        for start, end in self._hours.intervals(self._loaded_until, upto):
            self._starts.append(start)
            self._ends.append(end)
        self._loaded_until = upto
