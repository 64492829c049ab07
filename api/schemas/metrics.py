"""Service metric schemas: the first-time-fix rate."""

from pydantic import AwareDatetime, BaseModel


class FirstTimeFix(BaseModel):
    completed: int
    fixed: int
    first_time_fixed: int
    rate: float | None  # first_time_fixed / completed; None when nothing was completed
    window_days: int
    since: AwareDatetime | None
    until: AwareDatetime | None
