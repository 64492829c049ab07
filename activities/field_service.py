"""Field service: create work orders from their case, dispatch technicians under one lock,
and record each step of a work order (with the technician's notices) in one commit."""

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import outbox
from activities.db import FIELD_DISPATCH_LOCK, hold_lock, transaction
from activities.deps import Deps
from models.cases import Case, Notification
from models.customers import Account, Asset
from models.field_service import (
    FieldServiceRule,
    WorkOrder,
    format_work_order_number,
    work_order_number_seq,
)
from models.people import Technician
from workflows import technician_choice as choice
from workflows.types import (
    CreateWorkOrderInput,
    FieldServiceRequest,
    RecordWorkOrderInput,
    RecordWorkOrderResult,
    TechnicianBooked,
    WorkOrderCreated,
    WorkOrderDispatchInput,
    WorkOrderDispatchResult,
)
from workflows.vocabulary import WORK_ORDER_DONE, WorkOrderState

BATCH = 500


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _id(value: object) -> str | None:
    return str(value) if value else None


async def matching_rule(
    db: AsyncSession, category: dict[str, Any] | None
) -> FieldServiceRule | None:
    """The oldest active rule whose every category key matches the case's category."""
    have = {k: str(v).casefold() for k, v in (category or {}).items() if v}
    rows = await db.execute(
        select(FieldServiceRule)
        .where(FieldServiceRule.active.is_(True))
        .order_by(FieldServiceRule.created_at, FieldServiceRule.id)
    )
    for rule in rows.scalars():
        wanted = {k: str(v).casefold() for k, v in (rule.category or {}).items() if v}
        if wanted and all(have.get(k) == v for k, v in wanted.items()):
            return rule
    return None


def rule_request(rule: FieldServiceRule) -> dict[str, Any]:
    """What intake hands the case when a rule matches (FieldServiceRequest fields)."""
    return asdict(
        FieldServiceRequest(
            skills=list(rule.skills or []),
            parts=list(rule.parts or []),
            notes=rule.notes,
            auto_resolve=rule.auto_resolve,
            rule_id=str(rule.id),
        )
    )


async def site_value(db: AsyncSession, account_id: uuid.UUID | None, field: str) -> str | None:
    """The account's own value, else the nearest parent's (a site inherits its company's)."""
    seen: set[uuid.UUID] = set()
    while account_id is not None and account_id not in seen and len(seen) < 20:
        seen.add(account_id)
        account = await db.get(Account, account_id)
        if account is None:
            return None
        value: str | None = getattr(account, field)
        if value:
            return value
        account_id = account.parent_id
    return None


def created_of(wo: WorkOrder) -> WorkOrderCreated:
    return WorkOrderCreated(
        work_order_id=str(wo.id),
        number=wo.number,
        workflow_id=wo.workflow_id,
        location=wo.location,
        territory=wo.territory,
        skills=list(wo.required_skills or []),
        parts=list(wo.parts or []),
        window_start=_iso(wo.window_start),
        window_end=_iso(wo.window_end),
        asset_id=_id(wo.asset_id),
    )


def briefing(wo: WorkOrder, case: Case) -> str:
    """The technician's notice: everything needed to go there, in plain lines."""
    window = (
        f"{_iso(wo.window_start) or 'any time'} to {_iso(wo.window_end) or 'open'}"
        if wo.window_start or wo.window_end
        else "any time"
    )
    lines = [
        f"Work order {wo.number} for case {case.number}: {case.subject}",
        f"Location: {wo.location or 'not recorded'}",
        f"Territory: {wo.territory or 'any'}",
        f"Window: {window}",
        f"Skills: {', '.join(wo.required_skills or []) or 'none'}",
        f"Parts: {', '.join(wo.parts or []) or 'none'}",
    ]
    if wo.notes:
        lines += ["", wo.notes]
    return "\n".join(lines)


