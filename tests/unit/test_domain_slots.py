"""Scheduled callbacks: which slots are offered, and how a requested start is checked."""

from __future__ import annotations

from datetime import UTC, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ari_callback.domain.hours import OpeningHours
from ari_callback.domain.slots import Slot, SlotError, SlotPolicy, check_start, slots

MIN = 60
TORONTO = ZoneInfo("America/Toronto")
NONE: dict[float, int] = {}


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


OFFICE = OpeningHours.parse("UTC", {"mon-fri": "09:00-17:00"})
MONDAY_8 = utc(2026, 3, 9, 8)
ONE_DAY = SlotPolicy(days_ahead=1)


def starts(found: list[Slot]) -> list[float]:
    return [slot.start for slot in found]


def error_of(*args) -> str:
    with pytest.raises(SlotError) as info:
        check_start(*args)
    return info.value.error_id


# ---------------------------------------------------------------------------- offering
def test_given_office_hours_then_slots_fill_the_day_on_a_quarter_hour_grid():
    found = slots(OFFICE, ONE_DAY, MONDAY_8, NONE)
    assert len(found) == 32
    assert found[0] == Slot(utc(2026, 3, 9, 9), utc(2026, 3, 9, 9, 15), 1)
    assert found[-1] == Slot(utc(2026, 3, 9, 16, 45), utc(2026, 3, 9, 17), 1)


def test_given_an_interval_tail_shorter_than_a_slot_then_it_is_not_offered():
    hours = OpeningHours.parse("UTC", {"mon": "09:00-10:10"})
    assert starts(slots(hours, ONE_DAY, MONDAY_8, NONE)) == [utc(2026, 3, 9, 9, m) for m in (0, 15, 30, 45)]


def test_given_an_opening_off_the_grid_then_slots_start_at_the_next_grid_time():
    hours = OpeningHours.parse("UTC", {"mon": "09:05-10:00"})
    assert starts(slots(hours, ONE_DAY, MONDAY_8, NONE)) == [utc(2026, 3, 9, 9, m) for m in (15, 30, 45)]


def test_given_hourly_slots_then_they_start_on_the_hour_of_local_time_not_utc():
    kolkata = OpeningHours.parse("Asia/Kolkata", {"mon": "09:00-12:00"})   # UTC+05:30
    found = slots(kolkata, SlotPolicy(slot_minutes=60, days_ahead=1), utc(2026, 3, 9, 0), NONE)
    assert starts(found) == [utc(2026, 3, 9, 3, 30), utc(2026, 3, 9, 4, 30), utc(2026, 3, 9, 5, 30)]


def test_given_two_hour_slots_then_the_grid_counts_from_local_midnight():
    hours = OpeningHours.parse("UTC", {"mon": "09:00-15:00"})
    found = slots(hours, SlotPolicy(slot_minutes=120, days_ahead=1), MONDAY_8, NONE)
    assert starts(found) == [utc(2026, 3, 9, 10), utc(2026, 3, 9, 12)]


def test_given_min_notice_then_slots_starting_sooner_are_not_offered():
    now = utc(2026, 3, 9, 9, 2)
    assert slots(OFFICE, ONE_DAY, now, NONE)[0].start == utc(2026, 3, 9, 9, 15)
    assert slots(OFFICE, ONE_DAY, now + 5 * MIN, NONE)[0].start == utc(2026, 3, 9, 9, 30)
    assert slots(OFFICE, SlotPolicy(days_ahead=1, min_notice_minutes=0), utc(2026, 3, 9, 9, 15), NONE)[0].start \
        == utc(2026, 3, 9, 9, 15)


def test_given_days_ahead_then_slots_stop_that_much_real_time_from_now():
    found = slots(OFFICE, SlotPolicy(days_ahead=3), utc(2026, 3, 9, 12), NONE)
    assert found[-1].start == utc(2026, 3, 12, 11, 45)
    assert {datetime.fromtimestamp(s, UTC).day for s in starts(found)} == {9, 10, 11, 12}


