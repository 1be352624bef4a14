"""How good is the waitlist's wait forecast? A seeded simulation of one call option.

A queue of ``capacity`` 3 is always open; customers ask for a callback at random (a Poisson
process) and are served first come, first served: a callback is launched as soon as one of the
3 units of capacity is free, and occupies it for a cycle drawn from a lognormal distribution
(sigma 0.6, so a long tail; the mean is given per scenario). At each arrival the forecaster
sees what the app would see: the callbacks waiting (with the new one), the start times of the
attempts running, and the attempts finished so far. It runs ``waitlist.forecast`` for the new
callback, and the simulation then tells its real launch time.

- warm: an hour of traffic first (not measured), so ``stats_from_history`` has a window of
  history; cold: no history at all, so the default cycle (180 s) is used throughout.
- arrivals whose real wait is 0 (a unit was free) are counted; the relative error is taken
  over the callbacks that really waited at least a minute.

    .venv/bin/python benchmarks/estimate.py [--seeds 12] [--hours 8]

Prints markdown tables: the error by scenario, then the cycle estimators compared (warm).
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ari_callback.domain.waitlist import Finished, QueueStats, Waiting, capped_mean, forecast, stats_from_history  # noqa: E402

CAPACITY = 3
SIGMA = 0.6
DEFAULT_CYCLE = 180.0
WINDOW = 3600.0
WARM_UP = 3600.0
MIN_WAIT_FOR_RELATIVE = 60.0


@dataclass(frozen=True)
class Call:
    arrival: float
    launch: float
    end: float


@dataclass(frozen=True)
class Scenario:
    load: float        # offered load: arrival rate x mean cycle / capacity
    mean_cycle: float
    warm: bool


def simulate_queue(rng: random.Random, load: float, mean_cycle: float, seconds: float) -> list[Call]:
    """The real queue: Poisson arrivals, FIFO, CAPACITY servers, lognormal cycles."""
    rate = load * CAPACITY / mean_cycle
    mu = math.log(mean_cycle) - SIGMA ** 2 / 2
    free = [0.0] * CAPACITY
    calls, at = [], 0.0
    while True:
        at += rng.expovariate(rate)
        if at >= seconds:
            return calls
        launch = max(at, free[0])
        end = launch + rng.lognormvariate(mu, SIGMA)
        heapq.heapreplace(free, end)
        calls.append(Call(at, launch, end))


def errors(calls: list[Call], warm: bool, estimator: Callable[[Sequence[Finished], float], QueueStats]
           ) -> list[tuple[float, float]]:
    """(forecast wait, real wait) for each measured arrival."""
    out, first_alive = [], 0
    for index, call in enumerate(calls):
        now = call.arrival
        if warm and now < WARM_UP:
            continue
        while calls[first_alive].end <= now - 4 * WINDOW:   # older calls matter to nothing
            first_alive += 1
        recent = calls[first_alive:index]
        waiting = [Waiting(str(n), c.arrival, c.arrival) for n, c in enumerate(recent, first_alive) if c.launch > now]
        waiting.append(Waiting(str(index), now, now))
        running = [c.launch for c in recent if c.launch <= now < c.end]
        history = [Finished(c.launch, c.launch, c.end) for c in recent if c.end <= now] if warm else []
        found = forecast(waiting, running, estimator(history, now), now)
        out.append((found[str(index)].estimated_for - now, call.launch - now))
    return out


def ours(history: Sequence[Finished], now: float) -> QueueStats:
    return stats_from_history(history, CAPACITY, now, WINDOW, DEFAULT_CYCLE)


def by(average: Callable[[list[float]], float]) -> Callable[[Sequence[Finished], float], QueueStats]:
    def estimator(history: Sequence[Finished], now: float) -> QueueStats:
        cycles = [f.ended_at - f.started_at for f in history if now - WINDOW <= f.ended_at <= now]
        return QueueStats(average(cycles) if cycles else DEFAULT_CYCLE, CAPACITY, len(cycles))
    return estimator


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summary(pairs: list[tuple[float, float]]) -> dict[str, float]:
    absolute = [abs(est - real) for est, real in pairs]
    relative = [abs(est - real) / real for est, real in pairs if real >= MIN_WAIT_FOR_RELATIVE]
    return {"n": len(pairs), "waited": sum(real > 0 for _, real in pairs) / len(pairs),
            "real_p50": percentile([real for _, real in pairs], 0.5),
            "abs_p50": percentile(absolute, 0.5), "abs_p90": percentile(absolute, 0.9),
            "bias": statistics.fmean(est - real for est, real in pairs),
            "rel_p50": percentile(relative, 0.5), "rel_p90": percentile(relative, 0.9)}


def run(scenario: Scenario, seeds: int, hours: float, estimator=ours) -> dict[str, float]:
    pairs: list[tuple[float, float]] = []
    for seed in range(seeds):
        rng = random.Random(f"{seed}-{scenario.load}-{scenario.mean_cycle}")
        calls = simulate_queue(rng, scenario.load, scenario.mean_cycle, hours * 3600 + WARM_UP)
        pairs.extend(errors(calls, scenario.warm, estimator))
    return summary(pairs)


def row(label: str, s: dict[str, float]) -> str:
    return (f"| {label} | {s['n']} | {s['waited']:.0%} | {s['real_p50']:.0f} | {s['abs_p50']:.0f} | "
            f"{s['abs_p90']:.0f} | {s['bias']:+.0f} | {s['rel_p50']:.0%} | {s['rel_p90']:.0%} |")


HEADER = ("| scenario | arrivals | waited | real wait p50 (s) | abs error p50 (s) | abs error p90 (s) | "
          "bias (s) | rel error p50 | rel error p90 |\n|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args()
    print(f"capacity {CAPACITY}, lognormal cycles (sigma {SIGMA}), {args.seeds} seeds x {args.hours:g} h, "
          f"default cycle {DEFAULT_CYCLE:.0f} s, history window {WINDOW:.0f} s\n")
    print(HEADER)
    for mean_cycle in (180.0, 300.0):
        for load in (0.7, 0.9):
            for warm in (True, False):
                label = f"load {load}, mean cycle {mean_cycle:.0f} s, {'warm' if warm else 'cold'}"
                print(row(label, run(Scenario(load, mean_cycle, warm), args.seeds, args.hours)), flush=True)
    print("\nCycle estimators compared (warm, mean cycle 180 s):\n")
    print(HEADER)
    estimators = {"capped mean (ours)": ours, "median": by(statistics.median), "mean": by(statistics.fmean),
                  "capped mean, cap 2x median": by(lambda cycles: capped_mean(cycles, 2.0))}
    for load in (0.7, 0.9):
        for name, estimator in estimators.items():
            result = run(Scenario(load, 180.0, True), args.seeds, args.hours, estimator)
            print(row(f"load {load}, {name}", result), flush=True)


if __name__ == "__main__":
    main()
