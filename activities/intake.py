"""Intake: resolve the customer, pick the entitlement and SLAs, set priority and queue, persist."""

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import outbox
from activities.db import event_once, set_case, transaction
from activities.deps import Deps
from activities.field_service import matching_rule, rule_request
from activities.identity import resolve_customer
from models.cases import Case, CaseEvent
from models.customers import Account, Asset
from models.people import Queue
from models.service import Entitlement, Schedule, SlaDefinition
from workflows import sla
from workflows.types import (
    AffectedCases,
    IntakeResult,
    PolicyChangeInput,
    SlaLookup,
    SlaLookupResult,
    SlaSpec,
)
from workflows.vocabulary import LIVE, CaseState

INTAKE_KEY = "intake"
# Finest grain first: an asset's entitlement beats its product's, which beats the contact's...
GRAIN_ORDER = ("asset_id", "product_id", "contact_id", "consumer_id", "account_id")
PREMIUM_TIERS = ("premium", "gold", "platinum")
# What intake reads of the case, and what it writes back in one UPDATE.
INTAKE_READS = (
    "channel",
    "description",
    "category",
    "priority_explicit",
    "created_at",
    "asset_id",
    "product_id",
    *(c.key for c in outbox.CASE_COLUMNS),
)
INTAKE_SETS = (
    "state",
    "version",
    "priority",
    "queue",
    "entitlement_id",
    "sla",
    "next_due_at",
    "account_id",
    "contact_id",
    "consumer_id",
    "product_id",
    "requester_name",
)
# Constant statements: compiled once, each call binds its values.
_TAKE_CASE = (
    select(*(Case.__table__.c[k] for k in INTAKE_READS))
    .where(Case.id == bindparam("case"))
    .with_for_update()
)
_INTAKE_DONE = select(CaseEvent.data).where(
    CaseEvent.case_id == bindparam("case"), CaseEvent.key == INTAKE_KEY
)
_ESCALATION = select(Queue.escalation_queue).where(Queue.name == bindparam("queue"))


async def account_chain(db: AsyncSession, account_id: uuid.UUID | None) -> list[uuid.UUID]:
    """The account and its ancestors: a site inherits its parent's entitlements."""
    chain: list[uuid.UUID] = []
    while account_id is not None and account_id not in chain and len(chain) < 20:
        chain.append(account_id)
        account_id = (
            await db.execute(select(Account.parent_id).where(Account.id == account_id))
        ).scalar()
    return chain


async def find_entitlement(db: AsyncSession, case: SimpleNamespace) -> Entitlement | None:
    """The active entitlement at the finest grain whose every set field matches the case."""
    today = datetime.now(UTC).date()
    chain = await account_chain(db, case.account_id)
    if case.asset_id and not case.product_id:
        asset = await db.get(Asset, case.asset_id)
        case.product_id = asset.product_id if asset else None
    have = {
        "asset_id": {case.asset_id},
        "product_id": {case.product_id},
        "contact_id": {case.contact_id},
        "consumer_id": {case.consumer_id},
        "account_id": set(chain),
    }
    # Only entitlements naming one of the case's own grains can match; the loop below
    # checks that every field they set matches.
    columns = {g: getattr(Entitlement, g) for g in GRAIN_ORDER}
    named = [columns[g].in_([v for v in vs if v is not None]) for g, vs in have.items()]
    rows = (
        await db.execute(select(Entitlement).where(Entitlement.active.is_(True), or_(*named)))
    ).scalars()
    best, best_rank = None, len(GRAIN_ORDER)
    for ent in rows:
        fields = {g: getattr(ent, g) for g in GRAIN_ORDER if getattr(ent, g) is not None}
        if not fields or any(v not in have[g] for g, v in fields.items()):
            continue
        if ent.starts_on and ent.starts_on > today or ent.ends_on and ent.ends_on < today:
            continue
        if ent.channels and case.channel not in ent.channels:
            continue
        units = ent.units or {}
        if units.get("kind") == "cases" and ent.units_used >= units.get("total", 0):
            continue
        rank = min(GRAIN_ORDER.index(g) for g in fields)
        if rank < best_rank:
            best, best_rank = ent, rank
    return best


def uses_entitlement(ent: Entitlement | None) -> bool:
    return ent is not None and bool(ent.sla_definition_ids)


async def sla_specs(db: AsyncSession, ent: Entitlement | None, priority: int) -> list[SlaSpec]:
    """The entitlement's SLA definitions, else the defaults for the priority."""
    if uses_entitlement(ent):
        ids = [uuid.UUID(i) for i in cast(Entitlement, ent).sla_definition_ids]
        query = select(SlaDefinition).where(SlaDefinition.id.in_(ids))
    else:
        query = select(SlaDefinition).where(SlaDefinition.default_for_priority == priority)
    query = query.add_columns(Schedule).outerjoin(
        Schedule, Schedule.id == SlaDefinition.schedule_id
    )
    rows = (await db.execute(query.order_by(SlaDefinition.kind.desc()))).all()
    pairs = cast(list[tuple[SlaDefinition, Schedule | None]], rows)  # with add_columns
    return [spec_of(d, schedule) for d, schedule in pairs]


