"""Tests for workflows.calendar: hand-checked cases, validation and Hypothesis properties."""

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.calendar import (
    DAYS,
    Schedule,
    add_business_seconds,
    business_seconds_between,
    is_working,
    next_working_instant,
    validate_schedule,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
OFFICE = {d: [("09:00", "17:00")] for d in WEEKDAYS}
LUNCH = {d: [("09:00", "12:00"), ("13:00", "17:00")] for d in WEEKDAYS}
NIGHTS = {d: [("22:00", "06:00")] for d in WEEKDAYS}
SUNDAY_ALL_DAY = {"sun": [("00:00", "24:00")]}
HOUR = 3600


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


# --------------------------------------------------------------------------- hand-checked table

CASES = [
    pytest.param(
        Schedule("Europe/London", OFFICE),
        local("Europe/London", 2026, 1, 9, 16, 30),  # Friday
        2 * HOUR,
        local("Europe/London", 2026, 1, 12, 10, 30),
        id="friday-afternoon-to-monday",
    ),
    pytest.param(
        Schedule("Europe/London", OFFICE, ("2026-01-12",)),
        local("Europe/London", 2026, 1, 9, 16, 30),
        2 * HOUR,
        local("Europe/London", 2026, 1, 13, 10, 30),
        id="holiday-monday-to-tuesday",
    ),
    pytest.param(
        Schedule("UTC", OFFICE),
        local("UTC", 2026, 1, 12, 9, 0),
        8 * HOUR,
        local("UTC", 2026, 1, 12, 17, 0),
        id="budget-ends-on-interval-end",
    ),
    pytest.param(
        Schedule("Europe/London", LUNCH),
        local("Europe/London", 2026, 1, 12, 11, 30),
        1 * HOUR,
        local("Europe/London", 2026, 1, 12, 13, 30),
        id="lunch-break",
    ),
    pytest.param(
        Schedule("Europe/London", NIGHTS),
        local("Europe/London", 2026, 1, 12, 23, 0),  # Monday
        2 * HOUR,
        local("Europe/London", 2026, 1, 13, 1, 0),
        id="night-shift-across-midnight",
    ),
    pytest.param(
        Schedule("Europe/London", NIGHTS),
        local("Europe/London", 2026, 1, 13, 5, 0),  # Tuesday, tail of Monday's shift
        2 * HOUR,
        local("Europe/London", 2026, 1, 13, 23, 0),
        id="night-shift-tail-then-next-night",
    ),
    pytest.param(
        Schedule("Europe/London", NIGHTS, ("2026-01-13",)),
        local("Europe/London", 2026, 1, 13, 5, 0),
        2 * HOUR,
        local("Europe/London", 2026, 1, 14, 23, 0),
        id="holiday-removes-shift-starting-that-day-only",
    ),
    pytest.param(
        Schedule("Europe/London", OFFICE, ("2026-01-01",)),
        local("Europe/London", 2025, 12, 31, 16, 0),  # Wednesday
        2 * HOUR,
        local("Europe/London", 2026, 1, 2, 10, 0),
        id="year-end-with-new-year-holiday",
    ),
    pytest.param(
        Schedule("America/New_York", SUNDAY_ALL_DAY),
        local("America/New_York", 2026, 3, 8, 0, 0),
        23 * HOUR,  # the whole local day: business time is real elapsed time
        local("America/New_York", 2026, 3, 9, 0, 0),
        id="new-york-spring-forward-day",
    ),
    pytest.param(
        Schedule("America/New_York", SUNDAY_ALL_DAY),
        local("America/New_York", 2026, 11, 1, 0, 0),
        25 * HOUR,  # the whole local day: business time is real elapsed time
        local("America/New_York", 2026, 11, 2, 0, 0),
        id="new-york-fall-back-day",
    ),
    pytest.param(
        Schedule("Europe/Berlin", SUNDAY_ALL_DAY),
        local("Europe/Berlin", 2026, 3, 29, 0, 0),
        23 * HOUR,  # the whole local day: business time is real elapsed time
        local("Europe/Berlin", 2026, 3, 30, 0, 0),
        id="berlin-spring-forward-day",
    ),
    pytest.param(
        Schedule("Europe/Berlin", SUNDAY_ALL_DAY),
        local("Europe/Berlin", 2026, 10, 25, 0, 0),
        25 * HOUR,  # the whole local day: business time is real elapsed time
        local("Europe/Berlin", 2026, 10, 26, 0, 0),
        id="berlin-fall-back-day",
    ),
    pytest.param(
        Schedule("America/New_York", {"sun": [("09:00", "17:00")]}),
        local("America/New_York", 2026, 3, 8, 9, 0),
        8 * HOUR,
        local("America/New_York", 2026, 3, 8, 17, 0),
        id="eight-hour-day-on-dst-day",
    ),
    pytest.param(
        Schedule(),
        datetime(2026, 3, 8, 1, 30, tzinfo=UTC),
        3600,
        datetime(2026, 3, 8, 2, 30, tzinfo=UTC),
        id="24x7",
    ),
]


@pytest.mark.parametrize(("schedule", "start", "seconds", "expected"), CASES)
def test_hand_checked(schedule, start, seconds, expected):
    result = add_business_seconds(schedule, start, seconds)
    assert result == expected
    assert result.tzinfo is UTC
    assert business_seconds_between(schedule, start, result) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize(
    ("zone", "day", "real_hours"),
    [
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
        ("Europe/Berlin", date(2026, 3, 29), 23),
        ("Europe/Berlin", date(2026, 10, 25), 25),
    ],
)
def test_all_day_schedule_on_dst_day_is_real_hours(zone, day, real_hours):
    schedule = Schedule(zone, SUNDAY_ALL_DAY)
    start = local(zone, day.year, day.month, day.day)
    monday = start + timedelta(days=1)  # wall-clock arithmetic: Monday 00:00 local
    # Same-zone subtraction is wall-clock too, so measure the real gap in UTC.
    assert monday.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=real_hours)
    # A business second is a real second, so the whole local day holds 23 or 25 of them.
    assert business_seconds_between(schedule, start, monday) == real_hours * HOUR
    assert add_business_seconds(schedule, start, real_hours * HOUR) == monday
    # Hence a nominal "24 hours" is not the same as "the rest of the local day".
    after_24h = add_business_seconds(schedule, start, 24 * HOUR)
    if real_hours == 23:
        assert after_24h == start + timedelta(days=7, hours=1)  # next Sunday 01:00 local
    else:
        assert after_24h == monday - timedelta(hours=1)  # Sunday 23:00 local


