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
    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self.anchor: datetime | None = None
        self.now: datetime | None = None
        self._forget()

    def since(self, clock: dict, now: datetime) -> float:
        """Business seconds from `clock`'s `as_of` to `now` (aware), under its schedule; 0
        when `as_of` is not before `now`. `clock` is an SLA entry as the workflow writes it
        (`as_of` in RFC 3339, `schedule` a dict, or None for round the clock)."""
        if now != self.now:
            anchor = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            if anchor != self.anchor or len(self.kept) >= self.size:
                self.anchor = anchor
                self._forget()
            self.now, self.at_now = now, {}
        key = self._key(clock)
        at_now = self.at_now.get(key)
        if at_now is None:
            at_now = self.at_now[key] = self._from_anchor(key, now)
        as_of = clock["as_of"]
        then = self.kept.get((key, as_of))
        if then is None:
            then = self.kept[(key, as_of)] = self._from_anchor(key, datetime.fromisoformat(as_of))
        return max(0.0, at_now - then)

    def _forget(self) -> None:
        self.kept: dict[tuple[str, str], float] = {}  # (schedule key, as_of) -> B(as_of)
        self.calendars: dict[str, Schedule] = {}  # schedule key -> its calendar
        self.keys: dict[str, tuple[dict | None, str]] = {}  # definition -> (schedule, key)
        self.at_now: dict[str, float] = {}  # schedule key -> B(self.now)

    def _key(self, clock: dict) -> str:
        """The schedule as text; a definition's clocks mostly share one schedule, so an
        equality test usually replaces writing the text again."""
        schedule, definition = clock.get("schedule"), clock.get("definition_id")
        known = self.keys.get(definition)
        if known is None or known[0] != schedule:
            known = self.keys[definition] = (schedule, repr(schedule))
            if known[1] not in self.calendars:
                self.calendars[known[1]] = Schedule.from_dict(schedule)
        return known[1]

    def _from_anchor(self, key: str, at: datetime) -> float:
        calendar = self.calendars[key]
        if at >= self.anchor:
            return business_seconds_between(calendar, self.anchor, at)
        return -business_seconds_between(calendar, at, self.anchor)
