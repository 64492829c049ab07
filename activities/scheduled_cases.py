"""Open the cases a scheduled run finds due, each once per its key, and record the run.

Each case's key (plan + asset + due date, or entitlement + end date) gets a unique row with a
reserved case id and number before its case opens; a retry, a rerun or a second run at the
same time finds that row, so it names the same case row and workflow id (`case-<number>`).
The page's cases open in bulk (activities/bulk_open.py): their intake in chunks, each
workflow started with its intake done, joined if running (USE_EXISTING) and never started
again once ended (REJECT_DUPLICATE): one case.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.bulk_open import open_in_bulk
from activities.db import transaction
from activities.deps import Deps
from models.cases import case_number_seq, format_case_number
from models.customers import AccountContact
from models.scheduled import ScheduledCase, ScheduledRun
from workflows.scheduled_types import RunRecord, RunSummary
from workflows.types import NewCase

log = logging.getLogger("casework.scheduled")
_RESERVE = insert(ScheduledCase).on_conflict_do_nothing(index_elements=["key"])


@dataclass
class Due:
    """One case to open: its key, what it links, and the new case's fields."""

    key: str
    due_on: date
    new: NewCase
    plan_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    entitlement_id: uuid.UUID | None = None


async def account_contact(db: AsyncSession, account_id: uuid.UUID) -> uuid.UUID | None:
    """Who at the account hears of a case the account did not open: its primary contact."""
    rows = await db.execute(
        select(AccountContact.contact_id)
        .where(AccountContact.account_id == account_id)
        .order_by(AccountContact.primary.desc(), AccountContact.contact_id)
        .limit(1)
    )
    return rows.scalar()


async def reserve(db: AsyncSession, run_key: str, dues: list[Due]) -> dict[str, ScheduledCase]:
    """Every key's row: written now by this run, or found as an earlier one wrote it.
    Keys are written in their order, so two runs racing on one page never deadlock."""
    dues = sorted(dues, key=lambda d: d.key)
    series = func.generate_series(1, len(dues))
    numbers = (await db.execute(select(case_number_seq.next_value()).select_from(series))).scalars()
    now = datetime.now(UTC)
    values = [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "key": d.key,
            "case_id": uuid.uuid4(),
            "number": format_case_number(number),
            "plan_id": d.plan_id,
            "asset_id": d.asset_id,
            "entitlement_id": d.entitlement_id,
            "due_on": d.due_on,
            "run_key": run_key,
        }
        for d, number in zip(dues, numbers, strict=True)
    ]
    await db.execute(_RESERVE, values)
    keys = [d.key for d in dues]
    rows = await db.execute(select(ScheduledCase).where(ScheduledCase.key.in_(keys)))
    return {row.key: row for row in rows.scalars()}


async def open_once(deps: Deps, run_key: str, dues: list[Due]) -> int:
    """Open each due case unless a run already has; answers how many cases the keys have."""
    if not dues:
        return 0
    async with transaction(deps.sessions) as db:
        rows = await reserve(db, run_key, dues)
    cases = [(str(rows[d.key].case_id), rows[d.key].number, d.new) for d in dues]
    failed = await open_in_bulk(deps, cases)
    if failed:
        # Intake refused these for good (say the asset went meanwhile): no case exists. Free
        # their keys, so a later run may open them once the data is right.
        log.warning("%d scheduled case(s) of run %s not opened", len(failed), run_key)
        ids = [uuid.UUID(i) for i in failed]
        async with transaction(deps.sessions) as db:
            await db.execute(delete(ScheduledCase).where(ScheduledCase.case_id.in_(ids)))
    return len(dues) - len(failed)


async def record_run(deps: Deps, arg: RunRecord) -> RunSummary:
    """The run's counts: the cases are the rows this run wrote (not those it found)."""
    async with transaction(deps.sessions) as db:
        count = select(func.count()).where(ScheduledCase.run_key == arg.run_key)
        opened = (await db.execute(count)).scalar_one()
        values = {
            "schedule_id": arg.schedule_id,
            "plan_id": uuid.UUID(arg.plan_id) if arg.plan_id else None,
            "at": datetime.fromisoformat(arg.at),
            "items_due": arg.items_due,
            "cases_opened": opened,
        }
        await db.execute(
            insert(ScheduledRun)
            .values(id=uuid.uuid4(), created_at=datetime.now(UTC), run_key=arg.run_key, **values)
            .on_conflict_do_update(index_elements=["run_key"], set_=values)
        )
    return RunSummary(arg.items_due, opened)
