"""A new case's intake and first routing in one transaction: one local activity, one commit.

With the new case's fields (`IntakeInput.new`), the same transaction first inserts its row:
a case row exists only together with its running workflow.

`open_many` does the same for a batch of new cases in one transaction with one routing
decision (an event's children, activities/major_cases.py): their workflows then start with
the intake done (`CaseInput.opened`) instead of running it one by one.
"""

import logging
import uuid
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.db import deterministic, transaction
from activities.deps import Deps
from activities.intake import intake
from activities.routing import dispatch
from models.cases import Case
from workflows.types import (
    AssignmentMade,
    DispatchInput,
    DispatchResult,
    IntakeInput,
    IntakeResult,
    NewCase,
    OpenedCase,
)
from workflows.vocabulary import CaseState

log = logging.getLogger("casework.opening")
_UNASSIGNED = select(Case.id).where(
    Case.id.in_(bindparam("ids", expanding=True)), Case.assigned_agent_id.is_(None)
)
# One constant statement: a retried opening finds its row and inserts nothing.
_INSERT = (
    insert(Case)
    .values({c.key: bindparam(c.key) for c in Case.__table__.c})
    .on_conflict_do_nothing(index_elements=["id"])
)


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


async def insert_case(db: AsyncSession, case_id: str, number: str, new: NewCase) -> None:
    now = datetime.now(UTC)
    await db.execute(
        _INSERT,
        {
            **{c.key: None for c in Case.__table__.c},
            "id": uuid.UUID(case_id),
            "number": number,
            "workflow_id": f"case-{number}",
            "state": CaseState.NEW,
            "version": 0,
            "priority": new.priority or 3,
            "priority_explicit": new.priority is not None,
            "channel": new.channel,
            "subject": new.subject,
            "description": new.description,
            "contact_id": _uuid(new.contact_id),
            "account_id": _uuid(new.account_id),
            "consumer_id": _uuid(new.consumer_id),
            "product_id": _uuid(new.product_id),
            "asset_id": _uuid(new.asset_id),
            "parent_case_id": _uuid(new.parent_case_id),
            "requester_email": new.requester_email,
            "requester_name": new.requester_name,
            "category": new.category or {},
            "required_skills": list(new.required_skills),
            "queue": new.queue,
            "sla": [],
            "reopen_count": 0,
            "breached": False,
            "created_at": now,
            "updated_at": now,
        },
    )


async def take_in(
    db: AsyncSession, deps: Deps, case_id: str, number: str, new: NewCase | None
) -> IntakeResult:
    """The new case's row (when `new` is given) and its intake, in the caller's transaction;
    the opener's request for a visit rides along."""
    if new is not None:
        await insert_case(db, case_id, number, new)
    got = await intake(
        db,
        case_id=case_id,
        default_queue=deps.default_queue,
        reopen_window_seconds=deps.default_reopen_window_seconds,
        portal_url=deps.portal_url,
    )
    if new is not None and new.field_service:  # the opener asks for a visit
        got.field_service = new.field_service
    return got


class OpeningActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="open_case")
    async def open_case(self, arg: IntakeInput) -> OpenedCase:
        """Idempotent: a retry after the commit finds the intake and the routing it made."""
        d = self.deps
        async with transaction(d.sessions) as db:
            got = await take_in(db, d, arg.case_id, arg.number, arg.new)
            first = DispatchInput.at_intake(arg.case_id)
            routed = await dispatch(db, **asdict(first), portal_url=d.portal_url)
        return OpenedCase(got, routed)


async def open_many(
    db: AsyncSession,
    deps: Deps,
    cases: list[tuple[str, str, NewCase]],
) -> tuple[dict[str, OpenedCase], list[AssignmentMade]]:
    """Insert and take in (case id, number, new case) in the caller's transaction, then route
    them in one decision: {case id: its opening (its own assignment only)}, and the
    assignments the decision made to other waiting cases, which the caller must tell.

    Each case's insert and intake run in a savepoint of their own: a case that fails for good
    (say its customer was deleted since the event was posted) is left out, unopened, as its
    own workflow's intake would have left it, and the others open. Idempotent like
    `open_case`: a retry finds the rows, their intake and the routing decision (keyed by the
    first case) and answers the same.
    """
    intakes: dict[str, IntakeResult] = {}
    for case_id, number, new in cases:
        try:
            async with db.begin_nested():
                intakes[case_id] = await take_in(db, deps, case_id, number, new)
        except Exception as err:
            if not fails_for_good(err):
                raise  # the database is away: the whole batch is retried
            log.warning("case %s (%s) not opened: %s", number, case_id, err)
    if not intakes:
        return {}, []
    ids = list(intakes)
    # Only cases no one has yet: routing a case again would take its agent away (a rerun
    # whose case another dispatch assigned meanwhile, a key an earlier run opened).
    unassigned = await db.execute(_UNASSIGNED, {"ids": [uuid.UUID(i) for i in ids]})
    waiting = {str(i) for i in unassigned.scalars()}
    routed = await dispatch(
        db,
        key=f"{ids[0]}:bulk-intake",
        enqueue_more=[i for i in ids if i in waiting],
        portal_url=deps.portal_url,
    )
    own: dict[str, list[AssignmentMade]] = {case_id: [] for case_id in ids}
    others: list[AssignmentMade] = []
    for made in routed.assignments:
        (own[made.case_id] if made.case_id in own else others).append(made)
    return {i: OpenedCase(got, DispatchResult(own[i])) for i, got in intakes.items()}, others


def fails_for_good(err: Exception) -> bool:
    """A failure no retry cures: a refused write or value, or intake's own refusal."""
    refused = isinstance(err, ApplicationError) and err.non_retryable
    return refused or deterministic(err) is not None