def test_interval_starting_in_spring_gap():
    # 02:30 does not exist on 2026-03-08 in New York; fold=0 reads it as 02:30 EST = 03:30 EDT.
    schedule = Schedule("America/New_York", {"sun": [("02:30", "04:00")]})
    day_start = local("America/New_York", 2026, 3, 8)
    day_end = local("America/New_York", 2026, 3, 9)
    assert business_seconds_between(schedule, day_start, day_end) == 1800
    assert next_working_instant(schedule, day_start) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_zero_seconds_returns_start_in_utc():
    start = local("Europe/Berlin", 2026, 1, 10, 3, 0)  # Saturday night, not working
    result = add_business_seconds(Schedule("Europe/Berlin", OFFICE), start, 0)
    assert result == start
    assert result.tzinfo is UTC


def test_negative_seconds_rejected():
    with pytest.raises(ValueError):
        add_business_seconds(Schedule(), datetime(2026, 1, 1, tzinfo=UTC), -1)


def test_naive_datetime_rejected():
    with pytest.raises(ValueError):
        is_working(Schedule("UTC", OFFICE), datetime(2026, 1, 1))


@pytest.mark.parametrize("hours", [{}, {d: [] for d in DAYS}])
def test_schedule_without_hours_raises(hours):
    schedule = Schedule("UTC", hours)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        add_business_seconds(schedule, start, 1)
    with pytest.raises(ValueError):
        next_working_instant(schedule, start)
    assert not is_working(schedule, start)
    assert business_seconds_between(schedule, start, start + timedelta(days=30)) == 0


def test_every_working_day_a_holiday_terminates():
    first_monday = date(2026, 1, 5)
    mondays = tuple((first_monday + timedelta(weeks=k)).isoformat() for k in range(52 * 5))
    schedule = Schedule("UTC", {"mon": [("09:00", "17:00")]}, mondays)
    with pytest.raises(ValueError):
        add_business_seconds(schedule, datetime(2026, 1, 1, tzinfo=UTC), 1)
    with pytest.raises(ValueError):
        next_working_instant(schedule, datetime(2026, 1, 1, tzinfo=UTC))


