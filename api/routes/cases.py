"""Cases: open from any channel, read, list, timeline, notifications, and actions."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload
from temporalio.client import Client

from api import case_views, visibility
from api.auth import Principal, require
from api.case_service import open_case
from api.deps import (
    ClientDep,
    CurrentPrincipal,
    ReadSessionDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
)
from api.errors import Problem, not_found
from api.pagination import CursorQ, cut, page
from api.schemas.cases import (
    ActionBody,
    CaseCreate,
    CasePage,
    CaseRead,
    EventPage,
    NotificationPage,
    State,
)
from api.schemas.field_service import (
    FieldServiceBody,
    ItsmBody,
)
from api.updates import run_update
from models.cases import Case, CaseEvent, Notification
from models.customers import Account, AccountContact, Asset, Consumer, Contact, Product
from models.people import Agent
from workflows.case import CaseWorkflow
from workflows.lifecycle import ACTIONS, TERMINAL
from workflows.types import ActionInput, FieldServiceRequest, ItsmEscalation

router = APIRouter(tags=["cases"])
CaseId = Annotated[uuid.UUID, Path(description="The case id (UUID)")]
UPDATE_TIMEOUT = timedelta(seconds=20)  # then 503: the update id makes a retry safe

# Who may take each action (admin may take all).
ACTION_ROLES = {
    "assign": ("agent", "supervisor"),
    "respond": ("agent",),
    "note": ("agent",),
    "await-info": ("agent",),
    "customer-reply": ("contact", "consumer", "integration"),
    "change-priority": ("agent", "supervisor"),
    "resolve": ("agent",),
    "accept": ("contact", "consumer"),
    "reject": ("contact", "consumer"),
    "cancel": ("agent", "supervisor"),
    "request-field-service": ("agent",),
    "escalate-itsm": ("agent",),
}
REQUIRED = {
    "assign": "agent_id",
    "respond": "body",
    "note": "body",
    "await-info": "body",
    "customer-reply": "body",
    "change-priority": "priority",
    "resolve": "resolution",
}


def case_view(case: Case, now: datetime | None = None) -> dict:
    """The view of a Case read through the ORM (with the work orders and incidents it was
    read with; a case just created, never read, has none yet)."""
    values = {column.key: getattr(case, column.key) for column in case_views.COLUMNS}
    work_orders, incidents = loaded(case, "work_order_rows"), loaded(case, "incident_rows")
    return case_views.case_view(values, now or datetime.now(UTC), work_orders, incidents)


def loaded(case: Case, name: str) -> list:
    return [] if name in inspect(case).unloaded else list(getattr(case, name))


async def visible_case(db, who: Principal, case_id: uuid.UUID) -> Case:
    query = (
        select(Case)
        .where(Case.id == case_id, await visibility.case_filter(db, who))
        .options(selectinload(Case.work_order_rows), selectinload(Case.incident_rows))
    )
    case = (await db.execute(query.execution_options(populate_existing=True))).scalar()
    if case is None:
        raise not_found()
    return case


async def read_view(db, who: Principal, case_id: uuid.UUID) -> dict:
    """The view of a case the caller may see (404 otherwise)."""
    query = case_views.VIEW_SELECT.where(
        case_views.cases.c.id == case_id, await visibility.case_filter(db, who)
    )
    rows = (await db.execute(query)).all()
    if not rows:
        raise not_found()
    (view,) = await case_views.views(db, rows, datetime.now(UTC))
    return view


def recorded(db, case_id: uuid.UUID, action: str):
    """Whether the case's timeline holds the event of this action's update (its key)."""

    async def check(update_id: str) -> bool:
        key = f"{action}:{update_id}"
        query = select(CaseEvent.id).where(CaseEvent.case_id == case_id, CaseEvent.key == key)
        return (await db.execute(query)).first() is not None

    return check


def bad(field: str, msg: str) -> Problem:
    return Problem(422, msg, errors=[{"loc": ["body", field], "msg": msg}])


async def may_name_asset(db, who: Principal, asset: Asset) -> bool:
    """Staff may name any asset; a customer only their own (another customer's asset would
    bring that customer's entitlement and SLAs with it)."""
    if not who.is_customer:
        return True
    if who.role == "consumer":
        return asset.consumer_id == who.subject_id
    mine = await visibility.contact_accounts(db, who.subject_id)
    return asset.account_id is not None and asset.account_id in mine


async def check_requester(db, who: Principal, body: CaseCreate) -> dict:
    """Who the case is for, checked against what exists and what the caller may act for."""
    fields = body.model_dump(exclude={"email", "name", "category"})
    fields["category"] = body.category.model_dump(exclude_none=True) if body.category else {}
    fields["requester_email"] = body.email
    fields["requester_name"] = body.name
    if who.is_customer:
        for internal in ("priority", "queue", "required_skills", "parent_case_id"):
            if getattr(body, internal):
                raise bad(internal, f"customers cannot set {internal}")
        if who.role == "contact":
            fields.update(contact_id=who.subject_id, consumer_id=None, requester_email=None)
        else:
            fields.update(consumer_id=who.subject_id, contact_id=None, requester_email=None)
    given = [k for k in ("contact_id", "consumer_id", "requester_email") if fields.get(k)]
    if len(given) != 1:
        raise bad("contact_id", "give exactly one of contact_id, consumer_id or email")
    if fields["contact_id"]:
        contact = await db.get(Contact, fields["contact_id"])
        if contact is None:
            raise bad("contact_id", "no such contact")
        accounts = (
            (
                await db.execute(
                    select(AccountContact.account_id)
                    .where(AccountContact.contact_id == contact.id)
                    .order_by(AccountContact.primary.desc())
                )
            )
            .scalars()
            .all()
        )
        if fields["account_id"] and fields["account_id"] not in accounts:
            raise bad("account_id", "the contact does not belong to that account")
        if not fields["account_id"] and accounts:
            # The primary account, as intake would pick: set now so the case is visible to
            # the contact (visibility goes by account) from the moment it is answered.
            fields["account_id"] = accounts[0]
        fields["requester_name"] = contact.name
    elif fields["consumer_id"]:
        consumer = await db.get(Consumer, fields["consumer_id"])
        if consumer is None:
            raise bad("consumer_id", "no such consumer")
        fields["requester_name"] = consumer.name
        fields["account_id"] = None
    if fields.get("account_id") and await db.get(Account, fields["account_id"]) is None:
        raise bad("account_id", "no such account")
    if fields.get("product_id") and await db.get(Product, fields["product_id"]) is None:
        raise bad("product_id", "no such product")
    if fields.get("asset_id"):
        asset = await db.get(Asset, fields["asset_id"])
        if asset is None or not await may_name_asset(db, who, asset):
            raise bad("asset_id", "no such asset")
        fields["product_id"] = fields.get("product_id") or asset.product_id
    if fields.get("parent_case_id") and await db.get(Case, fields["parent_case_id"]) is None:
        raise bad("parent_case_id", "no such case")
    return fields


@router.post("/cases", status_code=201, response_model=CaseRead, summary="Open a case")
async def create_case(
    body: CaseCreate,
    db: SessionDep,
    sessions: SessionsDep,
    client: ClientDep,
    settings: SettingsDep,
    who: CurrentPrincipal,
):
    require(who, "supervisor", "agent", "integration", "contact", "consumer")
    fields = await check_requester(db, who, body)
    await db.rollback()
    case = await open_case(
        sessions=sessions,
        client=client,
        task_queue=settings.task_queue,
        fields=fields,
    )
    return case_view(case)


@router.get("/cases", response_model=CasePage, summary="List cases the caller may see")
async def list_cases(
    db: ReadSessionDep,
    who: CurrentPrincipal,
    state: State | None = None,
    priority: Annotated[int | None, Query(ge=1, le=4)] = None,
    assigned_agent_id: uuid.UUID | None = None,
    queue: Annotated[str | None, Query(max_length=100)] = None,
    account_id: uuid.UUID | None = None,
    breached: bool | None = None,
    parent_case_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorQ = None,
):
    columns = case_views.cases.c
    query = case_views.VIEW_SELECT.where(await visibility.case_filter(db, who))
    filters = {
        "state": state,
        "priority": priority,
        "assigned_agent_id": assigned_agent_id,
        "queue": queue,
        "account_id": account_id,
        "breached": breached,
        "parent_case_id": parent_case_id,
    }
    for name, value in filters.items():
        if value is not None:
            query = query.where(columns[name] == value)
    rows, next_cursor = cut((await db.execute(page(query, columns, limit, cursor))).all(), limit)
    items = await case_views.views(db, rows, datetime.now(UTC))
    return case_views.answer({"items": items, "next_cursor": next_cursor})


@router.get("/cases/{case_id}", response_model=CaseRead, summary="Read one case")
async def get_case(case_id: CaseId, db: ReadSessionDep, who: CurrentPrincipal):
    return case_views.answer(await read_view(db, who, case_id))


@router.get(
    "/cases/{case_id}/timeline", response_model=EventPage, summary="Every event, oldest first"
)
async def timeline(
    case_id: CaseId,
    db: SessionDep,
    who: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
    cursor: Annotated[int | None, Query(ge=0)] = None,
):
    await visible_case(db, who, case_id)
    query = select(CaseEvent).where(CaseEvent.case_id == case_id)
    if not who.is_staff and who.role != "integration":
        query = query.where(CaseEvent.public.is_(True))
    if cursor is not None:
        query = query.where(CaseEvent.id > cursor)
    rows = (await db.execute(query.order_by(CaseEvent.id).limit(limit + 1))).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {k: getattr(e, k) for k in ("id", "kind", "at", "actor_role", "actor_id", "public", "body")}
        | {"data": {k: v for k, v in (e.data or {}).items() if k != "intake"}}
        for e in rows
    ]
    return {"items": items, "next_cursor": str(rows[-1].id) if more else None}


