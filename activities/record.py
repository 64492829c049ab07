"""Record a case change: timeline event, case-view projection and outbox rows in one commit."""

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities import outbox, wording
from activities.db import ROUTING_LOCK, event_once, hold_lock, transaction
from activities.deps import Deps
from activities.major_of import major_of
from models.cases import Case, Notification
from workflows.actions import Action
from workflows.types import CaseProjection, RecordInput, RecordResult
from workflows.vocabulary import ACTIVE

_CASES = cast(Table, Case.__table__)
# Constant statements: compiled once; each call binds only its values.
# The SET columns are the keys of the values passed (projection_values).
_PROJECT = (
    update(_CASES)
    .where(_CASES.c.id == bindparam("case"), _CASES.c.version < bindparam("newer"))
    .returning(*outbox.CASE_COLUMNS)
)
_CASE = select(*outbox.CASE_COLUMNS).where(_CASES.c.id == bindparam("case"))
_SENT_BEFORE = select(Notification.id).where(Notification.key.startswith(bindparam("prefix")))


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def projection_values(p: CaseProjection) -> dict[str, Any]:
    values: dict[str, Any] = {
        "version": p.version,
        "state": p.state,
        "priority": p.priority,
        "reopen_count": p.reopen_count,
        "reopen_window_ends_at": _ts(p.reopen_window_ends_at),
        "resolved_at": _ts(p.resolved_at),
        "closed_at": _ts(p.closed_at),
        "resolution": p.resolution,
        "sla": p.sla,
        "next_due_at": _ts(p.next_due_at),
        "breached": p.breached,
    }
    if p.queue is not None:
        values["queue"] = p.queue
    if p.partner_account_id is not None:
        values["partner_account_id"] = uuid.UUID(p.partner_account_id)
    if p.set_assignee:
        values["assigned_agent_id"] = (
            uuid.UUID(p.assigned_agent_id) if p.assigned_agent_id else None
        )
        values["waiting_since"] = None
    if p.state not in ACTIVE:
        values["waiting_since"] = None
    return values


async def record_event(
    db: AsyncSession, arg: RecordInput, *, portal_url: str, escalation_email: str | None
) -> RecordResult:
    """Write the event, the projection it carries and its outbox rows; a retry after the
    commit finds the event and answers with the same outbox rows."""
    case_id = uuid.UUID(arg.case_id)
    if arg.projection and arg.projection.set_assignee:
        await hold_lock(db, ROUTING_LOCK)
    inserted = await event_once(
        db,
        case_id=case_id,
        key=arg.key,
        kind=arg.kind,
        actor_role=arg.actor_role,
        actor_id=arg.actor_id,
        body=wording.event_body(arg.kind, arg.data, arg.body),
        public=arg.public,
        data=arg.data,
        at=_ts(arg.at),
    )
    prefix = f"{case_id}:{arg.key}:"
    major, event_ref = await major_of(db, case_id) if arg.kind == Action.RESOLVE else (False, None)
    if inserted is None:  # a retry after the commit: the same outbox rows again
        sent = await db.execute(_SENT_BEFORE, {"prefix": prefix})
        return RecordResult([str(i) for i in sent.scalars()], major, event_ref)
    case = None
    if arg.projection is not None:
        values = projection_values(arg.projection)
        changed = await db.execute(
            _PROJECT, {"case": case_id, "newer": values["version"], **values}
        )
        case = changed.first()
    if arg.notify and case is None:  # no projection, or a newer one is there already
        case = (await db.execute(_CASE, {"case": case_id})).first()
    ids: list[uuid.UUID] = []
    for n in arg.notify:
        ids += await outbox.enqueue_all(
            db,
            case=cast(Case, case),  # a row of CASE_COLUMNS: what enqueue_all reads
            key=f"{prefix}{n.template}:{n.to}",
            template=n.template,
            to=n.to,
            portal_url=portal_url,
            escalation_email=escalation_email,
            body=wording.notification_body(n.template, n.data, n.body),
            reason=n.reason,
        )
    return RecordResult([str(i) for i in ids], major, event_ref)


class RecordActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="record_case_event")
    async def record_case_event(self, arg: RecordInput) -> RecordResult:
        async with transaction(self.deps.sessions) as db:
            return await record_event(
                db,
                arg,
                portal_url=self.deps.portal_url,
                escalation_email=self.deps.escalation_email,
            )
