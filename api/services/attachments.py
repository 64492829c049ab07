"""A case's attachments (the files that came with its mail), as the API and the pages list them."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.mail import CaseAttachment as A


def url_of(case_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
    """Where one downloads: GET answers 404 to whoever may not see the case."""
    return f"/api/v1/cases/{case_id}/attachments/{attachment_id}"


async def listed(db: AsyncSession, case_id: uuid.UUID) -> list[dict]:
    """Oldest first; the caller has checked that its principal may see the case."""
    rows = await db.execute(
        select(A.id, A.filename, A.content_type, A.size, A.created_at)
        .where(A.case_id == case_id)
        .order_by(A.created_at, A.id)
    )
    return [{**row._mapping, "url": url_of(case_id, row.id)} for row in rows]
