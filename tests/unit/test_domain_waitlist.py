"""The waitlist: its order, the cycle estimate from history, and the forecast simulation."""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from ari_callback.domain.hours import OpeningHours
from ari_callback.domain.waitlist import (
    Finished,
    Forecast,
    QueueStats,
    Waiting,
    capped_mean,
    forecast,
    order,
    stats_from_history,
)


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


NOW = utc(2026, 3, 9, 10)   # a Monday
OFFICE = OpeningHours.parse("UTC", {"mon-fri": "09:00-11:00"})


def due_now(*ids: str) -> list[Waiting]:
    return [Waiting(id, NOW - 100 + n, NOW - 1) for n, id in enumerate(ids)]


def waits(found: dict[str, Forecast]) -> dict[str, int]:
    return {id: f.wait_seconds for id, f in found.items()}


# ---------------------------------------------------------------------------- order
def test_given_callbacks_when_ordered_then_by_place_at_then_id():
    a, b, c = Waiting("b", 10, 0), Waiting("a", 10, 99), Waiting("c", 5, 50)
    assert order([a, b, c]) == [c, b, a]


def test_given_a_caller_who_left_a_queue_then_their_earlier_place_at_puts_them_ahead():
    joined_queue_early = Waiting("from-queue", NOW - 600, NOW)
    asked_online = Waiting("online", NOW - 60, NOW - 60)
    assert [w.id for w in order([asked_online, joined_queue_early])] == ["from-queue", "online"]


# ---------------------------------------------------------------------------- stats
def test_given_no_history_then_the_default_cycle_and_no_samples():
    assert stats_from_history([], 3, NOW) == QueueStats(180.0, 3, 0)
    assert stats_from_history([], 2, NOW, default_cycle_seconds=240) == QueueStats(240.0, 2, 0)


def test_given_history_then_only_complete_cycles_that_ended_in_the_window_count():
    history = [Finished(NOW - 500, NOW - 450, NOW - 300),     # 200 s, in the window
               Finished(NOW - 400, None, NOW - 300),          # 100 s, never connected: still a cycle
               Finished(NOW - 5000, NOW - 4900, NOW - 4000),  # ended before the window
               Finished(NOW - 10, None, NOW + 50),            # ends after now: not history yet
               Finished(NOW - 10, None, NOW - 20)]            # ends before it started: bad data
    assert stats_from_history(history, 2, NOW) == QueueStats(150.0, 2, 2)


def test_given_an_outlier_then_it_counts_as_at_most_four_times_the_median():
    assert capped_mean([100, 100, 100, 10_000]) == 175.0
    assert capped_mean([100, 200, 300]) == 200.0   # no outlier: the plain mean


# ------------------------------------------------------------------------- forecast
STATS = QueueStats(180.0, 2, 10)


def test_given_free_capacity_then_the_first_callbacks_launch_now_and_the_next_after_a_cycle():
    found = forecast(due_now("a", "b", "c", "d", "e"), [], STATS, NOW)
    assert waits(found) == {"a": 0, "b": 0, "c": 180, "d": 180, "e": 360}
    assert found["c"] == Forecast(3, 180, NOW + 180)


def test_given_running_attempts_then_their_servers_free_a_cycle_after_they_started():
    found = forecast(due_now("a", "b", "c"), [NOW - 60, NOW - 170], STATS, NOW)
    assert waits(found) == {"a": 10, "b": 120, "c": 190}


def test_given_an_attempt_running_longer_than_a_cycle_then_it_gets_half_a_cycle_more():
    assert waits(forecast(due_now("a", "b"), [NOW - 1000, NOW - 179], STATS, NOW)) == {"a": 1, "b": 90}


def test_given_more_running_than_capacity_then_a_launch_waits_for_enough_to_end():
    found = forecast(due_now("a", "b"), [NOW - 170, NOW - 60, NOW], QueueStats(180.0, 1, 10), NOW)
    assert waits(found) == {"a": 180, "b": 360}   # the 2nd to end frees the one unit


def test_given_the_first_in_order_is_backing_off_then_the_next_due_one_goes_first():
    retry = Waiting("retry", NOW - 1000, NOW + 500)
    fresh = Waiting("fresh", NOW - 10, NOW - 10)
    found = forecast([retry, fresh], [], QueueStats(180.0, 1, 10), NOW)
    assert found["retry"] == Forecast(1, 500, NOW + 500)
    assert found["fresh"] == Forecast(2, 0, NOW)


