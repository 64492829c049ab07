"""Pure business-time arithmetic over weekly working hours, holidays and zoneinfo DST rules."""

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_DAY_MIN = 24 * 60
_WEEK_MIN = 7 * _DAY_MIN
_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)
# A schedule whose only working days are all holidays would otherwise be walked forever.
_MAX_IDLE_DAYS = 3 * 366
_DIGITS = frozenset("0123456789")
# Ends of spans that _merge unites: minutes of a week, or instants.
_Point = TypeVar("_Point", int, datetime)


@dataclass(frozen=True)
class Schedule:
    timezone: str = "UTC"
    hours: dict[str, list[tuple[str, str]]] | None = None
    holidays: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Schedule":
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise ValueError("schedule must be a dict or None")
        raw_hours = d.get("hours")
        hours: dict[str, list[tuple[str, str]]] | None = None
        if raw_hours is not None:
            if not isinstance(raw_hours, dict):
                raise ValueError("schedule hours must be a dict keyed by day")
            hours = {}
            for day, intervals in raw_hours.items():
                pairs = []
                for iv in intervals or ():
                    if not isinstance(iv, list | tuple) or len(iv) != 2:
                        raise ValueError(f"{day}: interval {iv!r} must be a [start, end] pair")
                    pairs.append((iv[0], iv[1]))
                hours[day] = pairs
        return cls(
            timezone=d.get("timezone") or "UTC",
            hours=hours,
            holidays=tuple(d.get("holidays") or ()),
        )

    def to_dict(self) -> dict[str, Any]:
        hours = None
        if self.hours is not None:
            hours = {day: [[s, e] for s, e in ivs] for day, ivs in self.hours.items()}
        return {"timezone": self.timezone, "hours": hours, "holidays": list(self.holidays)}

    @property
    def is_24x7(self) -> bool:
        # Holidays on an otherwise round-the-clock schedule still stop the clock, so such a
        # schedule takes the interval-walking path rather than plain timedelta arithmetic.
        return self.hours is None and not self.holidays


# --------------------------------------------------------------------------- parsing


def _parse_time(value: object, *, is_end: bool) -> int:
    """Minutes after local midnight; "24:00" only as an end."""
    if (
        not isinstance(value, str)
        or len(value) != 5
        or value[2] != ":"
        or not _DIGITS.issuperset(value[:2] + value[3:])
    ):
        raise ValueError(f"invalid time {value!r} (expected HH:MM)")
    hh, mm = int(value[:2]), int(value[3:])
    if hh == 24 and mm == 0:
        if not is_end:
            raise ValueError("'24:00' is only valid as an end time")
        return _DAY_MIN
    if hh > 23 or mm > 59:
        raise ValueError(f"invalid time {value!r} (expected HH:MM)")
    return hh * 60 + mm


def _parse_date(value: object) -> date:
    # date.fromisoformat alone would also accept compact forms like "20261225".
    if (
        not isinstance(value, str)
        or len(value) != 10
        or value[4] != "-"
        or value[7] != "-"
        or not _DIGITS.issuperset(value[:4] + value[5:7] + value[8:])
    ):
        raise ValueError(f"invalid holiday date {value!r} (expected YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"invalid holiday date {value!r} (expected YYYY-MM-DD)") from None


def _zone(name: object) -> ZoneInfo:
    if not isinstance(name, str):
        raise ValueError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _interval_minutes(start: object, end: object) -> tuple[int, int]:
    """(start, end) minutes from the local midnight of the day the interval starts on."""
    s = _parse_time(start, is_end=False)
    e = _parse_time(end, is_end=True)
    if e <= s:
        e += _DAY_MIN
    return s, e


def validate_schedule(d: dict[str, Any]) -> list[str]:
    if d is None:
        return []
    if not isinstance(d, dict):
        return ["schedule must be an object"]
    problems: list[str] = []
    for key in d:
        if key not in ("timezone", "hours", "holidays"):
            problems.append(f"unknown field {key!r}")
    tz_name = d.get("timezone", "UTC")
    try:
        _zone(tz_name)
    except ValueError as exc:
        problems.append(str(exc))

    hours = d.get("hours")
    spans: list[tuple[int, int, str]] = []
    if hours is not None and not isinstance(hours, dict):
        problems.append("hours must be an object keyed by day (mon..sun)")
    elif hours is not None:
        for day, intervals in hours.items():
            if day not in DAYS:
                problems.append(f"unknown day {day!r} (expected one of {', '.join(DAYS)})")
                continue
            if not isinstance(intervals, list | tuple):
                problems.append(f"{day}: intervals must be a list of [start, end] pairs")
                continue
            for iv in intervals:
                if not isinstance(iv, list | tuple) or len(iv) != 2:
                    problems.append(f"{day}: interval {iv!r} must be a [start, end] pair")
                    continue
                start, end = iv
                label = f"{day} {start}-{end}"
                try:
                    if _parse_time(start, is_end=False) == _parse_time(end, is_end=True):
                        problems.append(f"{label}: start equals end")
                        continue
                    s, e = _interval_minutes(start, end)
                except ValueError as exc:
                    problems.append(f"{day}: {exc}")
                    continue
                base = DAYS.index(day) * _DAY_MIN
                spans.append((base + s, base + e, label))
        # Overlap is checked on the circular week so a Sunday night shift running into
        # Monday morning is compared with Monday's hours too.
        for i, (s1, e1, l1) in enumerate(spans):
            for s2, e2, l2 in spans[i + 1 :]:
                if any(s1 < e2 + k and s2 + k < e1 for k in (-_WEEK_MIN, 0, _WEEK_MIN)):
                    problems.append(f"{l1} overlaps {l2}")

    holidays = d.get("holidays", ())
    if holidays is not None and not isinstance(holidays, list | tuple):
        problems.append("holidays must be a list of YYYY-MM-DD dates")
    else:
        for h in holidays or ():
            try:
                _parse_date(h)
            except ValueError as exc:
                problems.append(str(exc))
    return problems


# --------------------------------------------------------------------------- compiled form


@dataclass(frozen=True)
class _Compiled:
    tz: ZoneInfo
    # Per weekday (Monday first): (start, end) minutes from that day's local midnight;
    # end may exceed 1440 for intervals crossing midnight.
    week: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date]
    # Business time of any 7 consecutive local days with no holiday and no UTC-offset change.
    week_total: timedelta


