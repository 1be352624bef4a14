"""Opening hours: parsing, the DST rule at both transitions, and real-time questions."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ari_callback.domain.hours import HoursError, OpeningHours, local_to_utc

TORONTO = "America/Toronto"   # 2026: 02:00 -> 03:00 on Mar 8 (07:00Z), 02:00 -> 01:00 on Nov 1 (06:00Z)
LONDON = "Europe/London"      # 2026: 01:00 -> 02:00 on Mar 29 (01:00Z), 02:00 -> 01:00 on Oct 25 (01:00Z)
HOUR = 3600


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def on(day: date, spans: str | list[str], tz: str) -> OpeningHours:
    """Hours open only on ``day``'s weekday, and closed the weeks before and after."""
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
    return OpeningHours.parse(tz, {weekday: spans}, [str(day - timedelta(7)), str(day + timedelta(7))])


OFFICE = OpeningHours.parse(TORONTO, {"mon-fri": "09:00-17:00", "sat": ["10:00-12:00", "13:00-15:00"]},
                            ["2026-12-25"])


# ------------------------------------------------------------------------------ parsing
def test_given_a_spec_with_ranges_lists_and_holidays_then_each_day_gets_its_intervals():
    assert OFFICE.weekly[0] == ((time(9), time(17)),)
    assert OFFICE.weekly[4] == ((time(9), time(17)),)
    assert OFFICE.weekly[5] == ((time(10), time(12)), (time(13), time(15)))
    assert OFFICE.weekly[6] == ()
    assert OFFICE.closed_dates == frozenset({date(2026, 12, 25)})


def test_given_24_00_or_00_00_as_end_then_both_mean_midnight_at_the_end_of_the_day():
    a = OpeningHours.parse("UTC", {"mon": "22:00-24:00"})
    b = OpeningHours.parse("UTC", {"mon": "22:00-00:00"})
    assert a == b and a.weekly[0] == ((time(22), time(0)),)


def test_given_24h_and_daily_then_every_day_is_whole():
    assert OpeningHours.parse("UTC", {"daily": "24h"}) == OpeningHours.always()


def test_given_a_day_and_a_range_and_daily_then_the_most_specific_wins():
    hours = OpeningHours.parse("UTC", {"sat": "closed", "daily": "08:00-20:00", "fri-sun": "10:00-12:00"})
    assert hours.weekly[0] == ((time(8), time(20)),)
    assert hours.weekly[4] == hours.weekly[6] == ((time(10), time(12)),)
    assert hours.weekly[5] == ()


def test_given_a_wrapping_range_then_it_names_the_days_across_the_week_end():
    hours = OpeningHours.parse("UTC", {"fri-mon": "10:00-11:00"})
    assert [day for day in range(7) if hours.weekly[day]] == [0, 4, 5, 6]


def test_given_overlapping_or_touching_ranges_then_they_are_merged():
    hours = OpeningHours.parse("UTC", {"mon": ["13:00-15:00", "09:00-12:00", "11:00-13:00"]})
    assert hours.weekly[0] == ((time(9), time(15)),)


def test_given_days_not_named_then_they_are_closed():
    assert OpeningHours.parse("UTC", {"mon": "09:00-10:00"}).weekly[3] == ()


@pytest.mark.parametrize("spec, closed, message", [
    ({"mon": "9-17"}, (), "mon: '9-17' is not HH:MM-HH:MM"),
    ({"mon-fri": "09:00"}, (), "mon-fri: '09:00' is not HH:MM-HH:MM"),
    ({"mon": "17:00-09:00"}, (), "mon: '17:00-09:00' ends before it starts"),
    ({"mon": "09:00-09:00"}, (), "mon: '09:00-09:00' ends before it starts"),
    ({"mon": "09:60-10:00"}, (), "mon: '09:60-10:00' is not a time of day"),
    ({"mon": "24:00-24:00"}, (), "mon: '24:00-24:00' is not a time of day"),
    ({"mon": "23:00-24:30"}, (), "mon: '23:00-24:30' is not a time of day"),
    ({"funday": "09:00-10:00"}, (), "'funday' is not a day"),
    ({"mon-xyz": "09:00-10:00"}, (), "'mon-xyz' is not a day"),
    ({"mon": ["closed", "09:00-10:00"]}, (), "mon: 'closed' and '24h' stand alone"),
    ({"mon": 9}, (), "mon: 9 is not a time range"),
    ({"mon-fri": "24h", "wed-thu": "closed"}, (), "wed: named by both 'mon-fri' and 'wed-thu'"),
    ({}, ["2026-02-30"], "closed: '2026-02-30' is not a date"),
])
def test_given_a_bad_spec_then_the_error_names_the_offending_part(spec, closed, message):
    with pytest.raises(HoursError) as info:
        OpeningHours.parse("UTC", spec, closed)
    assert str(info.value).startswith(message)


