"""Service metric schemas: SLA attainment, first-contact resolution, reopen rate, median
times, backlog, CSAT and the first-time-fix rate, each over a [since, until) window."""

import uuid
from datetime import date
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator

from api.schemas.strict import Rfc3339


def _not_a_number(value):
    """Rfc3339 lets "-8285799" through (it has a dash) and pydantic reads it as a Unix time:
    a window's edge is a date-time, never a number."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("must be an RFC 3339 date-time, e.g. 2026-11-26T09:00:00Z")
    return value


Edge = Annotated[Rfc3339, BeforeValidator(_not_a_number)]  # since or until of a window


class FirstTimeFix(BaseModel):
    """Work orders completed in the window, those fixed, and those fixed the first time (no follow-
    up within window_days)."""

    completed: int
    fixed: int
    first_time_fixed: int
    rate: float | None  # first_time_fixed / completed; None when nothing was completed
    window_days: int
    since: AwareDatetime | None
    until: AwareDatetime | None


class Ratio(BaseModel):
    """How many meet the metric, of how many it is taken over, and the rate."""

    count: int  # the cases (or clocks) that meet the metric
    of: int  # the cases (or clocks) it is taken over
    rate: float | None  # count / of; None when `of` is 0


class WeekRatio(Ratio):
    """The ratio over one week (starting on its Monday, UTC)."""

    week: date  # the Monday (UTC) the week starts on


class PriorityRatio(Ratio):
    """The ratio over the cases of one priority."""

    priority: int


class Windowed(BaseModel):
    since: AwareDatetime
    until: AwareDatetime


class RatioSeries(Windowed):
    """A ratio over the window, and week by week."""

    total: Ratio
    by_week: list[WeekRatio]


class Attainment(RatioSeries):
    """SLA clocks met (stopped without a breach) of those decided, over the window, by week and by
    priority."""

    by_priority: list[PriorityRatio]


class Median(BaseModel):
    """A median duration in seconds (null when there is nothing to measure), and how many it is
    taken over."""

    seconds: float | None  # the median; None when there is nothing to measure
    count: int


class WeekMedian(Median):
    """The median over one week."""

    week: date


class MedianSeries(Windowed):
    """A median over the window, and week by week."""

    total: Median
    by_week: list[WeekMedian]


class BacklogPoint(BaseModel):
    """Open cases at one instant."""

    at: AwareDatetime
    open: int


class Backlog(Windowed):
    """Open cases at the end of each day or week of the window."""

    bucket: str  # day | week
    points: list[BacklogPoint]


class Score(BaseModel):
    """An average satisfaction score (1 to 5) and how many answers it is taken over."""

    average: float | None
    count: int


class WeekScore(Score):
    """The average score over one week."""

    week: date


class Csat(Windowed):
    """Customer satisfaction over the window: the average, answers per score, and week by week."""

    total: Score
    by_score: dict[int, int]  # answers per score 1-5
    by_week: list[WeekScore]


class Summary(Windowed):
    """Every service metric over one window."""

    sla_attainment: Attainment
    first_contact_resolution: RatioSeries
    reopen_rate: RatioSeries
    first_response: MedianSeries
    resolution: MedianSeries
    backlog: Backlog
    csat: Csat
    first_time_fix: FirstTimeFix
    deflection: RatioSeries | None = None  # deflections of (deflections + portal cases)


class HealthFactor(BaseModel):
    """One input of an account's health score: its value, the points it took off, and why."""

    name: str  # volume_trend | sla_attainment | csat | reopen_rate | open_major_cases
    value: float | None  # growth, rate, average or count; None without data
    penalty: float  # points taken off the 100 (at most the input's weight)
    reason: str


class AccountHealth(BaseModel):
    """An account's customer-health score (0-100; api/services/health_score.py) with reasons."""

    account_id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    score: int
    band: str  # healthy (>= 80) | watch (>= 60) | at_risk
    reasons: list[str]  # the inputs that took points off, heaviest first
    factors: list[HealthFactor]


class AccountHealthList(Windowed):
    """Accounts by health, most at risk (lowest score) first, over [since, until)."""

    items: list[AccountHealth]
    next_cursor: str | None
