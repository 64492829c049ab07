"""A case's next deadline: the earliest SLA threshold or the end of its reopen window (pure)."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from workflows import sla
from workflows.case_data import CaseData
from workflows.vocabulary import CaseState


class DeadlineKind(StrEnum):
    """What a case's next timer is for: an SLA warning, an SLA breach, or the end of the reopen
    window."""

    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    REOPEN_WINDOW = "reopen_window"


@dataclass(frozen=True)
class Deadline:
    at: datetime
    kind: DeadlineKind
    definition_id: str | None = None  # the SLA clock's, for an SLA threshold
    fraction: float | None = None  # of the SLA target: a warning below 1, the breach at 1


def next_deadline(case: CaseData, now: datetime) -> Deadline | None:
    candidates: list[Deadline] = []
    if case.state == CaseState.RESOLVED and case.reopen_window_ends_at:
        ends = datetime.fromisoformat(case.reopen_window_ends_at)
        candidates.append(Deadline(ends, DeadlineKind.REOPEN_WINDOW))
    for clock in case.clocks:
        if found := sla.next_threshold(clock, now):
            at, fraction = found
            kind = DeadlineKind.SLA_BREACH if fraction >= sla.BREACH else DeadlineKind.SLA_WARNING
            candidates.append(Deadline(at, kind, clock.spec.definition_id, fraction))
    return min(candidates, key=lambda d: d.at) if candidates else None
