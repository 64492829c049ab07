"""Bearer tokens: mint one for a role and subject, revoke one."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import PrincipalCache, new_token
from api.errors import Problem, not_found
from api.schemas.tokens import TokenCreate, TokenCreated
from api.services.partners import is_partner
from models.auth import ApiToken, hash_token
from models.customers import Account, Consumer, Contact
from models.people import Agent, Technician
from workflows.vocabulary import Role

# Which table a role's subject_id must name; other roles may carry any subject or none.
SUBJECTS = {
    Role.AGENT: Agent,
    Role.TECHNICIAN: Technician,
    Role.CONTACT: Contact,
    Role.CONSUMER: Consumer,
    Role.PARTNER: Account,
}


def _bad_subject(detail: str) -> Problem:
    return Problem(
        422, detail, errors=[{"loc": ["body", "subject_id"], "msg": detail, "type": "subject"}]
    )


async def check_subject(db: AsyncSession, role: str, subject_id: uuid.UUID | None) -> None:
    table = SUBJECTS.get(role)
    if table is None:
        return
    if subject_id is None:
        raise _bad_subject(f"a {role} token needs a subject_id")
    subject = await db.get(table, subject_id)
    if subject is None:
        raise _bad_subject(f"no such {table.__tablename__[:-1]}: {subject_id}")
    if role == Role.PARTNER and not is_partner(subject):
        raise _bad_subject("a partner token needs an account of type partner or both")


async def mint(*, db: AsyncSession, body: TokenCreate) -> TokenCreated:
    await check_subject(db, body.role, body.subject_id)
    raw = new_token()
    row = ApiToken(
        id=uuid.uuid4(),
        token_hash=hash_token(raw),
        role=body.role,
        subject_id=body.subject_id,
        name=body.name,
        expires_at=datetime.now(UTC) + timedelta(seconds=body.expires_in_seconds),
    )
    db.add(row)
    await db.commit()
    return TokenCreated(
        token=raw, id=row.id, role=row.role, subject_id=row.subject_id, expires_at=row.expires_at
    )


async def revoke(*, db: AsyncSession, principals: PrincipalCache, token_id: uuid.UUID) -> None:
    row = (
        await db.execute(select(ApiToken).where(ApiToken.id == token_id).with_for_update())
    ).scalar()
    if row is None:
        raise not_found("token")
    # Revoking twice keeps the first time, so the audit trail says when it really stopped.
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        await db.commit()
    # At once in this process; other API processes stop accepting it within the cache's TTL.
    principals.evict(row.token_hash)