def test_ten_thousand_business_hours_is_fast():
    schedule = Schedule("Europe/Berlin", LUNCH, ("2026-12-25", "2027-01-01", "2028-05-01"))
    start = local("Europe/Berlin", 2026, 2, 3, 10, 15)
    t0 = time.perf_counter()
    end = add_business_seconds(schedule, start, 10_000 * HOUR)
    elapsed = time.perf_counter() - t0
    assert business_seconds_between(schedule, start, end) == 10_000 * HOUR
    assert elapsed < 0.5  # generous for slow CI; typically a few milliseconds


def test_next_working_instant_and_is_working():
    schedule = Schedule("Europe/London", LUNCH)
    inside = local("Europe/London", 2026, 1, 12, 10, 0)
    assert is_working(schedule, inside)
    assert next_working_instant(schedule, inside) == inside
    lunch = local("Europe/London", 2026, 1, 12, 12, 30)
    assert not is_working(schedule, lunch)
    assert next_working_instant(schedule, lunch) == local("Europe/London", 2026, 1, 12, 13, 0)
    saturday = local("Europe/London", 2026, 1, 10, 12, 0)
    assert next_working_instant(schedule, saturday) == local("Europe/London", 2026, 1, 12, 9, 0)
    # An interval end is exclusive.
    assert not is_working(schedule, local("Europe/London", 2026, 1, 12, 17, 0))


def test_24x7_with_holidays_stops_the_clock():
    schedule = Schedule("UTC", None, ("2026-01-02",))
    assert not schedule.is_24x7
    start = datetime(2026, 1, 1, 23, 0, tzinfo=UTC)
    assert add_business_seconds(schedule, start, 2 * HOUR) == datetime(2026, 1, 3, 1, tzinfo=UTC)


def test_dict_round_trip():
    d = {
        "timezone": "Europe/Berlin",
        "hours": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "tue": [["22:00", "06:00"]]},
        "holidays": ["2026-12-25"],
    }
    schedule = Schedule.from_dict(d)
    assert schedule.hours == {
        "mon": [("09:00", "12:00"), ("13:00", "17:00")],
        "tue": [("22:00", "06:00")],
    }
    assert schedule.to_dict() == d
    assert Schedule.from_dict(schedule.to_dict()) == schedule
    assert Schedule.from_dict(None) == Schedule()
    assert Schedule.from_dict(None).is_24x7


# --------------------------------------------------------------------------- validation


def test_validate_accepts_normal_schedule():
    d = {
        "timezone": "Europe/London",
        "hours": {
            "mon": [["09:00", "12:00"], ["13:00", "17:00"]],
            "fri": [["09:00", "24:00"]],
            "sat": [["22:00", "06:00"]],
            "sun": [["06:00", "10:00"]],  # adjacent to Saturday's night shift
        },
        "holidays": ["2026-12-25", "2026-12-26"],
    }
    assert validate_schedule(d) == []
    assert validate_schedule({"timezone": "UTC"}) == []


@pytest.mark.parametrize(
    ("d", "needle"),
    [
        ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ({"timezone": "America"}, "America"),
        ({"hours": {"funday": [["09:00", "17:00"]]}}, "funday"),
        ({"hours": {"mon": [["09:00", "25:00"]]}}, "25:00"),
        ({"hours": {"mon": [["9:00", "17:00"]]}}, "9:00"),
        ({"hours": {"mon": [["24:00", "06:00"]]}}, "24:00"),
        ({"hours": {"mon": [["09:00", "09:00"]]}}, "start equals end"),
        ({"hours": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}}, "overlaps"),
        ({"hours": {"mon": [["22:00", "06:00"]], "tue": [["05:00", "09:00"]]}}, "overlaps"),
        ({"hours": {"sun": [["22:00", "06:00"]], "mon": [["05:00", "09:00"]]}}, "overlaps"),
        ({"holidays": ["2026-13-01"]}, "2026-13-01"),
        ({"holidays": ["20261225"]}, "20261225"),
    ],
)
def test_validate_rejects(d, needle):
    problems = validate_schedule(d)
    assert problems, d
    assert any(needle in p for p in problems), problems