def test_given_bookings_then_available_counts_down_and_full_slots_stay_listed():
    nine, quarter = utc(2026, 3, 9, 9), utc(2026, 3, 9, 9, 15)
    found = slots(OFFICE, SlotPolicy(days_ahead=1, per_slot=2), MONDAY_8, {nine: 2, quarter: 1})
    assert found[0] == Slot(nine, quarter, 0)
    assert found[1].available == 1 and found[2].available == 2


def test_given_a_booking_stored_off_the_grid_then_it_counts_for_the_slot_it_falls_in():
    found = slots(OFFICE, ONE_DAY, MONDAY_8, {utc(2026, 3, 9, 9, 7): 1})
    assert [slot.available for slot in found[:2]] == [0, 1]


def test_given_closed_days_then_no_slots():
    assert slots(OFFICE, ONE_DAY, utc(2026, 3, 14, 8), NONE) == []   # Saturday


# ----------------------------------------------------------------------------- DST
def test_given_spring_forward_then_no_slot_starts_in_the_skipped_hour():
    sundays = OpeningHours.parse("America/Toronto", {"sun": "24h"})
    found = slots(sundays, SlotPolicy(slot_minutes=60, days_ahead=2), utc(2026, 3, 8), NONE)
    local_hours = [datetime.fromtimestamp(s, TORONTO).hour for s in starts(found)]
    assert len(found) == 23 and 2 not in local_hours
    assert utc(2026, 3, 8, 6) in starts(found) and utc(2026, 3, 8, 7) in starts(found)   # 01:00 EST, 03:00 EDT


def test_given_fall_back_then_the_repeated_hour_gives_two_real_slots():
    sundays = OpeningHours.parse("Europe/London", {"sun": "24h"})
    found = slots(sundays, SlotPolicy(slot_minutes=30, days_ahead=2), utc(2026, 10, 24), NONE)
    assert len(found) == 50
    assert {utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)} <= set(starts(found))   # 01:30 BST and GMT


# ------------------------------------------------------------------------ check_start
def test_given_a_start_on_the_grid_then_check_start_returns_its_slot():
    assert check_start(OFFICE, ONE_DAY, MONDAY_8, utc(2026, 3, 9, 10), NONE) == \
        Slot(utc(2026, 3, 9, 10), utc(2026, 3, 9, 10, 15), 1)


def test_given_a_start_off_the_grid_then_it_belongs_to_the_slot_containing_it():
    slot = check_start(OFFICE, SlotPolicy(per_slot=3), MONDAY_8, utc(2026, 3, 9, 10, 14, 59), {utc(2026, 3, 9, 10): 1})
    assert slot == Slot(utc(2026, 3, 9, 10), utc(2026, 3, 9, 10, 15), 2)
    assert check_start(OFFICE, ONE_DAY, MONDAY_8, utc(2026, 3, 9, 10, 15), NONE).start == utc(2026, 3, 9, 10, 15)


@pytest.mark.parametrize("start, policy, booked, error_id", [
    (MONDAY_8 - 1, ONE_DAY, NONE, "slot_in_past"),
    (utc(2026, 3, 9, 9, 5), SlotPolicy(), NONE, "slot_too_soon"),   # now is 9:00; its slot began at 9:00
    (utc(2026, 3, 10, 8), ONE_DAY, NONE, "slot_too_far"),
    (utc(2026, 3, 9, 17), SlotPolicy(), NONE, "slot_closed"),
    (utc(2026, 3, 9, 12), SlotPolicy(), {utc(2026, 3, 9, 12): 1}, "slot_full"),
    (utc(2026, 3, 9, 12), SlotPolicy(per_slot=0), NONE, "slot_full"),
])
def test_given_a_bad_start_then_check_start_raises_the_named_error(start, policy, booked, error_id):
    now = utc(2026, 3, 9, 9) if error_id == "slot_too_soon" else MONDAY_8
    assert error_of(OFFICE, policy, now, start, booked) == error_id


def test_given_an_interval_tail_then_check_start_calls_it_closed():
    hours = OpeningHours.parse("UTC", {"mon": "09:00-10:10"})
    assert error_of(hours, ONE_DAY, MONDAY_8, utc(2026, 3, 9, 10, 5), NONE) == "slot_closed"


