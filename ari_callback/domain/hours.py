"""Opening hours of a call option: weekly local wall-clock intervals in an IANA time zone, less
holidays, turned into real (UTC epoch) intervals.

THE DST RULE. Local wall-clock times become instants with one rule, used everywhere (opening
intervals, slots, ``local_to_utc``):

- a wall-clock time that a DST change skips (02:30 on the spring-forward night) is moved
  forward by the length of the gap: 02:30 becomes 03:30 at the new offset. This is the instant
  the wall time names under the offset in force before the change (zoneinfo's ``fold=0``).
- a wall-clock time that a DST change repeats (01:30 on the fall-back night) means its FIRST
  occurrence (``fold=0``, the earlier instant).

Both ends of an opening interval follow the rule, so an interval over the repeated hour is as
long in real time as it really is (00:00-03:00 on the fall-back night is open four real hours),
and one whose start the gap moves past its end is empty, never negative (02:30-03:15 on the
spring-forward night would be 03:30-03:15 after the move: dropped).

Everything is pure: instants are floats (UNIX epoch seconds) passed in, never read from a clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIDNIGHT = time(0, 0)   # as an interval's end: midnight at the end of the day ("24:00")
WHOLE_DAY = ((MIDNIGHT, MIDNIGHT),)
_DAY = timedelta(days=1)
_SCAN_DAYS = 7   # next_open/closes_at look ahead a week at a time: most answers are in the first
_RANGE_RE = re.compile(r"(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})")

Interval = tuple[time, time]


class HoursError(ValueError):
    """A bad opening-hours definition; the message names the offending part."""


def local_to_utc(local: datetime, timezone: str) -> float:
    """A naive local wall time in ``timezone`` as a UNIX epoch, by THE DST RULE."""
    if local.tzinfo is not None:
        raise ValueError(f"local_to_utc takes a naive wall time, not {local.isoformat()}")
    return _to_utc(local, _zone(timezone))


def _to_utc(local: datetime, zone: ZoneInfo) -> float:
    # fold=0 is THE DST RULE on both counts: a skipped time takes the offset before the change
    # (so it lands after the gap), a repeated time its first occurrence.
    return local.replace(tzinfo=zone, fold=0).timestamp()


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise HoursError(f"timezone: {timezone!r} is not an IANA time zone") from None


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60


def _end_seconds(moment: time) -> int:
    return _seconds(moment) or 86400


def _normalised_day(label: str, spans: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sorted, with overlapping or touching intervals merged, each checked; ``label`` names
    the day (or spec key) in errors."""
    in_seconds = []
    for start, end in spans:
        for moment in (start, end):
            if not isinstance(moment, time) or moment.second or moment.microsecond or moment.tzinfo:
                raise HoursError(f"{label}: {moment!r} is not a whole-minute naive time")
        if _seconds(start) >= _end_seconds(end):
            raise HoursError(f"{label}: {start:%H:%M}-{end:%H:%M} ends before it starts")
        in_seconds.append((_seconds(start), _end_seconds(end)))
    merged: list[list[int]] = []
    for first, last in sorted(in_seconds):
        if merged and first <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return tuple((_time_of(first), _time_of(last)) for first, last in merged)