def spec_of(d: SlaDefinition, s: Schedule | None) -> SlaSpec:
    schedule = None
    if s is not None:
        schedule = {"timezone": s.timezone, "hours": s.hours, "holidays": s.holidays}
    return SlaSpec(
        definition_id=str(d.id),
        name=d.name,
        kind=d.kind,
        duration_seconds=d.duration_seconds,
        schedule=schedule,
        warn_at=list(d.warn_at or []),
        pause_on=list(d.pause_on or []),
    )


def decode(data: dict[str, Any]) -> IntakeResult:
    result = IntakeResult(**{k: v for k, v in data.items() if k != "slas"})
    result.slas = [SlaSpec(**s) for s in data.get("slas", [])]
    return result


async def intake(
    db: AsyncSession,
    *,
    case_id: str,
    default_queue: str,
    reopen_window_seconds: int,
    portal_url: str,
) -> IntakeResult:
    """Resolve, entitle, time and acknowledge the case, in the caller's transaction.

    Idempotent: a retry after the commit finds the "opened" event and answers as it did.
    """
    row = (await db.execute(_TAKE_CASE, {"case": uuid.UUID(case_id)})).first()
    if row is None:
        raise ApplicationError("no such case", type="CaseNotFound", non_retryable=True)
    done = (await db.execute(_INTAKE_DONE, {"case": row.id})).scalar()
    if done is not None:  # a retry after the commit: the same answer again
        return decode(done["intake"])
    case = SimpleNamespace(**row._mapping)  # what the steps below fill in
    await resolve_customer(db, case)
    ent = await find_entitlement(db, case)
    if ent is not None and (ent.units or {}).get("kind") == "cases":
        ent.units_used += 1
    if not case.priority_explicit:
        case.priority = 2 if ent is not None and ent.tier in PREMIUM_TIERS else 3
    case.entitlement_id = ent.id if ent else None
    case.queue = case.queue or default_queue
    specs = await sla_specs(db, ent, case.priority)
    clocks = [sla.SlaClock(spec) for spec in specs]
    for clock in clocks:
        sla.start(clock, case.created_at)
    now = datetime.now(UTC)
    views = [sla.view(clock, now) for clock in clocks]
    case.sla = views
    dues = [datetime.fromisoformat(v["due_at"]) for v in views if v["due_at"]]
    case.next_due_at = min(dues) if dues else None
    case.state, case.version = CaseState.OPEN, 1
    result = IntakeResult(
        priority=case.priority,
        queue=case.queue,
        account_id=str(case.account_id) if case.account_id else None,
        contact_id=str(case.contact_id) if case.contact_id else None,
        consumer_id=str(case.consumer_id) if case.consumer_id else None,
        entitlement_id=str(ent.id) if ent else None,
        reopen_window_seconds=(
            ent.reopen_window_seconds
            if ent and ent.reopen_window_seconds
            else reopen_window_seconds
        ),
        slas=specs,
        created_at=case.created_at.isoformat(),
        sla_source="entitlement" if uses_entitlement(ent) else "priority",
        escalation_queue=(await db.execute(_ESCALATION, {"queue": case.queue})).scalar(),
    )
    rule = await matching_rule(db, case.category)
    result.field_service = rule_request(rule) if rule else None
    await set_case(db, case.id, **{k: getattr(case, k) for k in INTAKE_SETS})
    ack = await outbox.enqueue(
        db,
        case=case,
        key=f"{case.id}:ack",
        template="acknowledgement",
        to="customer",
        portal_url=portal_url,
        body=case.description,
    )
    result.notification_ids = [str(ack)] if ack else []
    # "opened" comes first on the timeline, before routing's events
    await event_once(
        db,
        case_id=case.id,
        key=INTAKE_KEY,
        kind="opened",
        actor_role="customer",
        body=case.description,
        public=True,
        data={"intake": asdict(result), "channel": case.channel},
        at=case.created_at,
    )
    return result


async def cases_using(db: AsyncSession, definition_ids: list[str]) -> AffectedCases:
    """Running cases with a clock on any of the definitions, and the definitions now."""
    ids = [uuid.UUID(i) for i in definition_ids]
    defs = await db.execute(
        select(SlaDefinition, Schedule)
        .outerjoin(Schedule, Schedule.id == SlaDefinition.schedule_id)
        .where(SlaDefinition.id.in_(ids))
    )
    specs = [spec_of(d, schedule) for d, schedule in defs.all()]
    using = or_(*(Case.sla.contains([{"definition_id": i}]) for i in definition_ids))
    rows = await db.execute(
        select(Case.workflow_id).where(Case.state.in_(LIVE), using).order_by(Case.id)
    )
    return AffectedCases(list(rows.scalars()), specs)


class SlaActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="default_slas")
    async def default_slas(self, arg: SlaLookup) -> SlaLookupResult:
        async with transaction(self.deps.sessions) as db:
            return SlaLookupResult(await sla_specs(db, None, arg.priority))

    @activity.defn(name="find_cases_using")
    async def find_cases_using(self, arg: PolicyChangeInput) -> AffectedCases:
        async with transaction(self.deps.sessions) as db:
            return await cases_using(db, arg.definition_ids)
