"""Open a case: insert its row with a fresh number, then start its CaseWorkflow."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from models.cases import Case, case_number_seq, format_case_number
from workflows.case import CaseInput, CaseWorkflow

CASE_FIELDS = (
    "subject",
    "description",
    "channel",
    "contact_id",
    "account_id",
    "consumer_id",
    "product_id",
    "asset_id",
    "category",
    "required_skills",
    "requester_email",
    "requester_name",
    "parent_case_id",
    "queue",
)


async def open_case(
    *,
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    task_queue: str,
    fields: dict,
    history_limit: int = 0,
) -> Case:
    """The workflow has started when this returns; if it cannot start, no row is left."""
    priority = fields.get("priority")
    async with sessions() as db, db.begin():
        n = (await db.execute(select(case_number_seq.next_value()))).scalar()
        number = format_case_number(n)
        case = Case(
            id=uuid.uuid4(),
            number=number,
            workflow_id=f"case-{number}",
            state="new",
            priority=priority or 3,
            priority_explicit=priority is not None,
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
            category=fields.get("category") or {},
            required_skills=fields.get("required_skills") or [],
            sla=[],
            **{k: fields.get(k) for k in CASE_FIELDS if k not in ("category", "required_skills")},
        )
        db.add(case)
    try:
        await client.start_workflow(
            CaseWorkflow.run,
            CaseInput(str(case.id), number, history_limit=history_limit),
            id=case.workflow_id,
            task_queue=task_queue,
        )
    except BaseException:
        async with sessions() as db, db.begin():
            await db.execute(delete(Case).where(Case.id == case.id))
        raise
    return case