async def create(
    db: AsyncSession, *, key: str, case_id: str, request: FieldServiceRequest
) -> WorkOrderCreated:
    """A work order for the case, pre-filled from the request, else the matching rule, the
    asset and the account's site; a retry with the same `key` finds the same one."""
    done = (await db.execute(select(WorkOrder).where(WorkOrder.request_key == key))).scalar()
    if done is not None:  # a retry after the commit: the same work order
        return created_of(done)
    case = await db.get(Case, uuid.UUID(case_id))
    if case is None:
        raise ApplicationError("no such case", type="CaseNotFound", non_retryable=True)
    req = request
    rule = None
    if not (req.skills or req.parts) and req.rule_id is None:
        rule = await matching_rule(db, case.category)
    asset = await db.get(Asset, case.asset_id) if case.asset_id else None
    site = (asset.account_id if asset and asset.account_id else None) or case.account_id
    location = (
        req.location
        or (asset.location if asset else None)
        or await site_value(db, site, "location")
    )
    territory = (
        req.territory
        or (asset.territory if asset else None)
        or await site_value(db, site, "territory")
    )
    n = (await db.execute(select(work_order_number_seq.next_value()))).scalar()
    number = format_work_order_number(cast(int, n))  # nextval() is never null
    wo = WorkOrder(
        id=uuid.uuid4(),
        number=number,
        workflow_id=f"wo-{number}",
        request_key=key,
        case_id=case.id,
        asset_id=case.asset_id,
        rule_id=uuid.UUID(req.rule_id) if req.rule_id else (rule.id if rule else None),
        state=WorkOrderState.NEW,
        location=location,
        territory=territory,
        required_skills=list(
            req.skills or (rule.skills if rule else None) or case.required_skills or []
        ),
        parts=list(req.parts or (rule.parts if rule else None) or []),
        window_start=_ts(req.window_start),
        window_end=_ts(req.window_end),
        notes=req.notes or (rule.notes if rule else None),
        auto_resolve=req.auto_resolve,
        parts_used=[],
        version=0,
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )
    db.add(wo)
    await db.flush()  # a refused write fails here, inside the caller's transaction
    return created_of(wo)


async def book_technicians(
    db: AsyncSession, *, key: str, enqueue_work_order_id: str | None = None, portal_url: str
) -> WorkOrderDispatchResult:
    """Put the work order (if any) in the waiting line and book a technician for what waits;
    a retry with the same `key` answers with the bookings it made."""
    # Every booking runs under one lock: no technician is booked twice for a window.
    await hold_lock(db, FIELD_DISPATCH_LOCK)
    earlier = await _previous(db, key)
    if earlier:
        return WorkOrderDispatchResult(earlier)
    now = datetime.now(UTC)
    enqueued = None
    if enqueue_work_order_id:
        enqueued = await db.get(WorkOrder, uuid.UUID(enqueue_work_order_id), with_for_update=True)
        if enqueued is not None and enqueued.state == WorkOrderState.NEW:
            enqueued.state, enqueued.waiting_since = WorkOrderState.WAITING, now
            await db.flush()
    result = WorkOrderDispatchResult()
    await _book_waiting(db, key, now, result, portal_url)
    if enqueued is not None and enqueued.state == WorkOrderState.WAITING:
        result.waiting_reason = enqueued.waiting_reason
    return result


async def _previous(db: AsyncSession, key: str) -> list[TechnicianBooked]:
    rows = await db.execute(
        select(WorkOrder, Technician.name, Notification.id)
        .join(Technician, Technician.id == WorkOrder.technician_id)
        .outerjoin(
            Notification,
            Notification.key == func.concat(WorkOrder.case_id, ":wo:", WorkOrder.id, ":dispatched"),
        )
        .where(WorkOrder.dispatch_key == key)
    )
    return [
        TechnicianBooked(str(wo.id), wo.workflow_id, str(wo.technician_id), name, _id(nid))
        for wo, name, nid in rows.all()
    ]


async def _book_waiting(
    db: AsyncSession, key: str, now: datetime, result: WorkOrderDispatchResult, portal_url: str
) -> None:
    queued = (
        await db.execute(
            select(WorkOrder)
            .where(
                WorkOrder.state == WorkOrderState.WAITING,
                WorkOrder.waiting_since.is_not(None),
                WorkOrder.technician_id.is_(None),
            )
            .order_by(WorkOrder.created_at, WorkOrder.id)
            .limit(BATCH)
            .with_for_update()
        )
    ).scalars()
    waiting = list(queued)
    if not waiting:
        return
    rows = (await db.execute(select(Technician).order_by(Technician.name))).scalars()
    techs = {t.id: t for t in rows}
    candidates = {
        t.id: choice.Technician(
            str(t.id),
            t.name,
            list(t.skills or []),
            list(t.parts or []),
            t.territory,
            available=t.status == "available",
        )
        for t in techs.values()
    }
    booked = await db.execute(
        select(WorkOrder.technician_id, WorkOrder.window_start, WorkOrder.window_end).where(
            WorkOrder.technician_id.is_not(None), WorkOrder.state.not_in(WORK_ORDER_DONE)
        )
    )
    for tech_id, start, end in booked.all():
        if tech_id in candidates:
            candidates[tech_id].booked.append((start, end))
    for wo in waiting:
        job = choice.Job(
            list(wo.required_skills or []),
            list(wo.parts or []),
            wo.territory,
            (wo.window_start, wo.window_end),
        )
        chosen, why = choice.pick_technician(list(candidates.values()), job)
        if chosen is None:
            wo.waiting_reason = cast(str, why)[:500]  # None only with a technician
            continue
        chosen.booked.append(job.window)
        tech = techs[uuid.UUID(chosen.technician_id)]
        # The state stays until the work order's workflow confirms the booking (it takes
        # the technician's actions); the booking itself is final here.
        wo.technician_id, wo.dispatch_key = tech.id, key
        wo.dispatched_at, wo.waiting_since, wo.waiting_reason = now, None, None
        await db.flush()
        nid = await tell_technician(
            db, wo, tech, "work_order_dispatched", f"{wo.case_id}:wo:{wo.id}:dispatched", portal_url
        )
        result.booked.append(
            TechnicianBooked(str(wo.id), wo.workflow_id, str(tech.id), tech.name, _id(nid))
        )


