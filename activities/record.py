"""Record a case change: timeline event, case-view projection and outbox rows in one commit."""

import uuid
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity

from activities import outbox
from activities.deps import Deps
from models.cases import Case, CaseEvent, Notification
from workflows.lifecycle import ACTIVE
from workflows.types import CaseProjection, RecordInput, RecordResult

ROUTING_LOCK = 7_300_001  # pg advisory lock id serialising every routing decision


def event_once(**values):
    """An INSERT of a timeline event that does nothing when the case has one with its key
    already (a retried step writes the same event again)."""
    return (
        insert(CaseEvent).values(**values).on_conflict_do_nothing(index_elements=["case_id", "key"])
    )


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def projection_values(p: CaseProjection) -> dict:
    values = {
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
    if p.set_assignee:
        values["assigned_agent_id"] = (
            uuid.UUID(p.assigned_agent_id) if p.assigned_agent_id else None
        )
        values["waiting_since"] = None
    if p.state not in ACTIVE:
        values["waiting_since"] = None
    return values


class RecordActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="record_case_event")
    async def record_case_event(self, arg: RecordInput) -> RecordResult:
        case_id = uuid.UUID(arg.case_id)
        async with self.deps.sessions() as db, db.begin():
            if arg.projection and arg.projection.set_assignee:
                await db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROUTING_LOCK})
            inserted = (
                await db.execute(
                    event_once(
                        case_id=case_id,
                        key=arg.key,
                        kind=arg.kind,
                        actor_role=arg.actor_role,
                        actor_id=arg.actor_id,
                        body=arg.body,
                        public=arg.public,
                        data=arg.data,
                        at=_ts(arg.at),
                    ).returning(CaseEvent.id)
                )
            ).scalar()
            prefix = f"{case_id}:{arg.key}:"
            if inserted is None:  # a retry after the commit: the same outbox rows again
                ids = await db.execute(
                    select(Notification.id).where(Notification.key.startswith(prefix))
                )
                return RecordResult([str(i) for i in ids.scalars()])
            if arg.projection is not None:
                await db.execute(
                    update(Case)
                    .where(Case.id == case_id, Case.version < arg.projection.version)
                    .values(**projection_values(arg.projection))
                )
            ids = []
            case = await db.get(Case, case_id, populate_existing=True) if arg.notify else None
            for n in arg.notify:
                nid = await outbox.enqueue(
                    db,
                    case=case,
                    key=f"{prefix}{n.template}:{n.to}",
                    template=n.template,
                    to=n.to,
                    portal_url=self.deps.portal_url,
                    body=n.body,
                    reason=n.reason,
                )
                if nid:
                    ids.append(str(nid))
        return RecordResult(ids)
