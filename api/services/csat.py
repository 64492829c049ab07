"""The satisfaction survey: a closed case's customer answers it once (1-5 and a comment)."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal, require
from api.errors import Problem
from api.schemas.csat import CsatCreate
from api.services import cases
from models.cases import Case, CsatResponse
from workflows.vocabulary import CUSTOMERS, CaseState


async def answer(*, db: AsyncSession, who: Principal, case_id: uuid.UUID, body: CsatCreate) -> dict:
    """Record the answer and copy it onto the case view; 409 before the case is closed or
    once it has been answered."""
    require(who, *CUSTOMERS)
    case = await cases.visible_case(db=db, who=who, case_id=case_id)
    if who.subject_id not in (case.contact_id, case.consumer_id):
        raise Problem(403, "only the case's own customer answers its survey")
    if case.state != CaseState.CLOSED:
        raise Problem(409, f"the survey opens when the case is closed; it is {case.state}")
    now = datetime.now(UTC)
    taken = await db.execute(
        insert(CsatResponse)
        .values(
            id=uuid.uuid4(),
            case_id=case.id,
            score=body.score,
            comment=body.comment,
            respondent_role=who.role,
            respondent_id=who.subject_id,
            created_at=now,
        )
        .on_conflict_do_nothing(constraint="uq_csat_responses_case_id")
        .returning(CsatResponse.id)
    )
    if taken.first() is None:
        raise Problem(409, "the survey of this case has been answered")
    shown = {"score": body.score, "comment": body.comment, "at": now.isoformat()}
    await db.execute(update(Case).where(Case.id == case.id).values(csat=shown))
    await db.commit()
    return shown
