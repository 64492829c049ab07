"""SLA clocks: elapsed business time with pause, resume, stop, warnings and breach (pure)."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast, overload

from workflows.calendar import Schedule, add_business_seconds, business_seconds_between
from workflows.types import Notify, SlaSpec

BREACH = 1.0


@overload
def parse(ts: str) -> datetime: ...
@overload
def parse(ts: str | None) -> datetime | None: ...
def parse(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts) if ts else None


@dataclass
class SlaClock:
    """One SLA target on one case.

    The clock keeps every stretch it ran (`intervals`), not just a total, so a changed
    schedule or target re-times it from the case's own history of pauses.
    """

    spec: SlaSpec
    elapsed_seconds: float = 0.0  # business seconds in `intervals`, under `spec.schedule`
    running_since: str | None = None
    intervals: list[list[str]] = field(default_factory=list)  # closed [start, end] stretches
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
    since = parse(cast(str, clock.running_since))  # running: it has a start
    return clock.elapsed_seconds + business_seconds_between(clock.schedule, since, now)


def start(clock: SlaClock, now: datetime) -> None:
    clock.started = True
    clock.stopped = False
    clock.paused = False
    clock.running_since = now.isoformat()


def _close_stretch(clock: SlaClock, now: datetime) -> None:
    clock.elapsed_seconds = elapsed(clock, now)
    clock.intervals.append([cast(str, clock.running_since), now.isoformat()])
    clock.running_since = None


def pause(clock: SlaClock, now: datetime) -> None:
    if clock.running:
        _close_stretch(clock, now)
        clock.paused = True


def resume(clock: SlaClock, now: datetime) -> None:
    if clock.paused and not clock.stopped:
        clock.paused = False
        clock.running_since = now.isoformat()


def stop(clock: SlaClock, now: datetime) -> None:
    if clock.running:
        _close_stretch(clock, now)
    clock.paused = False
    clock.stopped = True


def retime(clock: SlaClock, spec: SlaSpec, now: datetime) -> None:
    """Apply a changed definition (target, schedule, thresholds) to the time already run.

    Elapsed time is measured again under the new schedule from the recorded stretches;
    thresholds already fired stay fired (their notifications went out).
    """
    clock.spec = spec
    schedule = clock.schedule
    clock.elapsed_seconds = sum(
        business_seconds_between(schedule, parse(a), parse(b)) for a, b in clock.intervals
    )


def carry_over(old: SlaClock, spec: SlaSpec, now: datetime) -> SlaClock:
    """A clock for a new definition that has already run as long as `old` (retroactive start)."""
    new = SlaClock(
        spec,
        running_since=old.running_since,
        intervals=[list(i) for i in old.intervals],
        started=old.started,
        paused=old.paused,
        stopped=old.stopped,
    )
    retime(new, spec, now)
    return new


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
    return add_business_seconds(clock.schedule, parse(cast(str, clock.running_since)), budget)


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


def view(clock: SlaClock, now: datetime) -> dict[str, Any]:
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


def swap(clocks: list[SlaClock], specs: list[SlaSpec], now: datetime) -> list[dict[str, Any]]:
    """Replace each clock whose kind has another definition in `specs` by a clock of that
    definition that has run as long (a priority change); returns what was swapped."""
    by_kind = {spec.kind: spec for spec in specs}
    swapped = []
    for i, clock in enumerate(clocks):
        spec = by_kind.get(clock.spec.kind)
        if spec is not None and spec.definition_id != clock.spec.definition_id:
            clocks[i] = carry_over(clock, spec, now)
            swapped.append({"from": clock.spec.name, "to": spec.name})
    return swapped


def retime_all(
    clocks: list[SlaClock], specs: list[SlaSpec], state: str, now: datetime
) -> list[str]:
    """Apply edited definitions to the clocks that use them; returns their names."""
    by_id = {spec.definition_id: spec for spec in specs}
    touched = []
    for clock in clocks:
        if (spec := by_id.get(clock.spec.definition_id)) is not None:
            retime(clock, spec, now)
            follow_state(clock, state, now)
            touched.append(spec.name)
    return touched


# ----- the escalation policy: what a warning or a breach does ----------------------------


@dataclass
class Threshold:
    event: str  # sla_warning | sla_breached
    data: dict[str, Any]
    notify: list[Notify]
    priority: int  # the case's priority after it
    queue: str | None = None  # requeue there (an unassigned case breaching), else None


def on_threshold(
    clock: SlaClock,
    fraction: float,
    *,
    priority: int,
    queue: str,
    assigned: bool,
    escalation_queue: str | None,
) -> Threshold:
    """Mark the threshold fired and say what follows: a warning tells the agent; a breach
    tells the agent, the queue's supervisors and the account manager, raises the priority
    one step and moves an unassigned case to the escalation queue."""
    data = {"sla": clock.spec.name, "kind": clock.spec.kind, "fraction": fraction}
    if fraction < BREACH:
        clock.warned.append(fraction)
        return Threshold("sla_warning", data, [Notify("sla_warning", "agent", data=data)], priority)
    clock.breached = True
    to = ("agent", "supervisor", "account_manager")
    notify = [Notify("sla_breached", who, data=dict(data)) for who in to]
    raised = max(1, priority - 1)
    data["priority"] = {"from": priority, "to": raised}
    requeue = None
    if not assigned and escalation_queue and queue != escalation_queue:
        data["queue"] = {"from": queue, "to": escalation_queue}
        requeue = escalation_queue
    return Threshold("sla_breached", data, notify, raised, requeue)
