"""Business time since SLA clocks' `as_of`, cheap enough to bring every clock of a list of
cases up to now.

Business time adds up: from `a` to `now` it is B(now) - B(a), where B(t) is the business time
from an anchor to t (negative before it). B(a) of a clock's `as_of` stays the same until the
workflow writes the clock again, so it is kept, per schedule and instant; B(now) is one
calendar walk per schedule and `now`. The anchor is the start of the current UTC day: when the
day turns (or `size` values are kept), everything kept is dropped, so no walk spans much more
than a day and the age of a clock."""

from datetime import UTC, datetime

from workflows.calendar import Schedule, business_seconds_between


class BusinessTime:
    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self.anchor: datetime | None = None
        self.kept: dict[tuple[str, str], float] = {}  # (schedule, as_of) -> B(as_of)
        self.schedules: dict[str, Schedule] = {}
        self.now: datetime | None = None
        self.at_now: dict[str, float] = {}  # schedule -> B(self.now)

    def since(self, schedule: dict | None, as_of: str, now: datetime) -> float:
        """Business seconds from `as_of` (RFC 3339) to `now` (aware) under `schedule` (as the
        workflow writes it; None is round the clock); 0 when `as_of` is not before `now`."""
        anchor = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if anchor != self.anchor or len(self.kept) >= self.size:
            self.anchor, self.kept, self.schedules, self.now = anchor, {}, {}, None
        if now != self.now:
            self.now, self.at_now = now, {}
        key = repr(schedule)  # the same schedule reads back as the same dict (JSONB key order)
        calendar = self.schedules.get(key)
        if calendar is None:
            calendar = self.schedules[key] = Schedule.from_dict(schedule)
        at_now = self.at_now.get(key)
        if at_now is None:
            at_now = self.at_now[key] = self._from_anchor(calendar, now)
        then = self.kept.get((key, as_of))
        if then is None:
            then = self._from_anchor(calendar, datetime.fromisoformat(as_of))
            self.kept[(key, as_of)] = then
        return max(0.0, at_now - then)

    def _from_anchor(self, calendar: Schedule, at: datetime) -> float:
        if at >= self.anchor:
            return business_seconds_between(calendar, self.anchor, at)
        return -business_seconds_between(calendar, at, self.anchor)