def test_given_an_unknown_timezone_then_hours_error_names_it():
    with pytest.raises(HoursError, match="timezone: 'Mars/Olympus' is not an IANA time zone"):
        OpeningHours.always("Mars/Olympus")


def test_given_direct_construction_with_a_bad_weekday_or_interval_then_hours_error():
    with pytest.raises(HoursError, match="weekly: 7"):
        OpeningHours("UTC", {7: ()})
    with pytest.raises(HoursError, match="tue: 10:00-09:00 ends before it starts"):
        OpeningHours("UTC", {1: ((time(10), time(9)),)})
    with pytest.raises(HoursError, match="whole-minute"):
        OpeningHours("UTC", {1: ((time(9, 0, 30), time(10)),)})


def test_given_hours_then_to_spec_is_compact_json_and_round_trips():
    spec = OFFICE.to_spec()
    assert spec == {"timezone": TORONTO, "closed": ["2026-12-25"],
                    "spec": {"mon-fri": "09:00-17:00", "sat": ["10:00-12:00", "13:00-15:00"], "sun": "closed"}}
    assert OpeningHours.parse(**spec) == OFFICE
    assert OpeningHours.always().to_spec()["spec"] == {"daily": "24h"}


def test_given_hours_then_they_are_hashable_and_immutable():
    assert hash(OFFICE) == hash(OpeningHours.parse(**OFFICE.to_spec()))
    with pytest.raises(TypeError):
        OFFICE.weekly[0] = ()   # type: ignore[index]


# ------------------------------------------------------------------------ THE DST RULE
@pytest.mark.parametrize("local, tz, expected", [
    (datetime(2026, 3, 8, 2, 30), TORONTO, utc(2026, 3, 8, 7, 30)),     # skipped: 03:30 EDT
    (datetime(2026, 3, 29, 1, 30), LONDON, utc(2026, 3, 29, 1, 30)),    # skipped: 02:30 BST
    (datetime(2026, 11, 1, 1, 30), TORONTO, utc(2026, 11, 1, 5, 30)),   # repeated: first, EDT
    (datetime(2026, 10, 25, 1, 30), LONDON, utc(2026, 10, 25, 0, 30)),  # repeated: first, BST
    (datetime(2026, 3, 8, 3, 0), TORONTO, utc(2026, 3, 8, 7, 0)),       # just after the gap
    (datetime(2026, 11, 1, 2, 0), TORONTO, utc(2026, 11, 1, 7, 0)),     # just after the repeat
    (datetime(2026, 7, 1, 12, 0), TORONTO, utc(2026, 7, 1, 16, 0)),
    (datetime(2026, 1, 15, 12, 0), LONDON, utc(2026, 1, 15, 12, 0)),
])
def test_given_a_local_time_then_local_to_utc_applies_the_dst_rule(local, tz, expected):
    assert local_to_utc(local, tz) == expected


def test_given_an_aware_datetime_then_local_to_utc_refuses_it():
    with pytest.raises(ValueError, match="naive"):
        local_to_utc(datetime(2026, 1, 1, tzinfo=UTC), "UTC")


@pytest.mark.parametrize("day, spans, tz, expected", [
    # spring forward: the gap hour is not open time
    (date(2026, 3, 8), "01:00-04:00", TORONTO, [(utc(2026, 3, 8, 6), utc(2026, 3, 8, 8))]),
    (date(2026, 3, 29), "00:00-03:00", LONDON, [(utc(2026, 3, 29, 0), utc(2026, 3, 29, 2))]),
    # a start in the gap moves forward by the gap
    (date(2026, 3, 8), "02:30-04:00", TORONTO, [(utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8))]),
    (date(2026, 3, 29), "01:30-03:00", LONDON, [(utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2))]),
    # both ends in the gap: the whole interval moves forward by the gap
    (date(2026, 3, 8), "02:15-02:45", TORONTO, [(utc(2026, 3, 8, 7, 15), utc(2026, 3, 8, 7, 45))]),
    (date(2026, 3, 29), "01:10-01:50", LONDON, [(utc(2026, 3, 29, 1, 10), utc(2026, 3, 29, 1, 50))]),
    # a start moved past the end: empty, never negative
    (date(2026, 3, 8), "02:30-03:15", TORONTO, []),
    (date(2026, 3, 29), "01:30-02:15", LONDON, []),
    # fall back: the repeated hour counts twice
    (date(2026, 11, 1), "00:00-03:00", TORONTO, [(utc(2026, 11, 1, 4), utc(2026, 11, 1, 8))]),
    (date(2026, 11, 1), "01:00-02:00", TORONTO, [(utc(2026, 11, 1, 5), utc(2026, 11, 1, 7))]),
    (date(2026, 10, 25), "00:00-03:00", LONDON, [(utc(2026, 10, 24, 23), utc(2026, 10, 25, 3))]),
    (date(2026, 10, 25), "01:00-02:00", LONDON, [(utc(2026, 10, 25, 0), utc(2026, 10, 25, 2))]),
    # an end inside the repeated hour is its first occurrence
    (date(2026, 11, 1), "00:00-01:30", TORONTO, [(utc(2026, 11, 1, 4), utc(2026, 11, 1, 5, 30))]),
    (date(2026, 10, 25), "01:30-24:00", LONDON, [(utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 0))]),
])
def test_given_hours_on_a_dst_night_then_intervals_are_real_time(day, spans, tz, expected):
    hours = on(day, spans, tz)
    assert hours.intervals(utc(day.year, day.month, day.day) - 86400, utc(day.year, day.month, day.day) + 2 * 86400) \
        == expected


