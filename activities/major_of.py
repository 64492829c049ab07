"""Which cases are major: a case with children, or the major case of a monitoring event."""

import uuid

from sqlalchemy import bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.cases import Case
from models.events import Event

# Constant statement: compiled once (it runs on every resolve).
_MAJOR = select(
    exists().where(Case.parent_case_id == bindparam("case")),
    select(Event.id).where(Event.major_case_id == bindparam("case")).scalar_subquery(),
)


async def major_of(db: AsyncSession, case_id: uuid.UUID) -> tuple[bool, str | None]:
    """(whether the case is major, the id of the event it is the major case of, if any)."""
    has_children, event_ref = (await db.execute(_MAJOR, {"case": case_id})).one()
    return bool(has_children or event_ref), str(event_ref) if event_ref else None
