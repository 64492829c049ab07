"""Who is calling: bearer tokens (API tokens) or the page cookie (a session of its own,
api/services/sessions.py) resolved to a role and a subject."""

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import Problem
from models.auth import ApiToken, hash_token
from workflows.vocabulary import CUSTOMERS, STAFF, Role

COOKIE = "casework_token"


@dataclass(frozen=True)
class Principal:
    role: str
    subject_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None  # signed in through a browser session (the cookie)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_customer(self) -> bool:
        return self.role in CUSTOMERS


def new_token() -> str:
    return "cw_" + secrets.token_urlsafe(32)


class PrincipalCache:
    """Principals by token hash for `ttl` seconds, so most requests skip the token lookup.

    An entry never outlives its token's expiry. Revoking a token through this process evicts it
    at once; a revocation by another API process (or straight in the database) takes effect
    within `ttl` seconds. Unknown, revoked and expired tokens are never cached. When full, the
    oldest entry makes room."""

    def __init__(self, ttl: float = 5.0, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, token_hash: str) -> Principal | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if entry[0] <= time.time():
            self._entries.pop(token_hash, None)
            return None
        return entry[1]

    def put(self, token_hash: str, principal: Principal, expires_at: datetime | None) -> None:
        until = time.time() + self.ttl
        if expires_at is not None:
            until = min(until, expires_at.timestamp())
        self._entries.pop(token_hash, None)
        while len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[token_hash] = (until, principal)

    def evict(self, token_hash: str) -> None:
        self._entries.pop(token_hash, None)


async def principal_for(
    db: AsyncSession, token: str | None, cache: PrincipalCache | None = None
) -> Principal:
    if not token:
        raise Problem(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    token_hash = hash_token(token)
    if cache is not None and (principal := cache.get(token_hash)) is not None:
        return principal
    row = (await db.execute(select(ApiToken).where(ApiToken.token_hash == token_hash))).scalar()
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise Problem(
            401, "the token is unknown, revoked or expired", headers={"WWW-Authenticate": "Bearer"}
        )
    principal = Principal(row.role, row.subject_id, row.id)
    if cache is not None:
        cache.put(token_hash, principal, row.expires_at)
    return principal


async def cached_principal(
    sessions: async_sessionmaker[AsyncSession], token: str | None, cache: PrincipalCache
) -> Principal:
    """`principal_for` through `cache`: a database session only when the cache misses."""
    if token and (principal := cache.get(hash_token(token))) is not None:
        return principal
    async with sessions() as db:
        return await principal_for(db, token, cache)


async def ensure_admin_token(db: AsyncSession, token: str) -> None:
    """Store the configured admin token (hashed) so it authenticates like any other."""
    await db.execute(
        insert(ApiToken)
        .values(id=uuid.uuid4(), token_hash=hash_token(token), role=Role.ADMIN, name="admin")
        .on_conflict_do_nothing(index_elements=["token_hash"])
    )


def require(principal: Principal, *roles: str) -> None:
    """403 unless the caller has one of `roles` (admin may do everything)."""
    if principal.role != Role.ADMIN and principal.role not in roles:
        raise Problem(403, f"role {principal.role!r} may not do this")


def require_self_or_supervisor(principal: Principal, role: Role, subject_id, message: str) -> None:
    """403 (with `message`) unless the caller is that `role` person themselves, a supervisor
    or admin: people set their own availability, supervisors anyone's."""
    own = principal.role == role and principal.subject_id == subject_id
    if not own and principal.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise Problem(403, message)