def test_given_24h_on_the_dst_days_then_the_days_are_23_and_25_hours_long():
    hours = OpeningHours.parse(TORONTO, {"sun": "24h"})
    spring = hours.intervals(utc(2026, 3, 7), utc(2026, 3, 10))
    autumn = hours.intervals(utc(2026, 10, 31), utc(2026, 11, 3))
    assert [(e - s) / HOUR for s, e in spring] == [23]
    assert [(e - s) / HOUR for s, e in autumn] == [25]


# ----------------------------------------------------------------- real-time questions
MONDAY_10 = utc(2026, 3, 9, 14)   # 10:00 EDT on Monday March 9


def test_given_office_hours_then_is_open_follows_the_local_week():
    assert OFFICE.is_open(MONDAY_10)
    assert not OFFICE.is_open(utc(2026, 3, 9, 21))        # 17:00 EDT: the end is excluded
    assert OFFICE.is_open(utc(2026, 3, 9, 20, 59, 59))
    assert OFFICE.is_open(utc(2026, 3, 14, 14))           # Saturday 10:00
    assert not OFFICE.is_open(utc(2026, 3, 14, 16, 30))   # Saturday lunch
    assert not OFFICE.is_open(utc(2026, 3, 15, 15))       # Sunday


def test_given_a_holiday_then_it_is_closed_all_day():
    assert not OFFICE.is_open(utc(2026, 12, 25, 15))
    assert OFFICE.is_open(utc(2026, 12, 24, 15))


def test_given_open_now_then_next_open_is_now_and_closes_at_the_interval_end():
    assert OFFICE.next_open(MONDAY_10 + 0.5) == MONDAY_10 + 0.5
    assert OFFICE.closes_at(MONDAY_10) == utc(2026, 3, 9, 21)


def test_given_closed_then_next_open_is_the_next_opening_and_closes_at_is_none():
    friday_evening = utc(2026, 3, 13, 23)
    assert OFFICE.closes_at(friday_evening) is None
    assert OFFICE.next_open(friday_evening) == utc(2026, 3, 14, 14)   # Saturday 10:00 EDT
    assert OFFICE.next_open(utc(2026, 3, 14, 19, 30)) == utc(2026, 3, 16, 13)   # Monday 09:00


def test_given_a_holiday_then_next_open_skips_it():
    assert OFFICE.next_open(utc(2026, 12, 24, 23)) == utc(2026, 12, 26, 15)   # Saturday 10:00 EST


def test_given_never_open_then_next_open_is_none():
    never = OpeningHours("UTC", {})
    assert never.next_open(0) is None and never.intervals(0, 10 * 86400) == []
    one_day = OpeningHours.parse("UTC", {"mon": "09:00-10:00"})
    assert one_day.next_open(utc(2026, 3, 10), horizon_days=5) is None
    assert one_day.next_open(utc(2026, 3, 10), horizon_days=7) == utc(2026, 3, 16, 9)


def test_given_open_across_midnight_then_closes_at_and_intervals_merge_the_days():
    nights = OpeningHours.parse("UTC", {"mon": "20:00-24:00", "tue": ["00:00-02:00", "08:00-09:00"]})
    monday_21 = utc(2026, 3, 9, 21)
    assert nights.closes_at(monday_21) == utc(2026, 3, 10, 2)
    assert nights.intervals(utc(2026, 3, 9), utc(2026, 3, 11)) == [
        (utc(2026, 3, 9, 20), utc(2026, 3, 10, 2)), (utc(2026, 3, 10, 8), utc(2026, 3, 10, 9))]


def test_given_always_open_then_closes_at_is_infinite_and_intervals_are_the_bounds():
    always = OpeningHours.always("Asia/Kolkata")
    assert always.closes_at(utc(2026, 5, 1)) == math.inf
    assert always.intervals(utc(2026, 5, 1), utc(2026, 5, 20)) == [(utc(2026, 5, 1), utc(2026, 5, 20))]