def test_given_nothing_due_yet_then_the_server_idles_until_the_first_due():
    later = [Waiting("a", NOW, NOW + 300), Waiting("b", NOW + 1, NOW + 100)]
    assert waits(forecast(later, [], QueueStats(60.0, 1, 10), NOW)) == {"a": 300, "b": 100}


def test_given_closed_now_then_estimates_move_to_the_opening():
    saturday = utc(2026, 3, 14, 12)
    found = forecast([Waiting("a", saturday, saturday)], [], STATS, saturday, OFFICE)
    monday_9 = utc(2026, 3, 16, 9)
    assert found["a"] == Forecast(1, round(monday_9 - saturday), monday_9)


def test_given_the_queue_closes_then_the_rest_wait_for_the_next_opening():
    found = forecast(due_now("a", "b", "c"), [], QueueStats(2400.0, 1, 10), NOW, OFFICE)
    assert [f.estimated_for for f in found.values()] == [NOW, NOW + 2400, utc(2026, 3, 10, 9)]


def test_given_hours_that_never_open_or_no_capacity_then_no_estimates():
    assert forecast(due_now("a"), [], STATS, NOW, OpeningHours("UTC", {})) == {}
    assert forecast(due_now("a"), [], QueueStats(180.0, 0, 10), NOW) == {}
    assert forecast([], [NOW], STATS, NOW) == {}


def test_given_ten_thousand_waiting_then_the_forecast_takes_milliseconds():
    many = [Waiting(f"cb{n}", NOW - n, NOW + (n % 7) * 60) for n in range(10_000)]
    started = clock.perf_counter()
    found = forecast(many, [NOW - 30, NOW - 90], QueueStats(180.0, 3, 50), NOW, OFFICE)
    assert clock.perf_counter() - started < 1.0   # ~20 ms here; generous for a loaded machine
    assert len(found) == 10_000 and found["cb9999"].position == 1


# ------------------------------------------------------------------------- properties
def reference(waiting, in_progress, stats, now, hours):
    """The same rule done the slow, obvious way: one launch at a time, scanning everything."""
    cycle = stats.cycle_seconds
    frees = sorted(s + cycle if now - s < cycle else now + cycle / 2 for s in in_progress)
    frees = sorted(frees[max(0, len(frees) - stats.capacity):] + [now] * max(0, stats.capacity - len(frees)))
    left = order(waiting)
    launches = {}
    while left and stats.capacity > 0:
        at = frees[0]
        if not any(w.due_at <= at for w in left):
            at = min(w.due_at for w in left)
        if hours is not None:
            at = hours.next_open(at)
            if at is None:
                break
        chosen = next(w for w in left if w.due_at <= at)
        left.remove(chosen)
        launches[chosen.id] = at
        frees = sorted(frees[1:] + [at + stats.cycle_seconds])
    return launches


waiting_lists = st.lists(
    st.builds(lambda n, place, due: Waiting(f"cb{n}", NOW + place, NOW + due),
              st.integers(0, 10_000), st.integers(-3600, 0), st.integers(-600, 1800)),
    max_size=30, unique_by=lambda w: w.id)
FAST = settings(max_examples=150, deadline=None)


@FAST
@given(waiting_lists, st.lists(st.integers(-900, 0), max_size=5), st.integers(0, 4),
       st.sampled_from([30.0, 180.0, 2000.0]), st.sampled_from([None, OFFICE, OpeningHours.always()]),
       st.integers(-86400, 86400))
def test_property_forecast_matches_the_obvious_simulation(waiting, running, capacity, cycle, hours, shift):
    now = NOW + shift
    stats = QueueStats(cycle, capacity, 5)
    found = forecast(waiting, [now + r for r in running], stats, now, hours)
    assert {id: f.estimated_for for id, f in found.items()} == reference(waiting, [now + r for r in running],
                                                                         stats, now, hours)
    positions = {w.id: n for n, w in enumerate(order(waiting), 1)}
    for id, f in found.items():
        assert f.position == positions[id] and f.wait_seconds == round(f.estimated_for - now)
        assert f.estimated_for >= now
        assert hours is None or hours.is_open(f.estimated_for)
