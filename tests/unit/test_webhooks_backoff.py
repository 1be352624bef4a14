"""Retries of failed deliveries: exponential, capped, jittered, bounded."""

from __future__ import annotations

import pytest

from ari_callback.webhooks.backoff import RetryPolicy, delay, next_try, schedule

POLICY = RetryPolicy()


def test_given_failures_then_the_wait_doubles_from_10_s_up_to_an_hour():
    assert [delay(POLICY, n) for n in range(1, 11)] == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]
    assert delay(POLICY, 30) == 3600


def test_given_the_defaults_then_32_tries_span_about_a_day():
    waits = schedule(POLICY)
    assert len(waits) == 31
    assert 22 * 3600 < sum(waits) < 24 * 3600


@pytest.mark.parametrize("random", [0.0, 0.25, 0.5, 0.999])
def test_given_any_random_draw_then_the_wait_stays_within_20_percent(random):
    wait = next_try(POLICY, 3, 1000.0, random) - 1000.0
    assert 40 * 0.8 <= wait <= 40 * 1.2


def test_given_two_draws_then_receivers_failing_together_retry_apart():
    assert next_try(POLICY, 5, 0.0, 0.1) != next_try(POLICY, 5, 0.0, 0.9)


def test_given_the_last_try_failed_then_it_is_given_up():
    assert next_try(POLICY, 31, 0.0, 0.5) is not None
    assert next_try(POLICY, 32, 0.0, 0.5) is None
    assert next_try(RetryPolicy(max_attempts=1), 1, 0.0, 0.5) is None