def test_given_an_open_week_then_closes_at_finds_the_end_beyond_the_first_chunk():
    weekdays = OpeningHours.parse("UTC", {"mon-fri": "24h"})
    assert weekdays.closes_at(utc(2026, 3, 9, 1)) == utc(2026, 3, 14)
    long_stretch = OpeningHours.parse("UTC", {"daily": "24h"}, ["2026-03-20"])
    assert long_stretch.closes_at(utc(2026, 3, 9, 1)) == utc(2026, 3, 20)


def test_given_an_empty_or_reversed_range_then_intervals_is_empty():
    assert OFFICE.intervals(MONDAY_10, MONDAY_10) == []
    assert OFFICE.intervals(MONDAY_10, MONDAY_10 - 5) == []


# ------------------------------------------------------------------------- properties
ZONES = ["UTC", TORONTO, LONDON, "Australia/Lord_Howe", "Asia/Kolkata", "America/St_Johns", "America/Santiago"]
TRANSITIONS = [utc(2026, 3, 8, 7), utc(2026, 11, 1, 6), utc(2026, 3, 29, 1), utc(2026, 10, 25, 1),   # Toronto, London
               utc(2026, 4, 4, 15), utc(2026, 10, 3, 15, 30),   # Lord Howe: 30-minute DST
               utc(2026, 4, 5, 3), utc(2026, 9, 6, 4)]          # Santiago: DST changes at midnight


@st.composite
def spans(draw):
    start = draw(st.integers(0, 95)) * 15
    end = draw(st.integers(start // 15 + 1, 96)) * 15
    as_time = lambda minutes: time(minutes // 60 % 24, minutes % 60)   # noqa: E731
    return as_time(start), as_time(end)


hours_strategy = st.builds(
    OpeningHours,
    timezone=st.sampled_from(ZONES),
    weekly=st.dictionaries(st.integers(0, 6), st.lists(spans(), max_size=3).map(tuple)),
    closed_dates=st.frozensets(st.dates(date(2026, 1, 1), date(2026, 12, 31)), max_size=20),
)
instants = st.one_of(
    st.floats(utc(2026, 1, 1), utc(2026, 12, 31)),
    st.builds(lambda t, d: t + d, st.sampled_from(TRANSITIONS), st.integers(-3 * 86400, 3 * 86400)),
)
FAST = settings(max_examples=150, deadline=None)


@FAST
@given(hours_strategy, instants)
def test_property_next_open_is_not_before_and_is_open_and_nothing_opens_in_between(hours, at):
    found = hours.next_open(at, horizon_days=30)
    if found is None:
        assert hours.intervals(at, at + 30 * 86400) == []
        return
    assert found >= at and hours.is_open(found)
    assert hours.intervals(at, found) == []


@FAST
@given(hours_strategy, instants, st.floats(0, 10 * 86400), st.lists(st.floats(0, 1), max_size=20))
def test_property_intervals_are_sorted_disjoint_bounded_and_agree_with_is_open(hours, start, length, samples):
    end = start + length
    found = hours.intervals(start, end)
    for s, e in found:
        assert start <= s < e <= end
    for (_, e1), (s2, _) in zip(found, found[1:], strict=False):
        assert e1 < s2   # touching intervals are merged
    for fraction in samples:
        x = start + fraction * length
        if x < end:
            assert hours.is_open(x) == any(s <= x < e for s, e in found)


@FAST
@given(hours_strategy, instants)
def test_property_closes_at_ends_one_unbroken_open_stretch(hours, at):
    closes = hours.closes_at(at, horizon_days=30)
    if not hours.is_open(at):
        assert closes is None
        return
    if closes == math.inf:
        assert hours.intervals(at, at + 30 * 86400) == [(at, at + 30 * 86400)]
        return
    assert closes > at and not hours.is_open(closes)
    assert hours.intervals(at, closes) == [(at, closes)]


@FAST
@given(hours_strategy)
def test_property_to_spec_round_trips(hours):
    assert OpeningHours.parse(**hours.to_spec()) == hours


@FAST
@given(st.sampled_from(ZONES), st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31)))
def test_property_local_to_utc_gives_the_wall_time_back_or_moves_it_forward_by_the_gap(tz, local):
    from zoneinfo import ZoneInfo
    zone = ZoneInfo(tz)
    back = datetime.fromtimestamp(local_to_utc(local, tz), zone)
    gap = zone.utcoffset(local.replace(fold=1)) - zone.utcoffset(local.replace(fold=0))
    assert back.replace(tzinfo=None) == local + max(gap, timedelta(0))
    assert back.fold == 0   # a repeated time means its first occurrence
