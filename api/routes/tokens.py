"""Bearer tokens: mint (admin), revoke (admin), and ask who the caller is."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal, new_token, require
from api.deps import CurrentPrincipal, SessionDep
from api.errors import Problem, not_found
from models.auth import ROLES, ApiToken, hash_token
from models.customers import Account, Consumer, Contact
from models.people import Agent, Technician

router = APIRouter(tags=["tokens"])

DAY = 24 * 3600
# Which table a role's subject_id must name; other roles may carry any subject or none.
SUBJECTS = {
    "agent": Agent,
    "technician": Technician,
    "contact": Contact,
    "consumer": Consumer,
    "partner": Account,
}


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal[ROLES]
    subject_id: uuid.UUID | None = None
    name: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")] | None = None
    expires_in_seconds: int = Field(30 * DAY, ge=1, le=365 * DAY)


class TokenCreated(BaseModel):
    token: str = Field(description="shown once; only its SHA-256 hash is stored")
    id: uuid.UUID
    role: str
    subject_id: uuid.UUID | None
    expires_at: datetime


class Me(BaseModel):
    role: str
    subject_id: uuid.UUID | None


async def admin(principal: CurrentPrincipal) -> Principal:
    require(principal)
    return principal


Admin = Annotated[Principal, Depends(admin)]


def _bad_subject(detail: str) -> Problem:
    return Problem(
        422, detail, errors=[{"loc": ["body", "subject_id"], "msg": detail, "type": "subject"}]
    )


async def _check_subject(db: AsyncSession, role: str, subject_id: uuid.UUID | None) -> None:
    table = SUBJECTS.get(role)
    if table is None:
        return
    if subject_id is None:
        raise _bad_subject(f"a {role} token needs a subject_id")
    subject = await db.get(table, subject_id)
    if subject is None:
        raise _bad_subject(f"no such {table.__tablename__[:-1]}: {subject_id}")
    if role == "partner" and subject.type not in ("partner", "both"):
        raise _bad_subject("a partner token needs an account of type partner or both")


@router.post("/tokens", status_code=201, response_model=TokenCreated, summary="Mint a token")
async def create_token(body: TokenCreate, db: SessionDep, _: Admin) -> TokenCreated:
    await _check_subject(db, body.role, body.subject_id)
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


@router.get("/tokens/me", response_model=Me, summary="The caller's role and subject")
async def who_am_i(principal: CurrentPrincipal) -> Me:
    return Me(role=principal.role, subject_id=principal.subject_id)


@router.delete("/tokens/{token_id:uuid}", status_code=204, summary="Revoke a token")
async def revoke_token(token_id: uuid.UUID, request: Request, db: SessionDep, _: Admin) -> Response:
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
    request.app.state.principals.evict(row.token_hash)
    return Response(status_code=204)
