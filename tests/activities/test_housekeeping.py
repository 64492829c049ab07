"""Housekeeping deletes the sign-in rows whose use ended long enough ago, and nothing else."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from activities.db import transaction
from activities.housekeeping import purge
from models.auth import SignInLink, WebSession
from tests import factories as f
from workflows.housekeeping_types import PurgeInput

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def web_session(name: str, *, expires: datetime, revoked: datetime | None = None) -> WebSession:
    return WebSession(
        id=uuid.uuid5(uuid.NAMESPACE_DNS, name),
        token_hash=uuid.uuid4().hex * 2,
        role="contact",
        subject_id=uuid.uuid4(),
        via="email-link",
        expires_at=expires,
        last_seen_at=ago(20),
        revoked_at=revoked,
    )


def link(name: str, *, expires: datetime, used: datetime | None = None) -> SignInLink:
    return SignInLink(
        id=uuid.uuid5(uuid.NAMESPACE_DNS, name),
        secret_hash=uuid.uuid4().hex * 2,
        email=f"{name}@x.test",
        role="contact",
        subject_id=uuid.uuid4(),
        expires_at=expires,
        used_at=used,
    )


async def left(sessions, model) -> set[uuid.UUID]:
    async with sessions() as db:
        return set((await db.execute(select(model.id))).scalars())


async def test_ended_sessions_and_links_go_after_the_grace_and_the_rest_stays(sessions):
    await f.add(
        sessions,
        web_session("expired-long-ago", expires=ago(10)),
        web_session("revoked-long-ago", expires=NOW + timedelta(hours=1), revoked=ago(8)),
        web_session("expired-yesterday", expires=ago(1)),
        web_session("live", expires=NOW + timedelta(hours=1)),
        link("used-long-ago", expires=ago(9), used=ago(9.01)),
        link("expired-long-ago", expires=ago(10)),
        link("used-yesterday", expires=ago(1), used=ago(1.01)),
        link("live", expires=NOW + timedelta(minutes=10)),
    )
    async with transaction(sessions) as db:
        got = await purge(db, PurgeInput(after_days=7), NOW)
    assert (got.sessions, got.links, got.more) == (2, 2, False)
    kept = {uuid.uuid5(uuid.NAMESPACE_DNS, n) for n in ("expired-yesterday", "live")}
    assert await left(sessions, WebSession) == kept
    kept = {uuid.uuid5(uuid.NAMESPACE_DNS, n) for n in ("used-yesterday", "live")}
    assert await left(sessions, SignInLink) == kept
    async with transaction(sessions) as db:  # a rerun: nothing more
        again = await purge(db, PurgeInput(after_days=7), NOW)
    assert (again.sessions, again.links) == (0, 0)


async def test_a_full_batch_says_there_is_more(sessions):
    await f.add(sessions, *(web_session(f"old-{i}", expires=ago(30)) for i in range(3)))
    async with transaction(sessions) as db:
        first = await purge(db, PurgeInput(after_days=7, batch=2), NOW)
    async with transaction(sessions) as db:
        second = await purge(db, PurgeInput(after_days=7, batch=2), NOW)
    assert (first.sessions, first.more, second.sessions, second.more) == (2, True, 1, False)