def _time_of(seconds: int) -> time:
    return time(seconds // 3600 % 24, seconds // 60 % 60)


def merge(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, overlapping or touching spans merged into one."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


@dataclass(frozen=True)
class OpeningHours:
    timezone: str
    weekly: Mapping[int, tuple[Interval, ...]] = field(hash=False)   # weekday 0=Mon -> [start, end)
    closed_dates: frozenset[date] = frozenset()   # holidays, local dates

    def __post_init__(self) -> None:
        _zone(self.timezone)
        unknown = [day for day in self.weekly if day not in range(7)]
        if unknown:
            raise HoursError(f"weekly: {unknown[0]!r} is not a weekday 0 (Mon) .. 6 (Sun)")
        days = {day: _normalised_day(DAYS[day], self.weekly.get(day, ())) for day in range(7)}
        # Normalised, so hours built directly and parsed from a spec compare equal.
        object.__setattr__(self, "weekly", MappingProxyType(days))
        object.__setattr__(self, "closed_dates", frozenset(self.closed_dates))

    @classmethod
    def parse(cls, timezone: str, spec: Mapping[str, str | Sequence[str]],
              closed: Sequence[str] = ()) -> OpeningHours:
        """From a JSON-friendly spec: keys "mon".."sun", ranges "mon-fri" (may wrap: "fri-mon"),
        "daily"; values "09:00-17:00" (end "24:00" or "00:00" is midnight), a list of them,
        "closed" or "24h". A single day beats a range, a range beats "daily"; a day named twice
        at the same level is an error. Days not named are closed."""
        chosen: dict[int, tuple[int, str, tuple[Interval, ...]]] = {}
        for key, value in spec.items():
            days, level = _days_of(str(key).strip().lower())
            spans = _spans_of(str(key), value)
            for day in days:
                if day in chosen and chosen[day][0] == level:
                    raise HoursError(f"{DAYS[day]}: named by both {chosen[day][1]!r} and {key!r}")
                if day not in chosen or chosen[day][0] < level:
                    chosen[day] = (level, str(key), spans)
        weekly = {day: spans for day, (_, _, spans) in chosen.items()}
        return cls(timezone, weekly, frozenset(_date_of(text) for text in closed))

    @classmethod
    def always(cls, timezone: str = "UTC") -> OpeningHours:
        return cls(timezone, {day: WHOLE_DAY for day in range(7)})

    def to_spec(self) -> dict:
        """A JSON-friendly form: ``OpeningHours.parse(**hours.to_spec()) == hours``."""
        values = [_spec_value(self.weekly[day]) for day in range(7)]
        spec: dict[str, str | list[str]] = {}
        first = 0
        for day in range(1, 8):
            if day == 7 or values[day] != values[first]:
                key = DAYS[first] if day - 1 == first else f"{DAYS[first]}-{DAYS[day - 1]}"
                spec["daily" if (first, day) == (0, 7) else key] = values[first]
                first = day
        closed = sorted(d.isoformat() for d in self.closed_dates)
        return {"timezone": self.timezone, "spec": spec, "closed": closed}

    # ------------------------------------------------------------------ real-time questions
    def is_open(self, at: float) -> bool:
        today = self._local_date(at)
        return any(start <= at < end for start, end in self._merged_days(today - _DAY, today + _DAY))

    def next_open(self, at: float, horizon_days: int = 366) -> float | None:
        """``at`` itself if open then, else the next opening; None if none within the horizon."""
        limit = at + horizon_days * 86400
        chunk = at
        while chunk < limit:
            upto = min(chunk + _SCAN_DAYS * 86400, limit)
            found = self.intervals(chunk, upto)
            if found:
                return found[0][0] if found[0][0] > at else at
            chunk = upto
        return None

    def closes_at(self, at: float, horizon_days: int = 366) -> float | None:
        """The end of the open stretch containing ``at`` (across midnights it spans); None if
        closed at ``at``; ``math.inf`` if it stays open past the horizon."""
        if not self.is_open(at):
            return None
        limit = at + horizon_days * 86400
        chunk = at
        while chunk < limit:
            upto = min(chunk + _SCAN_DAYS * 86400, limit)
            found = self.intervals(chunk, upto)
            if not found or found[0][0] > chunk:
                return chunk   # the previous chunk's stretch ended exactly at its edge
            if found[0][1] < upto:
                return found[0][1]
            chunk = upto
        return math.inf

    def intervals(self, start: float, end: float) -> list[tuple[float, float]]:
        """Open intervals clipped to [start, end), UTC epochs, sorted, merged where they touch."""
        if not end > start:
            return []
        spans = self._merged_days(self._local_date(start) - _DAY, self._local_date(end) + _DAY)
        clipped = ((float(max(s, start)), float(min(e, end))) for s, e in spans)
        return [(s, e) for s, e in clipped if s < e]

    # ------------------------------------------------------------------------- internals
    def _local_date(self, at: float) -> date:
        return datetime.fromtimestamp(at, ZoneInfo(self.timezone)).date()

    def _merged_days(self, first: date, last: date) -> list[tuple[float, float]]:
        zone = ZoneInfo(self.timezone)
        spans: list[tuple[float, float]] = []
        day = first
        while day <= last:
            spans.extend(self._day_spans(day, zone))
            day += _DAY
        # Days touch at midnight; a gap around midnight can even make them overlap.
        return merge(spans)

    def _day_spans(self, day: date, zone: ZoneInfo) -> list[tuple[float, float]]:
        if day in self.closed_dates:
            return []
        spans = []
        for start, end in self.weekly[day.weekday()]:
            end_day = day + _DAY if end == MIDNIGHT else day
            real = (_to_utc(datetime.combine(day, start), zone), _to_utc(datetime.combine(end_day, end), zone))
            if real[0] < real[1]:   # a span the gap swallowed is empty, never negative
                spans.append(real)
        return spans


# ------------------------------------------------------------------------------ parsing
def _days_of(key: str) -> tuple[list[int], int]:
    """The weekdays a spec key names, and how specific it is (a day 2, a range 1, daily 0)."""
    if key == "daily":
        return list(range(7)), 0
    if key in DAYS:
        return [DAYS.index(key)], 2
    first, dash, last = key.partition("-")
    if dash and first.strip() in DAYS and last.strip() in DAYS:
        a, b = DAYS.index(first.strip()), DAYS.index(last.strip())
        return [(a + i) % 7 for i in range((b - a) % 7 + 1)], 1
    raise HoursError(f"{key!r} is not a day (mon..sun), a day range (mon-fri) or 'daily'")


def _spans_of(key: str, value: object) -> tuple[Interval, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
        raise HoursError(f"{key}: {value!r} is not a time range, a list of them, 'closed' or '24h'")
    words = [item.strip().lower() for item in items]
    if words in (["closed"], ["24h"]):
        return () if words == ["closed"] else WHOLE_DAY
    if "closed" in words or "24h" in words:
        raise HoursError(f"{key}: 'closed' and '24h' stand alone, not in a list of ranges")
    return _normalised_day(key, [_range_of(key, item) for item in items])


def _range_of(key: str, text: str) -> Interval:
    match = _RANGE_RE.fullmatch(text.strip())
    if match is None:
        raise HoursError(f"{key}: {text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise HoursError(f"{key}: {text!r} is not a time of day (00:00..23:59, or 24:00 as an end)")
    start, end = time(h1, m1), time(h2 % 24, m2)
    if _seconds(start) >= _end_seconds(end):
        raise HoursError(f"{key}: {text!r} ends before it starts (split a range across midnight in two)")
    return start, end


def _date_of(text: str) -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise HoursError(f"closed: {text!r} is not a date (YYYY-MM-DD)") from None


def _spec_value(spans: tuple[Interval, ...]) -> str | list[str]:
    if not spans:
        return "closed"
    if spans == WHOLE_DAY:
        return "24h"
    texts = [f"{start:%H:%M}-{'24:00' if end == MIDNIGHT else format(end, '%H:%M')}" for start, end in spans]
    return texts[0] if len(texts) == 1 else texts