def _compile(schedule: Schedule) -> _Compiled:
    """The schedule's week in minutes, compiled once per distinct schedule: every SLA view,
    deadline and case view walks one of a few schedules (a pure function of its fields)."""
    hours = schedule.hours
    key = (
        schedule.timezone,
        None if hours is None else tuple((day, tuple(ivs)) for day, ivs in hours.items()),
        schedule.holidays,
    )
    try:
        return _compile_fields(*key)
    except TypeError:  # a field that cannot be hashed (say, a list): compile it uncached
        return _compile_fields.__wrapped__(schedule.timezone, hours, schedule.holidays)


@functools.lru_cache(maxsize=256)
def _compile_fields(timezone: str, hours: Any, holidays: Iterable[str]) -> _Compiled:
    tz = _zone(timezone)
    week: tuple[tuple[tuple[int, int], ...], ...]
    if hours is None:
        week = tuple(((0, _DAY_MIN),) for _ in DAYS)
    else:
        per_day: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for day, intervals in dict(hours).items():
            if day not in DAYS:
                raise ValueError(f"unknown day {day!r} (expected one of {', '.join(DAYS)})")
            for start, end in intervals:
                per_day[DAYS.index(day)].append(_interval_minutes(start, end))
        week = tuple(tuple(sorted(ivs)) for ivs in per_day)
    days_off = frozenset(_parse_date(h) for h in holidays)

    spans: list[tuple[int, int]] = []
    for i, minutes_of_day in enumerate(week):  # (a name of its own: a type of its own)
        for s, e in minutes_of_day:
            base = i * _DAY_MIN
            spans.append((base + s, base + e))
            spans.append((base + s - _WEEK_MIN, base + e - _WEEK_MIN))
    minutes = sum(e - s for s, e in _merge(spans, 0, _WEEK_MIN))
    return _Compiled(tz, week, days_off, timedelta(minutes=minutes))


def _merge(
    spans: Iterable[tuple[_Point, _Point]], lo: _Point, hi: _Point
) -> list[tuple[_Point, _Point]]:
    """Union of half-open spans clipped to [lo, hi), sorted and disjoint."""
    out: list[tuple[_Point, _Point]] = []
    for s, e in sorted(spans):
        s, e = max(s, lo), min(e, hi)
        if s >= e:
            continue
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


