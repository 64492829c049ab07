"""api.business_time answers what workflows.calendar answers, from whatever it kept before."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.business_time import BusinessTime
from workflows.calendar import Schedule, business_seconds_between

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
SCHEDULES = [
    None,
    {"timezone": "UTC", "hours": None, "holidays": ["2026-12-25"]},
    {
        "timezone": "Europe/Berlin",
        "hours": {d: [["09:00", "17:00"]] for d in WEEKDAYS},
        "holidays": ["2026-12-25", "2026-12-26"],
    },
    {
        "timezone": "America/New_York",
        "hours": {d: [["22:00", "06:00"]] for d in WEEKDAYS},
        "holidays": ["2026-11-26"],
    },
    {
        "timezone": "Australia/Lord_Howe",  # a half-hour DST shift
        "hours": {d: [["09:00", "12:00"], ["13:00", "17:30"]] for d in WEEKDAYS},
        "holidays": [],
    },
]
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
SHARED = BusinessTime(size=50)  # one instance across examples: kept values and re-anchoring


def clock(schedule: dict | None, as_of: datetime, definition: str = "d1") -> dict:
    return {"definition_id": definition, "as_of": as_of.isoformat(), "schedule": schedule}


def expected(schedule: dict | None, as_of: datetime, now: datetime) -> float:
    return business_seconds_between(Schedule.from_dict(schedule), as_of, now)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(SCHEDULES),
    instants,
    st.lists(st.timedeltas(timedelta(days=-3), timedelta(days=40)), min_size=1, max_size=4),
)
def test_since_equals_the_calendar(schedule, as_of, steps):
    for step in steps:  # the same clock read again later, as repeated views do
        now = as_of + step
        got = SHARED.since(clock(schedule, as_of), now)
        assert got == pytest.approx(expected(schedule, as_of, now), abs=1e-6)


def test_clocks_of_one_schedule_share_the_walk_to_now():
    times = BusinessTime()
    now = datetime(2026, 11, 26, 15, tzinfo=UTC)
    office = SCHEDULES[2]
    for hours_ago in (1, 2, 30):
        as_of = now - timedelta(hours=hours_ago)
        mine = times.since(clock(office, as_of, "d1"), now)
        assert times.since(clock(dict(office), as_of, "d2"), now) == mine
    assert len(times.at_now) == 1 and len(times.kept) == 3


def test_a_definition_whose_schedule_changed_is_measured_by_the_new_one():
    times = BusinessTime()
    as_of, now = datetime(2026, 11, 26, 8, tzinfo=UTC), datetime(2026, 11, 26, 20, tzinfo=UTC)
    assert times.since(clock(None, as_of), now) == 12 * 3600
    assert times.since(clock(SCHEDULES[2], as_of), now) == 8 * 3600  # 9:00-17:00 Berlin


def test_a_new_day_drops_what_was_kept():
    times = BusinessTime()
    as_of = datetime(2026, 11, 26, 8, tzinfo=UTC)
    times.since(clock(None, as_of), as_of + timedelta(hours=1))
    times.since(clock(None, as_of), as_of + timedelta(days=1))
    assert times.anchor == datetime(2026, 11, 27, tzinfo=UTC) and len(times.kept) == 1
