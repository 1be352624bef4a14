"""Retries by outcome: the class table, row by row, and when the next attempt may start."""

from __future__ import annotations

from datetime import UTC, datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ari_callback.domain.hours import OpeningHours
from ari_callback.domain.retry import RetryPolicy, next_attempt, retry_class


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


POLICY = RetryPolicy()
MONDAY_10 = utc(2026, 3, 9, 10)
OFFICE = OpeningHours.parse("UTC", {"mon-fri": "09:00-17:00"})


# ------------------------------------------------------------------------- the table
@pytest.mark.parametrize("detail, expected", [
    ("answered", None),
    ("cancelled", None),
    ("asterisk_lost", "failed"),
    ("error", "failed"),
    ("unrecoverable", "failed"),
    ("src_busy", "busy"),
    ("src_no_answer", "no_answer"),
    ("src_ring_timeout", "no_answer"),
    ("src_rejected", "no_answer"),
    ("src_unavailable", "failed"),
    ("src_congestion", "failed"),
    ("src_failed", "failed"),
    ("src_unknown", "failed"),
    ("src_lost", "failed"),
    ("src_failed_transfer", "failed"),
    ("src_abandoned", "not_reached"),
    ("src_normal", "not_reached"),
    ("src_answered_elsewhere", "not_reached"),
    ("src_invalid_number", None),
    ("src_something_new", "failed"),
    ("something_new", "failed"),
])
def test_given_a_customer_on_src_when_classified_then_the_table_row_holds(detail, expected):
    assert retry_class(detail) == expected


KINDS = ["busy", "no_answer", "rejected", "unavailable", "congestion", "invalid_number", "normal",
         "answered_elsewhere", "unknown", "ring_timeout", "abandoned", "failed", "lost", "failed_transfer"]


@pytest.mark.parametrize("kind", KINDS)
def test_given_the_agent_side_failed_when_classified_then_it_is_failed_whatever_the_kind(kind):
    assert retry_class(f"dst_{kind}") == "failed"
    assert retry_class(f"src_{kind}", customer_side="dst") == "failed"


@pytest.mark.parametrize("kind", KINDS)
def test_given_the_customer_on_dst_when_classified_then_dst_kinds_follow_the_customer_rows(kind):
    assert retry_class(f"dst_{kind}", customer_side="dst") == retry_class(f"src_{kind}", customer_side="src")


def test_given_a_bad_customer_side_then_value_error():
    with pytest.raises(ValueError, match="customer_side"):
        retry_class("src_busy", customer_side="agent")


# ---------------------------------------------------------------------- next_attempt
def test_given_a_busy_first_attempt_when_always_open_then_retry_after_the_first_backoff():
    assert next_attempt(POLICY, None, "src_busy", 1, MONDAY_10, MONDAY_10 - 30) == MONDAY_10 + 120


def test_given_more_attempts_then_the_backoffs_follow_and_the_last_repeats():
    policy = RetryPolicy(max_attempts=6)
    waits = [next_attempt(policy, None, "src_no_answer", made, MONDAY_10, MONDAY_10) - MONDAY_10
             for made in range(1, 6)]
    assert waits == [120, 300, 900, 900, 900]


def test_given_no_backoffs_then_the_retry_is_at_once():
    assert next_attempt(RetryPolicy(backoff_seconds=()), None, "src_busy", 1, MONDAY_10, MONDAY_10) == MONDAY_10


def test_given_the_attempts_are_used_up_then_none():
    assert next_attempt(POLICY, None, "src_busy", 2, MONDAY_10, MONDAY_10) is not None
    assert next_attempt(POLICY, None, "src_busy", 3, MONDAY_10, MONDAY_10) is None
    assert next_attempt(RetryPolicy(max_attempts=1), None, "src_busy", 1, MONDAY_10, MONDAY_10) is None


@pytest.mark.parametrize("detail", ["answered", "cancelled", "src_invalid_number"])
def test_given_an_outcome_never_retried_then_none(detail):
    assert next_attempt(POLICY, None, detail, 1, MONDAY_10, MONDAY_10) is None


def test_given_a_class_left_out_of_retry_on_then_none():
    policy = RetryPolicy(retry_on=frozenset({"busy"}))
    assert next_attempt(policy, None, "src_busy", 1, MONDAY_10, MONDAY_10) == MONDAY_10 + 120
    assert next_attempt(policy, None, "src_no_answer", 1, MONDAY_10, MONDAY_10) is None


def test_given_the_retry_would_start_after_the_deadline_then_none():
    policy = RetryPolicy(deadline_seconds=3600)
    requested = MONDAY_10 - 3600 + 120
    assert next_attempt(policy, None, "src_busy", 1, MONDAY_10, requested) == MONDAY_10 + 120   # exactly on it
    assert next_attempt(policy, None, "src_busy", 1, MONDAY_10, requested - 1) is None


def test_given_closed_after_the_backoff_then_the_retry_waits_for_the_opening():
    friday_1659 = utc(2026, 3, 13, 16, 59)
    monday_9 = utc(2026, 3, 16, 9)
    policy = RetryPolicy(deadline_seconds=4 * 86400)
    assert next_attempt(policy, OFFICE, "src_busy", 1, friday_1659, friday_1659) == monday_9


def test_given_the_opening_is_past_the_deadline_then_none():
    friday_1659 = utc(2026, 3, 13, 16, 59)
    assert next_attempt(POLICY, OFFICE, "src_busy", 1, friday_1659, friday_1659) is None


def test_given_open_after_the_backoff_then_hours_do_not_delay_it():
    assert next_attempt(POLICY, OFFICE, "dst_failed", 1, MONDAY_10, MONDAY_10) == MONDAY_10 + 120


def test_given_the_customer_on_dst_then_next_attempt_classifies_by_that_side():
    assert next_attempt(POLICY, None, "dst_invalid_number", 1, MONDAY_10, MONDAY_10, customer_side="dst") is None
    assert next_attempt(POLICY, None, "dst_invalid_number", 1, MONDAY_10, MONDAY_10) == MONDAY_10 + 120


def test_given_zero_attempts_made_then_value_error():
    with pytest.raises(ValueError, match="attempts_made"):
        next_attempt(POLICY, None, "src_busy", 0, MONDAY_10, MONDAY_10)


@pytest.mark.parametrize("fields", [dict(max_attempts=0), dict(backoff_seconds=(60, -1)),
                                    dict(deadline_seconds=-1), dict(retry_on=frozenset({"busy", "bored"}))])
def test_given_a_bad_policy_then_value_error(fields):
    with pytest.raises(ValueError):
        RetryPolicy(**fields)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["src_" + kind for kind in KINDS] + ["dst_busy", "answered", "asterisk_lost"]),
       st.integers(1, 5), st.floats(MONDAY_10 - 86400, MONDAY_10 + 7 * 86400), st.floats(0, 86400))
def test_property_a_retry_is_after_the_backoff_open_and_before_the_deadline(detail, made, ended, waited):
    requested = ended - waited
    found = next_attempt(POLICY, OFFICE, detail, made, ended, requested)
    if found is None:
        return
    assert made < POLICY.max_attempts and retry_class(detail) is not None
    earliest = ended + POLICY.backoff_after(made)
    assert found >= earliest and found <= requested + POLICY.deadline_seconds
    assert OFFICE.is_open(found) and OFFICE.intervals(earliest, found) == []   # the earliest such time
