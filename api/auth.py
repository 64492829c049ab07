"""Who is calling: bearer tokens (or the page cookie) resolved to a role and a subject."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Problem
from models.auth import ApiToken, hash_token

COOKIE = "casework_token"
STAFF = ("admin", "supervisor", "agent")
CUSTOMERS = ("contact", "consumer")


@dataclass(frozen=True)
class Principal:
    role: str
    subject_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_customer(self) -> bool:
        return self.role in CUSTOMERS


def new_token() -> str:
    return "cw_" + secrets.token_urlsafe(32)


async def principal_for(db: AsyncSession, token: str | None) -> Principal:
    if not token:
        raise Problem(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    row = (
        await db.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    ).scalar()
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise Problem(
            401, "the token is unknown, revoked or expired", headers={"WWW-Authenticate": "Bearer"}
        )
    return Principal(row.role, row.subject_id, row.id)


async def ensure_admin_token(db: AsyncSession, token: str) -> None:
    """Store the configured admin token (hashed) so it authenticates like any other."""
    await db.execute(
        insert(ApiToken)
        .values(id=uuid.uuid4(), token_hash=hash_token(token), role="admin", name="admin")
        .on_conflict_do_nothing(index_elements=["token_hash"])
    )


def require(principal: Principal, *roles: str) -> None:
    """403 unless the caller has one of `roles` (admin may do everything)."""
    if principal.role != "admin" and principal.role not in roles:
        raise Problem(403, f"role {principal.role!r} may not do this")