# --------------------------------------------------------------------------- properties

ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney"]
FIXED_HOURS = [
    None,
    OFFICE,
    LUNCH,
    NIGHTS,
    SUNDAY_ALL_DAY,
    {d: [("00:00", "24:00")] for d in DAYS},
    # Straddles the 02:00/03:00 transitions of New York, Berlin and Sydney.
    {"sat": [("23:00", "02:30")], "sun": [("01:30", "03:30")]},
    {"mon": [("08:00", "08:15")]},  # sparse: 200 h spans years, exercising week skipping
]
# Anchors near DST transitions of the listed zones and the year ends.
SPECIAL_DAYS = [
    datetime(2026, 3, 8),
    datetime(2026, 11, 1),
    datetime(2027, 3, 14),
    datetime(2027, 11, 7),
    datetime(2026, 3, 29),
    datetime(2026, 10, 25),
    datetime(2027, 3, 28),
    datetime(2027, 10, 31),
    datetime(2026, 4, 5),
    datetime(2026, 10, 4),
    datetime(2027, 4, 4),
    datetime(2027, 10, 3),
    datetime(2026, 12, 31),
    datetime(2027, 12, 31),
]
RANGE_START = datetime(2026, 1, 1, tzinfo=UTC)
RANGE_MINUTES = 2 * 365 * 24 * 60


def fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def generated_hours(draw):
    hours = {}
    for day in draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True)):
        k = draw(st.integers(1, 2))
        marks = sorted(
            draw(st.lists(st.integers(0, 96), min_size=2 * k, max_size=2 * k, unique=True))
        )
        intervals = [(fmt(marks[2 * i] * 15), fmt(marks[2 * i + 1] * 15)) for i in range(k)]
        if marks[-1] < 96 and draw(st.booleans()):
            # Starts after the day's last interval; ends next morning (end <= start).
            cross_start = draw(st.integers(marks[-1], 95))
            cross_end = draw(st.integers(0, cross_start - 1))
            intervals.append((fmt(cross_start * 15), fmt(cross_end * 15)))
        hours[day] = intervals
    return hours


instants = st.one_of(
    st.integers(0, RANGE_MINUTES).map(lambda m: RANGE_START + timedelta(minutes=m)),
    st.builds(
        lambda anchor, m: anchor.replace(tzinfo=UTC) + timedelta(minutes=m),
        st.sampled_from(SPECIAL_DAYS),
        st.integers(-3 * 24 * 60, 3 * 24 * 60),
    ),
)


@st.composite
def schedule_and_start(draw):
    zone = draw(st.sampled_from(ZONES))
    hours = draw(st.one_of(st.sampled_from(FIXED_HOURS), generated_hours()))
    start = draw(instants)
    local_start = start.astimezone(ZoneInfo(zone)).date()
    offsets = draw(st.lists(st.integers(-3, 30), max_size=8, unique=True))
    holidays = tuple((local_start + timedelta(days=o)).isoformat() for o in offsets)
    return Schedule(zone, hours, holidays), start


