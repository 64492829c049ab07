"""SLA clocks: elapsed business time with pause, resume, stop, warnings and breach (pure)."""

from dataclasses import dataclass, field
from datetime import datetime

from workflows.calendar import Schedule, add_business_seconds, business_seconds_between
from workflows.types import SlaSpec

BREACH = 1.0


def parse(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts) if ts else None


@dataclass
class SlaClock:
    spec: SlaSpec
    elapsed_seconds: float = 0.0  # business seconds accumulated before `running_since`
    running_since: str | None = None
    started: bool = False
    paused: bool = False
    stopped: bool = False
    warned: list[float] = field(default_factory=list)
    breached: bool = False

    @property
    def schedule(self) -> Schedule:
        return Schedule.from_dict(self.spec.schedule)

    @property
    def running(self) -> bool:
        return self.running_since is not None


def elapsed(clock: SlaClock, now: datetime) -> float:
    if not clock.running:
        return clock.elapsed_seconds
    since = parse(clock.running_since)
    return clock.elapsed_seconds + business_seconds_between(clock.schedule, since, now)


def start(clock: SlaClock, now: datetime) -> None:
    clock.started = True
    clock.stopped = False
    clock.paused = False
    clock.running_since = now.isoformat()


def pause(clock: SlaClock, now: datetime) -> None:
    if clock.running:
        clock.elapsed_seconds = elapsed(clock, now)
        clock.running_since = None
        clock.paused = True


def resume(clock: SlaClock, now: datetime) -> None:
    if clock.paused and not clock.stopped:
        clock.paused = False
        clock.running_since = now.isoformat()


def stop(clock: SlaClock, now: datetime) -> None:
    if clock.running:
        clock.elapsed_seconds = elapsed(clock, now)
    clock.running_since = None
    clock.paused = False
    clock.stopped = True


def follow_state(clock: SlaClock, state: str, now: datetime) -> None:
    """Pause while the case is in one of the clock's pause states, run otherwise."""
    if clock.stopped or not clock.started:
        return
    if state in clock.spec.pause_on:
        pause(clock, now)
    else:
        resume(clock, now)


def instant_of(clock: SlaClock, fraction: float, now: datetime) -> datetime:
    """When a running clock reaches `fraction` of its target (now, if already past it)."""
    budget = fraction * clock.spec.duration_seconds - clock.elapsed_seconds
    if budget <= 0:
        return now
    return add_business_seconds(clock.schedule, parse(clock.running_since), budget)


def thresholds(clock: SlaClock) -> list[float]:
    """Warning and breach fractions not yet fired, in order."""
    pending = [w for w in sorted(set(clock.spec.warn_at)) if 0 < w < BREACH]
    pending = [w for w in pending if w not in clock.warned]
    if not clock.breached:
        pending.append(BREACH)
    return pending


def next_threshold(clock: SlaClock, now: datetime) -> tuple[datetime, float] | None:
    if not clock.running:
        return None
    pending = thresholds(clock)
    if not pending:
        return None
    return instant_of(clock, pending[0], now), pending[0]


def due_at(clock: SlaClock, now: datetime) -> datetime | None:
    return instant_of(clock, BREACH, now) if clock.running else None


def remaining_seconds(clock: SlaClock, now: datetime) -> float:
    return clock.spec.duration_seconds - elapsed(clock, now)


def view(clock: SlaClock, now: datetime) -> dict:
    """What the case view shows; `schedule` and `as_of` let readers recompute `remaining`."""
    due = due_at(clock, now)
    return {
        "definition_id": clock.spec.definition_id,
        "name": clock.spec.name,
        "kind": clock.spec.kind,
        "due_at": due.isoformat() if due else None,
        "remaining_seconds": round(remaining_seconds(clock, now)),
        "paused": clock.paused,
        "warned": bool(clock.warned),
        "breached": clock.breached,
        "stopped": clock.stopped,
        "running": clock.running,
        "as_of": now.isoformat(),
        "schedule": clock.spec.schedule,
    }