def test_given_a_start_in_the_skipped_hour_then_its_real_instant_is_judged():
    sundays = OpeningHours.parse("America/Toronto", {"sun": "24h"})
    # 02:30 local does not exist; the caller sends an instant, e.g. 07:30Z which is 03:30 EDT.
    slot = check_start(sundays, SlotPolicy(slot_minutes=60), utc(2026, 3, 8), utc(2026, 3, 8, 7, 30), NONE)
    assert slot == Slot(utc(2026, 3, 8, 7), utc(2026, 3, 8, 8), 1)


def test_given_a_slot_error_then_it_carries_id_and_message():
    error = SlotError("slot_full", "that slot is fully booked")
    assert (error.error_id, error.message, str(error)) == ("slot_full", "that slot is fully booked",
                                                          "that slot is fully booked")


@pytest.mark.parametrize("fields", [dict(slot_minutes=25), dict(slot_minutes=90), dict(slot_minutes=0),
                                    dict(days_ahead=0), dict(per_slot=-1), dict(min_notice_minutes=-5)])
def test_given_a_bad_policy_then_value_error(fields):
    with pytest.raises(ValueError):
        SlotPolicy(**fields)


# ------------------------------------------------------------------------- properties
ZONES = ["UTC", "America/Toronto", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu"]
NEAR_DST = [utc(2026, 3, 7), utc(2026, 10, 31), utc(2026, 3, 28), utc(2026, 10, 24), utc(2026, 4, 3)]


@st.composite
def any_hours(draw):
    def one_range():
        start = draw(st.integers(0, 46)) * 30
        end = draw(st.integers(start // 30 + 1, 48)) * 30
        return f"{start // 60:02}:{start % 60:02}-{end // 60:02}:{end % 60:02}"
    spec = {day: [one_range() for _ in range(draw(st.integers(0, 2)))] or "closed"
            for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return OpeningHours.parse(draw(st.sampled_from(ZONES)), spec)


policies = st.builds(SlotPolicy, slot_minutes=st.sampled_from([10, 15, 30, 60, 120]), days_ahead=st.integers(1, 3),
                     per_slot=st.integers(1, 3), min_notice_minutes=st.integers(0, 60))
nows = st.builds(lambda base, shift: base + shift, st.sampled_from(NEAR_DST), st.integers(0, 86400))
FAST = settings(max_examples=60, deadline=None)


@FAST
@given(any_hours(), policies, nows)
def test_property_every_slot_is_wholly_open_on_the_grid_and_checks_as_itself(hours, policy, now):
    found = slots(hours, policy, now, NONE)
    assert starts(found) == sorted(starts(found))
    window_end = now + policy.days_ahead * 86400
    for slot in found:
        assert slot.end - slot.start == policy.slot_minutes * 60
        assert hours.intervals(slot.start, slot.end) == [(slot.start, slot.end)]
        assert now + policy.min_notice_minutes * 60 <= slot.start < window_end
    for slot in found[::max(1, len(found) // 12)]:   # a spread of them: check_start is the slow part
        assert check_start(hours, policy, now, slot.start, NONE) == slot
        if slot.end - 1 < window_end:
            assert check_start(hours, policy, now, slot.end - 1, NONE) == slot


@FAST
@given(any_hours(), policies, nows, st.floats(0, 1))
def test_property_check_start_agrees_with_slots(hours, policy, now, fraction):
    start = now + fraction * policy.days_ahead * 86400
    assume(start < now + policy.days_ahead * 86400)
    offered = slots(hours, policy, now, NONE)
    holding = [slot for slot in offered if slot.start <= start < slot.end]
    try:
        slot = check_start(hours, policy, now, start, NONE)
    except SlotError as error:
        assert error.error_id in ("slot_closed", "slot_too_soon")
        assert not holding
    else:
        assert slot in holding


def test_given_no_notice_when_booking_the_rest_of_a_slot_that_has_begun_then_it_is_taken():
    policy = SlotPolicy(slot_minutes=15, min_notice_minutes=0)
    now = utc(2026, 3, 9, 9, 5)
    slot = check_start(OFFICE, policy, now, now + 3, NONE)
    assert (slot.start, slot.end) == (utc(2026, 3, 9, 9), utc(2026, 3, 9, 9, 15))