durations = st.integers(0, 200 * HOUR)
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def reference_seconds(schedule: Schedule, a: datetime, b: datetime) -> float:
    """Independent, unoptimised reading of the semantics: no week skipping, no caching."""
    tz = ZoneInfo(schedule.timezone)
    hours = schedule.hours or {d: [("00:00", "24:00")] for d in DAYS}
    holidays = {date.fromisoformat(h) for h in schedule.holidays}

    def minutes(text: str) -> int:
        return int(text[:2]) * 60 + int(text[3:])

    def to_utc(day: date, m: int) -> datetime:
        day += timedelta(days=m // 1440)
        m %= 1440
        return datetime(day.year, day.month, day.day, m // 60, m % 60, tzinfo=tz).astimezone(UTC)

    spans = []
    day = a.astimezone(tz).date() - timedelta(days=2)
    while day <= b.astimezone(tz).date():
        if day not in holidays:
            for s_text, e_text in hours.get(DAYS[day.weekday()], []):
                s, e = minutes(s_text), minutes(e_text)
                if e <= s:
                    e += 1440
                spans.append((max(to_utc(day, s), a), min(to_utc(day, e), b)))
        day += timedelta(days=1)
    total, reach = timedelta(0), a
    for s, e in sorted(spans):
        s = max(s, reach)
        if e > s:
            total += e - s
            reach = e
    return total.total_seconds()


def covering_shift_day(schedule: Schedule, at: datetime) -> date | None:
    """Local date on which the configured interval containing `at` starts, if any."""
    tz = ZoneInfo(schedule.timezone)
    hours = schedule.hours or {d: [("00:00", "24:00")] for d in DAYS}
    today = at.astimezone(tz).date()
    for day in (today - timedelta(days=1), today):
        for s_text, e_text in hours.get(DAYS[day.weekday()], []):
            s = int(s_text[:2]) * 60 + int(s_text[3:])
            e = int(e_text[:2]) * 60 + int(e_text[3:])
            if e <= s:
                e += 1440
            start = datetime.combine(day, datetime.min.time(), tzinfo=tz) + timedelta(minutes=s)
            end_day = day + timedelta(days=e // 1440)
            end = datetime.combine(end_day, datetime.min.time(), tzinfo=tz) + timedelta(
                minutes=e % 1440
            )
            if start.astimezone(UTC) <= at < end.astimezone(UTC) and (
                day.isoformat() not in schedule.holidays
            ):
                return day
    return None


def crosses_midnight(schedule: Schedule) -> bool:
    return any(e != "24:00" and e <= s for ivs in (schedule.hours or {}).values() for s, e in ivs)


@PROPERTY_SETTINGS
@given(schedule_and_start(), st.one_of(durations, st.floats(0, 200 * HOUR)))
def test_round_trip(case, seconds):
    schedule, start = case
    end = add_business_seconds(schedule, start, seconds)
    assert end >= start
    assert business_seconds_between(schedule, start, end) == pytest.approx(seconds, abs=1e-6)


@PROPERTY_SETTINGS
@given(schedule_and_start(), st.integers(1, 200 * HOUR))
def test_result_is_inside_working_time(case, seconds):
    schedule, start = case
    last_second = add_business_seconds(schedule, start, seconds) - timedelta(seconds=1)
    assert is_working(schedule, last_second)
    assert covering_shift_day(schedule, last_second) is not None
    if not crosses_midnight(schedule):
        local_day = last_second.astimezone(ZoneInfo(schedule.timezone)).date()
        assert local_day.isoformat() not in schedule.holidays


@PROPERTY_SETTINGS
@given(schedule_and_start(), durations, durations)
def test_monotonic(case, n1, n2):
    schedule, start = case
    n1, n2 = sorted((n1, n2))
    assert add_business_seconds(schedule, start, n1) <= add_business_seconds(schedule, start, n2)


@PROPERTY_SETTINGS
@given(schedule_and_start(), st.integers(0, 40 * 24 * 60), st.integers(0, 40 * 24 * 60))
def test_between_is_additive_and_matches_reference(case, gap1, gap2):
    schedule, a = case
    b = a + timedelta(minutes=gap1)
    c = b + timedelta(minutes=gap2)
    ab = business_seconds_between(schedule, a, b)
    bc = business_seconds_between(schedule, b, c)
    ac = business_seconds_between(schedule, a, c)
    assert ab + bc == pytest.approx(ac, abs=1e-6)
    assert ac == pytest.approx(reference_seconds(schedule, a, c), abs=1e-6)
    assert business_seconds_between(schedule, c, a) == 0


@PROPERTY_SETTINGS
@given(schedule_and_start())
def test_next_working_instant_is_working(case):
    schedule, at = case
    nxt = next_working_instant(schedule, at)
    assert nxt >= at
    assert is_working(schedule, nxt)
    assert is_working(schedule, at) == (nxt == at)
    # Nothing between `at` and the next working instant counts as business time.
    assert business_seconds_between(schedule, at, nxt) == 0


def test_a_schedule_is_compiled_once_and_answers_the_same():
    """Every SLA view and deadline compiles its schedule: equal schedules share one
    compilation (memoised on their fields), and a schedule whose fields cannot be hashed
    is compiled all the same."""
    from workflows import calendar

    calendar._compile_fields.cache_clear()
    start = local("Europe/Berlin", 2026, 12, 23, 16, 0)
    a = Schedule.from_dict(
        {"timezone": "Europe/Berlin", "hours": OFFICE, "holidays": ["2026-12-24"]}
    )
    b = Schedule.from_dict(
        {"timezone": "Europe/Berlin", "hours": OFFICE, "holidays": ["2026-12-24"]}
    )
    first = add_business_seconds(a, start, 2 * HOUR)
    assert add_business_seconds(b, start, 2 * HOUR) == first
    assert calendar._compile_fields.cache_info().currsize == 1
    assert calendar._compile_fields.cache_info().hits >= 1
    unhashable = Schedule(timezone="Europe/Berlin", hours=OFFICE, holidays=["2026-12-24"])  # type: ignore[arg-type]
    assert add_business_seconds(unhashable, start, 2 * HOUR) == first
    assert first == local("Europe/Berlin", 2026, 12, 25, 10, 0)  # Thu 24th off, Fri 25th 9-10