@router.get(
    "/cases/{case_id}/notifications",
    response_model=NotificationPage,
    summary="Every notification sent for the case",
)
async def notifications(case_id: CaseId, db: SessionDep, who: CurrentPrincipal):
    require(who, "supervisor", "agent", "integration")
    await visible_case(db, who, case_id)
    rows = await db.execute(
        select(Notification)
        .where(Notification.case_id == case_id)
        .order_by(Notification.created_at, Notification.id)
    )
    return {"items": list(rows.scalars()), "next_cursor": None}


# ----- linked work: request-field-service and escalate-itsm (each with its own body) -------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def running_case(db, who: Principal, case_id: uuid.UUID, action: str, check=None) -> str:
    """The workflow id of a case the caller may act on, after the role, visibility, `check`
    (body rules needing the database) and state checks; the connection is released."""
    require(who, *ACTION_ROLES[action])
    columns = case_views.cases.c
    query = select(columns.workflow_id, columns.state).where(
        columns.id == case_id, await visibility.case_filter(db, who)
    )
    case = (await db.execute(query)).first()
    if case is None:
        raise not_found()
    if check is not None:
        await check()
    if case.state in TERMINAL:
        raise Problem(409, f"cannot {action} a case that is {case.state}")
    await db.rollback()  # do not hold a connection while the workflow works
    return case.workflow_id


