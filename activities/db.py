"""Database helpers every activity shares: one transaction, advisory locks, idempotent writes.

Every advisory lock id lives here, so no two features ever pick the same number.
"""

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

from sqlalchemy import Table, bindparam, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DataError, IntegrityError, NoResultFound
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from models.cases import Case, CaseEvent

# pg advisory lock ids (transaction-scoped), one per decision that must never run twice at once.
ROUTING_LOCK = 7_300_001  # every routing decision: an agent's capacity is never overbooked
FIELD_DISPATCH_LOCK = 7_300_002  # every technician booking: no technician booked twice

# ApplicationError types of a step that fails the same way on every attempt.
CONFLICT = "IntegrityError"  # a constraint refused the write (unique, foreign key, check)
INVALID_DATA = "InvalidData"  # a value the database or our parsing rejects
NOT_FOUND = "NotFound"  # a row the step needs is not there

_XACT_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_EVENTS = cast(Table, CaseEvent.__table__)
_CASES = cast(Table, Case.__table__)
# Constant statements: compiled once; each call binds only its values.
_EVENT_ONCE = (
    insert(_EVENTS)
    .on_conflict_do_nothing(index_elements=["case_id", "key"])
    .returning(_EVENTS.c.id)
)
_SET_CASE = update(_CASES).where(_CASES.c.id == bindparam("case"))


def deterministic(err: BaseException) -> ApplicationError | None:
    """The non-retryable error for a failure that no retry can cure, None for one that a
    retry may (the database is down, a connection dropped, a deadlock, a timeout)."""
    match err:
        case IntegrityError():
            kind = CONFLICT
        case DataError() | ValueError():
            kind = INVALID_DATA
        case NoResultFound():
            kind = NOT_FOUND
        case _:
            return None
    return ApplicationError(f"{type(err).__name__}: {err}"[:2000], type=kind, non_retryable=True)


@contextlib.asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session in one transaction, committed when the block ends.

    A deterministic failure (in the block or at the commit) is raised as a non-retryable
    ApplicationError: retrying it only wedges the case, as a second open incident once did
    on uq_incidents_open_per_case. Operational errors pass through and are retried.
    """
    try:
        async with sessions() as db, db.begin():
            yield db
    except Exception as err:
        if (final := deterministic(err)) is not None:
            raise final from err
        raise


async def hold_lock(db: AsyncSession, key: int) -> None:
    """Wait for the advisory lock `key` and hold it until the transaction ends."""
    await db.execute(_XACT_LOCK, {"k": key})


async def set_case(db: AsyncSession, case_id: uuid.UUID, **values: Any) -> None:
    """Write `values` to the case's columns in one UPDATE (compiled once per set of columns)."""
    await db.execute(_SET_CASE, {"case": case_id, **values})


async def event_once(db: AsyncSession | AsyncConnection, **values: Any) -> int | None:
    """Write a timeline event unless the case has one with its key already (a retried step
    writes the same event again); the new event's id, None when it was there."""
    event_id: int | None = (await db.execute(_EVENT_ONCE, values)).scalar()
    return event_id
