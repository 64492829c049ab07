"""A customer merge as workflows see it: its input, its result, the signal a case gets (pure)."""

from dataclasses import dataclass, field

from workflows.case_data import CaseData
from workflows.vocabulary import MergeKind

CUSTOMER_MERGED_SIGNAL = "customer_merged"


@dataclass
class MergeInput:
    merge_id: str  # the audit row's id: a retried merge step finds its row and answers again
    kind: str  # MergeKind
    from_id: str
    into_id: str
    actor_id: str | None = None


@dataclass
class MergeResult:
    merge_id: str
    moved: dict[str, int] = field(default_factory=dict)
    workflow_ids: list[str] = field(default_factory=list)  # running cases to tell
    told: int = 0  # how many of them were told (the others ended meanwhile)


@dataclass
class CustomerMerged:
    """To a running case whose account or contact was merged: the survivor is `into_id`."""

    merge_id: str
    kind: str  # MergeKind
    from_id: str
    into_id: str


def follow(s: CaseData, sig: CustomerMerged) -> bool:
    """Point the case's customer reference at the survivor; True when it changed.

    The merge step only signals cases whose row named the merged record, so a case that
    does not know its contact yet (one running since before contact_id was kept) takes it.
    """
    if sig.kind == MergeKind.ACCOUNT and s.account_id == sig.from_id:
        s.account_id = sig.into_id
        return True
    if sig.kind == MergeKind.CONTACT and s.contact_id in (sig.from_id, None):
        s.contact_id = sig.into_id
        return True
    return False