async def record_step(
    db: AsyncSession, step: RecordWorkOrderInput, *, portal_url: str
) -> RecordWorkOrderResult:
    """Write a work order's new state (and tell its technician of a cancellation); a retry
    of an older or the same version answers with what was recorded."""
    # Under the dispatch lock: a booking and a cancellation never cross unseen.
    await hold_lock(db, FIELD_DISPATCH_LOCK)
    wo = await db.get(WorkOrder, uuid.UUID(step.work_order_id), with_for_update=True)
    if wo is None:
        raise ApplicationError("no such work order", type="WorkOrderNotFound", non_retryable=True)
    prefix = f"{wo.case_id}:wo:{wo.id}:{step.state}:"
    if wo.version >= step.version:  # a retry after the commit: the same answer
        sent = await db.execute(select(Notification.id).where(Notification.key.startswith(prefix)))
        return RecordWorkOrderResult(_id(wo.technician_id), [str(i) for i in sent.scalars()])
    at = _ts(step.at)
    wo.version, wo.state = step.version, step.state
    match step.state:
        case WorkOrderState.ACCEPTED:
            wo.accepted_at = at
        case WorkOrderState.IN_PROGRESS:
            wo.started_at = at
        case WorkOrderState.COMPLETED:
            wo.completed_at, wo.waiting_since = at, None
            wo.resolution_notes, wo.fixed = step.notes, step.fixed
            wo.parts_used = list(step.parts_used)
        case WorkOrderState.CANCELLED:
            wo.cancelled_at, wo.waiting_since = at, None
            wo.cancel_reason = step.reason
    told: list[str] = []
    if step.state == WorkOrderState.CANCELLED and step.tell_technician and wo.technician_id:
        tech = await db.get(Technician, wo.technician_id)
        nid = await tell_technician(
            db,
            wo,
            cast(Technician, tech),  # a work order's technician is never deleted
            "work_order_cancelled",
            f"{prefix}technician",
            portal_url,
            reason=step.reason,
            preface=f"Work order {wo.number} is cancelled: do not go.\n\n",
        )
        if nid:
            told.append(str(nid))
    return RecordWorkOrderResult(_id(wo.technician_id), told)


async def tell_technician(
    db: AsyncSession,
    wo: WorkOrder,
    tech: Technician,
    template: str,
    key: str,
    portal_url: str,
    reason: str | None = None,
    preface: str = "",
) -> uuid.UUID | None:
    """Queue the technician's notice of the work order: `preface`, then its briefing."""
    case = cast(Case, await db.get(Case, wo.case_id))  # a work order's case is never deleted
    body = preface + briefing(wo, case)
    return await outbox.enqueue(
        db,
        case=case,
        key=key,
        template=template,
        to="technician",
        recipient=(tech.email, tech.name),
        portal_url=portal_url,
        body=body,
        reason=reason,
    )


class FieldServiceActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="create_work_order")
    async def create_work_order(self, arg: CreateWorkOrderInput) -> WorkOrderCreated:
        async with transaction(self.deps.sessions) as db:
            return await create(db, key=arg.key, case_id=arg.case_id, request=arg.request)

    @activity.defn(name="dispatch_work_orders")
    async def dispatch_work_orders(self, arg: WorkOrderDispatchInput) -> WorkOrderDispatchResult:
        async with transaction(self.deps.sessions) as db:
            return await book_technicians(db, **asdict(arg), portal_url=self.deps.portal_url)

    @activity.defn(name="record_work_order")
    async def record_work_order(self, arg: RecordWorkOrderInput) -> RecordWorkOrderResult:
        async with transaction(self.deps.sessions) as db:
            return await record_step(db, arg, portal_url=self.deps.portal_url)
