"""Housekeeping: delete sign-in rows whose use ended long enough ago (a batch at a time)."""

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CursorResult,
    Delete,
    Table,
    bindparam,
    delete,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.db import transaction
from activities.deps import Deps
from models.auth import SignInLink, WebSession
from workflows.housekeeping_types import PurgeInput, PurgeResult


def _purge(model: type[WebSession] | type[SignInLink], ended: ColumnElement[bool]) -> Delete:
    """DELETE up to :batch rows of `model` matching `ended` (ended before :before)."""
    table = model.__table__
    assert isinstance(table, Table)
    picked = select(table.c.id).where(ended).limit(bindparam("batch"))
    return delete(table).where(table.c.id.in_(picked))


before: BindParameter[datetime] = bindparam("before")
# A session ends when it expires or is revoked; a link when it expires or is used.
_SESSIONS = _purge(WebSession, or_(WebSession.expires_at < before, WebSession.revoked_at < before))
_LINKS = _purge(SignInLink, or_(SignInLink.expires_at < before, SignInLink.used_at < before))


async def purge(db: AsyncSession, arg: PurgeInput, now: datetime) -> PurgeResult:
    """Delete at most a batch of each; idempotent (a rerun finds what is left)."""
    values = {"before": now - timedelta(days=arg.after_days), "batch": arg.batch}
    sessions = cast(CursorResult[Any], await db.execute(_SESSIONS, values)).rowcount
    links = cast(CursorResult[Any], await db.execute(_LINKS, values)).rowcount
    return PurgeResult(sessions, links, more=max(sessions, links) >= arg.batch)


class HousekeepingActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="purge_ended_sign_ins")
    async def purge_ended_sign_ins(self, arg: PurgeInput) -> PurgeResult:
        async with transaction(self.deps.sessions) as db:
            return await purge(db, arg, datetime.now(UTC))
