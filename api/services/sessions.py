"""Browser sessions: what the `casework_token` cookie carries, never an API token.

A session is a random secret of its own (`cws_…`), stored only as its SHA-256 hash in the
`sessions` table with whom it acts as (role, subject), when it was created, when it expires,
when it was last seen and when it was revoked. Log-out revokes it here, so a copied cookie
stops working at once; the value is looked up only among sessions, so it never works as a
bearer token (and an API token never works as a cookie).
"""

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.errors import not_found
from api.pagination import read_page
from models.auth import WebSession, hash_token
from workflows.vocabulary import Role

PREFIX = "cws_"
# last_seen_at is written at most this often per session (not on every page view).
SEEN_EVERY = timedelta(seconds=60)


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


async def start(
    db: AsyncSession, *, role: str, subject_id: uuid.UUID | None, via: str, seconds: int
) -> str:
    """A new session for (role, subject), committed; answers the cookie's value."""
    secret, now = new_secret(), datetime.now(UTC)
    db.add(
        WebSession(
            id=uuid.uuid4(),
            token_hash=hash_token(secret),
            role=role,
            subject_id=subject_id,
            via=via,
            expires_at=now + timedelta(seconds=seconds),
            last_seen_at=now,
        )
    )
    await db.commit()
    return secret


async def principal_of(db: AsyncSession, secret: str | None) -> Principal | None:
    """Who the cookie's session acts as, or None (unknown, revoked or expired)."""
    if not secret or not secret.startswith(PREFIX):
        return None
    row = (
        await db.execute(select(WebSession).where(WebSession.token_hash == hash_token(secret)))
    ).scalar()
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at <= now - SEEN_EVERY:
        await db.execute(update(WebSession).where(WebSession.id == row.id).values(last_seen_at=now))
        await db.commit()
    return Principal(row.role, row.subject_id, session_id=row.id)


async def end(db: AsyncSession, secret: str | None) -> None:
    """Log-out: revoke the cookie's session (a session already ended stays as it was)."""
    if not secret or not secret.startswith(PREFIX):
        return
    await db.execute(
        update(WebSession)
        .where(WebSession.token_hash == hash_token(secret), WebSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    await db.commit()


def mine(who: Principal):
    """The sessions that are the caller's own: the same role and person."""
    if who.subject_id is None:
        return WebSession.id == who.session_id if who.session_id else WebSession.id.is_(None)
    return (WebSession.role == who.role) & (WebSession.subject_id == who.subject_id)


def item(who: Principal, row: WebSession) -> dict:
    return {
        "id": row.id,
        "role": row.role,
        "subject_id": row.subject_id,
        "via": row.via,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "last_seen_at": row.last_seen_at,
        "revoked_at": row.revoked_at,
        "current": row.id == who.session_id,
    }


async def listed(
    *,
    db: AsyncSession,
    who: Principal,
    subject_id: uuid.UUID | None,
    active: bool,
    limit: int,
    cursor: str | None,
) -> dict:
    """The caller's own sessions; an admin's: everyone's (or one person's, `subject_id`)."""
    query = select(WebSession)
    if who.role != Role.ADMIN:
        query = query.where(mine(who))
    if subject_id is not None:
        query = query.where(WebSession.subject_id == subject_id)
    if active:
        now = datetime.now(UTC)
        query = query.where(WebSession.revoked_at.is_(None), WebSession.expires_at > now)
    return await read_page(db, query, WebSession, limit, cursor, lambda r: item(who, r))


async def revoke(*, db: AsyncSession, who: Principal, session_id: uuid.UUID) -> None:
    """End one session: the caller's own, or anyone's for an admin; others are not found."""
    query = select(WebSession).where(WebSession.id == session_id)
    if who.role != Role.ADMIN:
        query = query.where(mine(who))
    row = (await db.execute(query.with_for_update())).scalar()
    if row is None:
        raise not_found("session")
    if row.revoked_at is None:  # the first revocation is the one the record keeps
        row.revoked_at = datetime.now(UTC)
    await db.commit()
