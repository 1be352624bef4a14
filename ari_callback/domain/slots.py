"""Scheduled callbacks: the slots a customer may book, and the check of a requested start.

Slot rules:

- slots start on a local wall-clock grid: on the hour and every ``slot_minutes`` after it
  (``slot_minutes`` divides 60, or is a whole number of hours dividing 24, counted from local
  midnight);
- a slot is ``slot_minutes`` of real time, and is offered only if it lies wholly inside an
  open interval (``OpeningHours.intervals``): the tail of an interval shorter than a slot is
  not offered, and a slot never starts in a skipped DST hour, since its start must be a real
  instant whose local time is on the grid. In a repeated hour both occurrences are real
  instants, so both are slots;
- bookable slots start at least ``min_notice_minutes`` from now and less than ``days_ahead``
  days (of real time) from now;
- ``per_slot`` callbacks may be booked per slot; a booking counts for the slot its start falls
  in, so a store that keeps the requested (unaligned) start still counts right.

Pure: ``now`` and every instant are UNIX epoch floats passed in.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from .hours import OpeningHours

SLOT_IN_PAST = "slot_in_past"
SLOT_TOO_SOON = "slot_too_soon"
SLOT_TOO_FAR = "slot_too_far"
SLOT_CLOSED = "slot_closed"
SLOT_FULL = "slot_full"


class SlotError(Exception):
    def __init__(self, error_id: str, message: str):
        super().__init__(message)
        self.error_id = error_id
        self.message = message


@dataclass(frozen=True)
class SlotPolicy:
    slot_minutes: int = 15
    days_ahead: int = 7
    per_slot: int = 1
    min_notice_minutes: int = 10

    def __post_init__(self) -> None:
        minutes = self.slot_minutes
        if minutes <= 0 or not (60 % minutes == 0 or (minutes % 60 == 0 and 1440 % minutes == 0)):
            raise ValueError(f"slot_minutes: {minutes} must divide 60, or be whole hours dividing 24")
        if self.days_ahead < 1 or self.per_slot < 0 or self.min_notice_minutes < 0:
            raise ValueError("days_ahead must be at least 1; per_slot and min_notice_minutes not negative")

    @property
    def seconds(self) -> int:
        return self.slot_minutes * 60


@dataclass(frozen=True)
class Slot:
    start: float
    end: float
    available: int


def slots(hours: OpeningHours, policy: SlotPolicy, now: float, booked: Mapping[float, int]) -> list[Slot]:
    """Every bookable slot, in time order; full ones are listed with ``available=0``."""
    soonest = now + policy.min_notice_minutes * 60
    counted = _Bookings(booked)
    return [Slot(start, end, max(0, policy.per_slot - counted.within(start, end)))
            for start, end in _grid_slots(hours, policy, now - policy.seconds, _window_end(policy, now))
            if start >= soonest]


def check_start(hours: OpeningHours, policy: SlotPolicy, now: float, start: float,
                booked: Mapping[float, int]) -> Slot:
    """The slot a requested start falls in (the start need not be on the grid), or SlotError:
    slot_in_past, slot_too_far, slot_closed (no slot holds that time), slot_too_soon,
    slot_full, checked in that order. The notice counts to the requested start, not to its
    slot's: with no notice asked, the rest of a slot that has begun can still be booked (the
    callback is due at the requested start)."""
    if start < now:
        raise SlotError(SLOT_IN_PAST, "the requested start has passed")
    if start >= _window_end(policy, now):
        raise SlotError(SLOT_TOO_FAR, f"slots can be booked up to {policy.days_ahead} days ahead")
    # The slot holding `start` begins after start - slot and ends by start + slot.
    around = _grid_slots(hours, policy, start - policy.seconds, start + policy.seconds)
    index = bisect.bisect_right([s for s, _ in around], start) - 1
    if index < 0 or around[index][1] <= start:
        raise SlotError(SLOT_CLOSED, "no slot at that time: the queue is closed or closes before a slot ends")
    slot_start, slot_end = around[index]
    if start < now + policy.min_notice_minutes * 60:
        raise SlotError(SLOT_TOO_SOON, f"slots need {policy.min_notice_minutes} minutes' notice")
    available = policy.per_slot - _Bookings(booked).within(slot_start, slot_end)
    if available <= 0:
        raise SlotError(SLOT_FULL, "that slot is fully booked")
    return Slot(slot_start, slot_end, available)


def _window_end(policy: SlotPolicy, now: float) -> float:
    return now + policy.days_ahead * 86400


def _grid_slots(hours: OpeningHours, policy: SlotPolicy, start: float, end: float) -> list[tuple[float, float]]:
    """(start, end) of the slots wholly inside open time that start in [start, end)."""
    zone = ZoneInfo(hours.timezone)
    found: list[tuple[float, float]] = []
    for open_start, open_end in hours.intervals(start, end + policy.seconds):
        last = min(open_end - policy.seconds, math.nextafter(end, -math.inf))
        found.extend((float(t), float(t + policy.seconds))
                     for t in _grid_instants(open_start, last, policy.seconds, zone))
    return found


def _grid_instants(first: float, last: float, step: int, zone: ZoneInfo) -> list[int]:
    """The instants in [first, last] whose local wall time is on the grid: t + offset(t) is a
    multiple of the step (local midnight is one, and the step divides an hour or a day). A
    skipped wall time is no instant's local time, so it never appears; a repeated one is two
    instants' local time, so it appears twice."""
    found = []
    at = math.ceil(first)
    while at <= last:
        offset = _offset(at, zone)
        candidate = at + (-(at + offset)) % step
        if _offset(candidate, zone) != offset:
            at = _offset_change(at, candidate, zone)   # realign on the new offset
            continue
        if candidate > last:
            break
        found.append(candidate)
        at = candidate + 1
    return found


def _offset(at: int, zone: ZoneInfo) -> int:
    return int(datetime.fromtimestamp(at, zone).utcoffset().total_seconds())   # type: ignore[union-attr]


def _offset_change(before: int, after: int, zone: ZoneInfo) -> int:
    """The first second after ``before`` whose offset differs from its offset (there is one by
    ``after``): found by halving, as zoneinfo does not publish its transitions."""
    offset = _offset(before, zone)
    while after - before > 1:
        middle = (before + after) // 2
        if _offset(middle, zone) == offset:
            before = middle
        else:
            after = middle
    return after


class _Bookings:
    """Counts of booked starts, summed over any [start, end) by bisection."""

    def __init__(self, booked: Mapping[float, int]):
        self._starts = sorted(booked)
        self._running = [0]
        for key in self._starts:
            self._running.append(self._running[-1] + booked[key])

    def within(self, start: float, end: float) -> int:
        lo = bisect.bisect_left(self._starts, start)
        hi = bisect.bisect_left(self._starts, end)
        return self._running[hi] - self._running[lo]