class _Walker:
    """Concrete UTC working intervals for one schedule, memoised per local date."""

    def __init__(self, compiled: _Compiled) -> None:
        self.c = compiled
        self._raw: dict[date, list[tuple[datetime, datetime]]] = {}
        self._midnight: dict[date, datetime] = {}

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.c.tz).date()

    def to_utc(self, d: date, minutes: int) -> datetime:
        # fold=0 plus the UTC conversion resolves a gap time to the instant it would have been
        # under the pre-transition offset, and an ambiguous time to its first occurrence.
        extra, m = divmod(minutes, _DAY_MIN)
        d += timedelta(days=extra)
        local = datetime(d.year, d.month, d.day, m // 60, m % 60, tzinfo=self.c.tz)
        return local.astimezone(UTC)

    def midnight(self, d: date) -> datetime:
        t = self._midnight.get(d)
        if t is None:
            t = self._midnight[d] = self.to_utc(d, 0)
        return t

    def raw(self, d: date) -> list[tuple[datetime, datetime]]:
        """Intervals that start on local date `d`, sorted by start."""
        out = self._raw.get(d)
        if out is None:
            out = []
            if d not in self.c.holidays:
                for s, e in self.c.week[d.weekday()]:
                    us, ue = self.to_utc(d, s), self.to_utc(d, e)
                    if us < ue:
                        out.append((us, ue))
            self._raw[d] = out
        return out

    def union(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
        # An interval starts on its local date and lasts < 48 h, so nothing starting before
        # local_date(a) - 1 can reach `a`; one extra day is slack for offset changes.
        spans: list[tuple[datetime, datetime]] = []
        d, last = self.local_date(a) - 2 * _ONE_DAY, self.local_date(b)
        while d <= last:
            spans.extend(self.raw(d))
            d += _ONE_DAY
        return _merge(spans, a, b)

    def measure(self, a: datetime, b: datetime) -> timedelta:
        return sum((e - s for s, e in self.union(a, b)), _ZERO)

    def week_skippable(self, d: date) -> bool:
        """Whether [midnight(d), midnight(d + 7)) holds exactly `week_total` of business time."""
        holidays = self.c.holidays
        if holidays and any(d + k * _ONE_DAY in holidays for k in range(-1, 7)):
            return False
        # Day d-1 can spill into the window and day d+6 can spill up to d+8, so the offset must
        # be constant over that whole span; comparing successive midnights detects a change
        # (DST transitions never come in pairs within one day).
        prev = self.midnight(d - _ONE_DAY)
        for k in range(0, 9):
            cur = self.midnight(d + k * _ONE_DAY)
            if cur - prev != _ONE_DAY:
                return False
            prev = cur
        return True


def _aware_utc(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return at.astimezone(UTC)


# --------------------------------------------------------------------------- public API


def add_business_seconds(schedule: Schedule, start: datetime, seconds: float) -> datetime:
    start = _aware_utc(start, "start")
    if not seconds == seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError(f"seconds must be finite, got {seconds!r}")
    if seconds < 0:
        raise ValueError(f"seconds must be >= 0, got {seconds!r}")
    remaining = timedelta(seconds=seconds)
    if remaining == _ZERO:
        return start
    if schedule.is_24x7:
        return start + remaining

    c = _compile(schedule)
    if c.week_total == _ZERO:
        raise ValueError("schedule has no working hours")
    w = _Walker(c)
    t = start
    d = w.local_date(start) + _ONE_DAY  # the local date whose midnight ends the current step
    idle = 0
    while True:
        boundary = w.midnight(d)
        got = w.measure(t, boundary)
        if remaining <= got:
            for s, e in w.union(t, boundary):
                if remaining <= e - s:
                    return s + remaining
                remaining -= e - s
            raise AssertionError("unreachable: measured time not found in intervals")
        remaining -= got
        t = boundary
        idle = 0 if got else idle + 1
        if idle > _MAX_IDLE_DAYS:
            raise ValueError("schedule has no working time within ~3 years of the start")
        # Strictly greater, so a budget ending on a week's last interval end is found by the
        # precise walk and returns that end rather than the following midnight.
        while remaining > c.week_total and w.week_skippable(d):
            remaining -= c.week_total
            d += 7 * _ONE_DAY
            t = w.midnight(d)
            idle = 0
        d += _ONE_DAY


def business_seconds_between(schedule: Schedule, start: datetime, end: datetime) -> float:
    start, end = _aware_utc(start, "start"), _aware_utc(end, "end")
    if end <= start:
        return 0.0
    if schedule.is_24x7:
        return (end - start).total_seconds()

    c = _compile(schedule)
    w = _Walker(c)
    total = _ZERO
    t = start
    d = w.local_date(start) + _ONE_DAY
    while True:
        boundary = w.midnight(d)
        if boundary >= end:
            return (total + w.measure(t, end)).total_seconds()
        total += w.measure(t, boundary)
        t = boundary
        while w.midnight(d + 7 * _ONE_DAY) <= end and w.week_skippable(d):
            total += c.week_total
            d += 7 * _ONE_DAY
            t = w.midnight(d)
        d += _ONE_DAY


def next_working_instant(schedule: Schedule, at: datetime) -> datetime:
    at = _aware_utc(at, "at")
    if schedule.is_24x7:
        return at
    c = _compile(schedule)
    if c.week_total == _ZERO:
        raise ValueError("schedule has no working hours")
    w = _Walker(c)
    # Starts are ordered across dates, so the first interval still running after `at`
    # gives the earliest working instant.
    d = w.local_date(at) - 2 * _ONE_DAY
    for _ in range(_MAX_IDLE_DAYS + 3):
        for s, e in w.raw(d):
            if e > at:
                return max(s, at)
        d += _ONE_DAY
    raise ValueError("schedule has no working time within ~3 years")


def is_working(schedule: Schedule, at: datetime) -> bool:
    at = _aware_utc(at, "at")
    if schedule.is_24x7:
        return True
    w = _Walker(_compile(schedule))
    last = w.local_date(at)
    d = last - 2 * _ONE_DAY
    while d <= last:
        if any(s <= at < e for s, e in w.raw(d)):
            return True
        d += _ONE_DAY
    return False
