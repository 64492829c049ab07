"""A new case's intake and first routing in one transaction: one local activity, one commit.

With the new case's fields (`IntakeInput.new`), the same transaction first inserts its row:
a case row exists only together with its running workflow.
"""

import uuid
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.db import transaction
from activities.deps import Deps
from activities.intake import intake
from activities.routing import dispatch
from models.cases import Case
from workflows.types import DispatchInput, IntakeInput, NewCase, OpenedCase
from workflows.vocabulary import CaseState

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


class OpeningActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="open_case")
    async def open_case(self, arg: IntakeInput) -> OpenedCase:
        """Idempotent: a retry after the commit finds the intake and the routing it made."""
        d = self.deps
        async with transaction(d.sessions) as db:
            if arg.new is not None:
                await insert_case(db, arg.case_id, arg.number, arg.new)
            got = await intake(
                db,
                case_id=arg.case_id,
                default_queue=d.default_queue,
                reopen_window_seconds=d.default_reopen_window_seconds,
                portal_url=d.portal_url,
            )
            if arg.new is not None and arg.new.field_service:  # the opener asks for a visit
                got.field_service = arg.new.field_service
            first = DispatchInput.at_intake(arg.case_id)
            routed = await dispatch(db, **asdict(first), portal_url=d.portal_url)
        return OpenedCase(got, routed)