async def linked_action(
    db, client: Client, who: Principal, case_id: uuid.UUID, arg: ActionInput
) -> Response:
    workflow_id = await running_case(db, who, case_id, arg.action)
    arg.actor_role = who.role
    arg.actor_id = str(who.subject_id) if who.subject_id else None
    return await apply_action(db, client, who, case_id, workflow_id, arg)


async def apply_action(
    db, client: Client, who: Principal, case_id: uuid.UUID, workflow_id: str, arg: ActionInput
) -> Response:
    """Run the action as the case's update; answer with the case as it is now."""
    await run_update(
        client.get_workflow_handle(workflow_id),
        CaseWorkflow.act,
        arg,
        action=arg.action,
        what="case",
        applied=recorded(db, case_id, arg.action),
    )
    return case_views.answer(await read_view(db, who, case_id))


# Registered before the generic action route, so that their own bodies are validated.
@router.post(
    "/cases/{case_id}/actions/request-field-service",
    response_model=CaseRead,
    summary="Spawn a field-service work order (a child workflow) for the case",
    responses={409: {"description": "the case's state does not allow it"}},
)
async def request_field_service(
    case_id: CaseId,
    db: ReadSessionDep,
    client: ClientDep,
    who: CurrentPrincipal,
    body: FieldServiceBody | None = None,
):
    body = body or FieldServiceBody()
    request = FieldServiceRequest(
        skills=list(body.skills),
        parts=list(body.parts),
        window_start=_iso(body.window_start),
        window_end=_iso(body.window_end),
        notes=body.notes,
        location=body.location,
        territory=body.territory,
        auto_resolve=body.auto_resolve,
    )
    arg = ActionInput("request-field-service", actor_role=who.role, field_service=request)
    return await linked_action(db, client, who, case_id, arg)


@router.post(
    "/cases/{case_id}/actions/escalate-itsm",
    response_model=CaseRead,
    summary="Open a linked ITSM incident (at most one open per case)",
    responses={409: {"description": "the state does not allow it, or an incident is open"}},
)
async def escalate_itsm(
    case_id: CaseId,
    db: ReadSessionDep,
    client: ClientDep,
    who: CurrentPrincipal,
    body: ItsmBody | None = None,
):
    body = body or ItsmBody()
    escalation = ItsmEscalation(body.summary, body.urgency, body.impact, body.auto_resolve)
    arg = ActionInput("escalate-itsm", actor_role=who.role, itsm=escalation)
    return await linked_action(db, client, who, case_id, arg)


@router.post(
    "/cases/{case_id}/actions/{action}",
    response_model=CaseRead,
    summary="Act on a running case",
    responses={409: {"description": "the case's state does not allow the action"}},
)
async def act(
    case_id: CaseId,
    action: Annotated[str, Path(max_length=40)],
    db: ReadSessionDep,
    client: ClientDep,
    who: CurrentPrincipal,
    body: ActionBody | None = None,
):
    if action not in ACTIONS:
        raise Problem(404, f"no such action {action!r}")
    body = body or ActionBody()

    async def check() -> None:
        needed = REQUIRED.get(action)
        if needed and getattr(body, needed) in (None, ""):
            raise bad(needed, f"{needed} is required for {action}")
        if action == "assign" and await db.get(Agent, body.agent_id) is None:
            raise bad("agent_id", "no such agent")

    workflow_id = await running_case(db, who, case_id, action, check)
    arg = ActionInput(
        action=action,
        actor_role=who.role,
        actor_id=str(who.subject_id) if who.subject_id else None,
        body=body.body or body.resolution,
        agent_id=str(body.agent_id) if body.agent_id else None,
        priority=body.priority,
        reason=body.reason,
    )
    return await apply_action(db, client, who, case_id, workflow_id, arg)
