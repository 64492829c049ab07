"""Cases: open from any channel, read, list, timeline, notifications, and actions."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse

from api import case_views
from api.auth import require
from api.deps import (
    ClientDep,
    CurrentPrincipal,
    ReadSessionDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
)
from api.pagination import CursorQ
from api.rate_limit import limit_api_opening
from api.schemas.case_workflow import CaseWorkflowRead
from api.schemas.cases import (
    ActionBody,
    CaseCreate,
    CasePage,
    CaseRead,
    EventCursorQ,
    EventPage,
    NotificationPage,
)
from api.schemas.csat import CsatCreate, CsatRead
from api.schemas.field_service import FieldServiceBody, ItsmBody
from api.services import case_workflow, cases, csat, intake
from api.services.actions import run_action
from api.updates import BUSY
from workflows.actions import ACTIONS, Action
from workflows.vocabulary import CaseState, Role

router = APIRouter(tags=["cases"])
CaseId = Annotated[uuid.UUID, Path(description="The case id (UUID)")]
ActionName = Annotated[
    Action,
    Path(
        description="The action; who may take it and in which states is in API.md.\n\n"
        + "\n".join(f"- `{a}`: {ACTIONS[a].summary}" for a in Action)
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=200,
        description="The same key on the same case and action applies the action once",
    ),
]
OPENERS = (Role.SUPERVISOR, Role.AGENT, Role.INTEGRATION, Role.CONTACT, Role.CONSUMER)
NOTIFICATION_READERS = (Role.SUPERVISOR, Role.AGENT, Role.INTEGRATION)
REFUSED = {409: {"description": "the case's state does not allow the action"}, **BUSY}


@router.post(
    "/cases",
    status_code=201,
    response_model=CaseRead,
    summary="Open a case",
    responses={
        200: {"description": "the case an earlier request with this Idempotency-Key opened"},
        202: {"description": "accepted: intake has not finished yet (read the case later)"},
        429: {"description": "a customer opened too many cases in a short time (Retry-After)"},
    },
    dependencies=[Depends(limit_api_opening)],
)
async def create_case(
    body: CaseCreate,
    db: SessionDep,
    sessions: SessionsDep,
    client: ClientDep,
    settings: SettingsDep,
    who: CurrentPrincipal,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            description="The same key within 24 hours answers the same case (200)",
        ),
    ] = None,
):
    """One update-with-start of the case's workflow: the answer is the case as intake made
    it (the customer resolved, the entitlement, the SLA due times, the assignee or queue)."""
    require(who, *OPENERS)
    opening = await intake.create(
        db=db,
        sessions=sessions,
        client=client,
        task_queue=settings.task_queue,
        who=who,
        body=body,
        idempotency_key=idempotency_key,
    )
    if not opening.done:
        accepted = {"id": str(opening.case_id), "number": opening.number}
        return JSONResponse(accepted | {"workflow_id": opening.workflow_id, "state": "new"}, 202)
    view = await cases.get(db=db, who=who, case_id=opening.case_id)
    return case_views.answer(view, status_code=201 if opening.fresh else 200)


@router.get("/cases", response_model=CasePage, summary="List cases the caller may see")
async def list_cases(
    db: ReadSessionDep,
    who: CurrentPrincipal,
    state: CaseState | None = None,
    priority: Annotated[int | None, Query(ge=1, le=4)] = None,
    assigned_agent_id: uuid.UUID | None = None,
    queue: Annotated[str | None, Query(max_length=100)] = None,
    account_id: uuid.UUID | None = None,
    breached: bool | None = None,
    parent_case_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorQ = None,
):
    """The cases the caller may see (a customer their own, staff every case), newest first,
    filtered by state, priority, assignee, queue, account, breach or parent case; keyset paging
    through `cursor` (the `next_cursor` of the page before)."""
    filters = {
        "state": state,
        "priority": priority,
        "assigned_agent_id": assigned_agent_id,
        "queue": queue,
        "account_id": account_id,
        "breached": breached,
        "parent_case_id": parent_case_id,
    }
    page = await cases.list_views(db=db, who=who, filters=filters, limit=limit, cursor=cursor)
    return case_views.answer(page)


@router.get("/cases/{case_id}", response_model=CaseRead, summary="Read one case")
async def get_case(case_id: CaseId, db: ReadSessionDep, who: CurrentPrincipal):
    """The case as its row has it: state, priority, customer, assignee and queue, SLA clocks and
    their due times, the next deadline. 404 for a case the caller may not see."""
    return case_views.answer(await cases.get(db=db, who=who, case_id=case_id))


@router.post(
    "/cases/{case_id}/csat",
    status_code=201,
    response_model=CsatRead,
    summary="Answer the satisfaction survey of a closed case (its customer, once)",
    responses={409: {"description": "the case is not closed, or the survey was answered"}},
)
async def answer_survey(case_id: CaseId, body: CsatCreate, db: SessionDep, who: CurrentPrincipal):
    """The case's customer scores a closed case (1 to 5, with an optional comment). Once per case:
    a second answer, or one before the case is closed, is 409."""
    return await csat.answer(db=db, who=who, case_id=case_id, body=body)


@router.get(
    "/cases/{case_id}/timeline", response_model=EventPage, summary="Every event, oldest first"
)
async def timeline(
    case_id: CaseId,
    db: SessionDep,
    who: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
    cursor: EventCursorQ = None,
):
    """The case's timeline: every event (opening, replies, notes, state changes, SLA warnings and
    breaches, work orders, incidents), oldest first. Customers see only public events. Keyset
    paging through `cursor`."""
    return await cases.timeline(db=db, who=who, case_id=case_id, limit=limit, cursor=cursor)


@router.get(
    "/cases/{case_id}/notifications",
    response_model=NotificationPage,
    summary="Every notification sent for the case",
)
async def notifications(case_id: CaseId, db: SessionDep, who: CurrentPrincipal):
    """The outbox rows of the case: each mail, its recipient and template, and whether it is
    pending, sent or failed (with the last error). Staff and integrations only."""
    require(who, *NOTIFICATION_READERS)
    return await cases.notifications(db=db, who=who, case_id=case_id)


@router.get(
    "/cases/{case_id}/workflow",
    response_model=CaseWorkflowRead,
    summary="What Temporal knows now about the case's workflow",
    responses={503: {"description": "Temporal is not answering"}},
)
async def workflow(
    case_id: CaseId,
    db: ReadSessionDep,
    client: ClientDep,
    settings: SettingsDep,
    who: CurrentPrincipal,
):
    """Status, run id, history length and continue-as-new count of the latest run, the next
    deadline and what it is, pending activities, child work orders and the Temporal UI link.
    A workflow Temporal no longer keeps answers 200 with status GONE."""
    require(who, *case_workflow.READERS)
    case = await cases.visible_case(db=db, who=who, case_id=case_id)
    return await case_workflow.inspect(client=client, case=case, ui=settings.temporal_ui_url)


async def _act(db, client, who, case_id, action: Action, fields: dict, key: str | None):
    view = await run_action(
        db=db,
        client=client,
        who=who,
        case_id=case_id,
        action=action,
        fields=fields,
        idempotency_key=key,
    )
    return case_views.answer(view)


# Registered before the generic action route, so that their own bodies are validated.
@router.post(
    "/cases/{case_id}/actions/request-field-service",
    response_model=CaseRead,
    summary=ACTIONS[Action.REQUEST_FIELD_SERVICE].summary + " for the case",
    responses=REFUSED,
)
async def request_field_service(
    case_id: CaseId,
    db: ReadSessionDep,
    client: ClientDep,
    who: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
    body: FieldServiceBody | None = None,
):
    """An agent asks for a technician: a work order (a child workflow) with the skills, parts,
    window and place it needs, dispatched to a fitting technician as soon as one is free. The
    case moves on when the work order does."""
    fields = {"request": (body or FieldServiceBody()).to_request()}
    return await _act(
        db, client, who, case_id, Action.REQUEST_FIELD_SERVICE, fields, idempotency_key
    )


@router.post(
    "/cases/{case_id}/actions/escalate-itsm",
    response_model=CaseRead,
    summary=ACTIONS[Action.ESCALATE_ITSM].summary,
    responses={409: {"description": "the state does not allow it, or an incident is open"}, **BUSY},
)
async def escalate_itsm(
    case_id: CaseId,
    db: ReadSessionDep,
    client: ClientDep,
    who: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
    body: ItsmBody | None = None,
):
    """An agent opens an incident in the service desk (built-in, or an outside one by signed
    webhook) linked to the case; its state comes back on the case's timeline. At most one open
    incident per case (409)."""
    fields = {"escalation": (body or ItsmBody()).to_escalation()}
    return await _act(db, client, who, case_id, Action.ESCALATE_ITSM, fields, idempotency_key)


@router.post(
    "/cases/{case_id}/actions/{action}",
    response_model=CaseRead,
    summary="Act on a running case",
    responses=REFUSED,
)
async def act(
    case_id: CaseId,
    action: ActionName,
    db: ReadSessionDep,
    client: ClientDep,
    who: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
    body: ActionBody | None = None,
):
    """One action on the case's running workflow (an update): the body carries what the action
    needs (see the action's list). Answers the case as the action left it; 409 when the case's
    state or the caller's role does not allow it, 429 while the workflow stays busy. The same
    Idempotency-Key applies the action once."""
    fields = (body or ActionBody()).fields()
    return await _act(db, client, who, case_id, action, fields, idempotency_key)
