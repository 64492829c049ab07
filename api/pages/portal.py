"""The customer portal: my cases, open a case, knowledge search, and one case's public
timeline with the customer's actions."""

import uuid
from typing import Annotated

from fastapi import Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from api.auth import Principal
from api.deps import ClientDep, PagePrincipal, SessionDep, SessionsDep, SettingsDep
from api.errors import Problem
from api.pages.base import action_route, back, first_error, need, page_router, render
from api.rate_limit import limit_portal_opening
from api.schemas.cases import CaseCreate
from api.schemas.csat import CsatCreate
from api.services import cases, csat, intake
from api.services.catalog import knowledge
from models.cases import CaseEvent
from workflows.actions import ACTIONS, Action
from workflows.vocabulary import CUSTOMERS, STAFF, CaseState, Channel

PORTAL_ACTIONS = (Action.CUSTOMER_REPLY, Action.ACCEPT, Action.REJECT)
MY_CASES = 100
CUSTOMER_STATES = {
    CaseState.NEW: "Received",
    CaseState.OPEN: "In progress",
    CaseState.AWAITING_INFO: "Waiting for you",
    CaseState.RESOLVED: "Resolved — please confirm",
    CaseState.CLOSED: "Closed",
    CaseState.CANCELLED: "Cancelled",
}
CUSTOMER_EVENTS = {
    "opened": "Case opened",
    "respond": "Reply from support",
    "await_info": "Question from support",
    "customer_reply": "Reply",
    "resolve": "Proposed resolution",
    "accept": "Resolution accepted",
    "reject": "Resolution rejected",
    "closed": "Case closed",
    "cancel": "Case cancelled",
}
FORM_ERRORS = {
    "subject": "Please give a one-line subject of at most 300 characters.",
    "description": "The description may be at most 20,000 characters.",
}
router = page_router()


async def portal_page(
    request: Request,
    db,
    who: Principal,
    *,
    q: str = "",
    form: dict | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    terms = q.replace("\x00", "").strip()
    articles = []
    if terms:
        found = await knowledge.search(db=db, principal=who, q=terms, limit=10)
        articles = found["items"]
    context = {
        "title": "Your cases",
        "cases": await cases.latest(db=db, who=who, limit=MY_CASES),
        "states": CUSTOMER_STATES,
        "q": terms,
        "articles": articles,
        # A fresh key per form: a double submit (or a resend after a time-out) opens one case.
        "form": form or {"subject": "", "description": "", "key": str(uuid.uuid4())},
        "error": error,
    }
    return render(request, "portal.html", context, status_code)


@router.get("/portal")
async def portal(
    request: Request,
    db: SessionDep,
    who: PagePrincipal,
    q: Annotated[str, Query(max_length=200)] = "",
):
    need(who, CUSTOMERS)
    return await portal_page(request, db, who, q=q)


@router.post("/portal/cases", dependencies=[Depends(limit_portal_opening)])
async def portal_open_case(
    request: Request,
    db: SessionDep,
    sessions: SessionsDep,
    client: ClientDep,
    settings: SettingsDep,
    who: PagePrincipal,
    subject: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    key: Annotated[str, Form(max_length=200)] = "",
):
    need(who, CUSTOMERS)
    form = {"subject": subject, "description": description, "key": key or str(uuid.uuid4())}
    try:
        body = CaseCreate(
            subject=subject,
            description=description if description.strip() else None,
            channel=Channel.PORTAL,
        )
    except ValidationError as err:
        field = str(err.errors()[0].get("loc", ("",))[0])
        message = FORM_ERRORS.get(field, first_error(err))
        return await portal_page(request, db, who, form=form, error=message, status_code=422)
    try:
        opened = await intake.create(
            db=db,
            sessions=sessions,
            client=client,
            task_queue=settings.task_queue,
            who=who,
            body=body,
            idempotency_key=f"portal-form:{key}" if key else None,
        )
    except Problem as exc:
        if exc.status != 422:
            raise
        return await portal_page(request, db, who, form=form, error=exc.detail, status_code=422)
    return back(
        f"/portal/cases/{opened.case_id}",
        "ok",
        f"Case {opened.number} is open; we will be in touch.",
    )


@router.get("/portal/cases/{case_id}")
async def portal_case(request: Request, case_id: uuid.UUID, db: SessionDep, who: PagePrincipal):
    need(who, CUSTOMERS)
    case = await cases.visible_case(db=db, who=who, case_id=case_id)
    events = await cases.events(db=db, case_id=case.id, public_only=True)
    mine = str(who.subject_id) if who.subject_id else None
    own_case = who.subject_id in (case.contact_id, case.consumer_id)

    def by(e: CaseEvent) -> str:
        if e.actor_role in STAFF:
            return "Support team"
        if e.actor_role == "customer":  # intake records the requester without an id
            return "You" if own_case else (case.requester_name or "Customer")
        if e.actor_role in CUSTOMERS:
            return "You" if e.actor_id == mine else "Your colleague"
        return "Casework"

    context = {
        "title": f"{case.number} · {case.subject}",
        "case": case,
        "state_label": CUSTOMER_STATES.get(case.state, case.state),
        "events": [
            {
                "label": CUSTOMER_EVENTS.get(e.kind, e.kind.replace("_", " ").capitalize()),
                "at": e.at,
                "by": by(e),
                "body": e.body,
            }
            for e in events
        ],
        "can_reply": case.state in ACTIONS[Action.CUSTOMER_REPLY].allowed_in,
        "can_decide": case.state in ACTIONS[Action.ACCEPT].allowed_in,
        "can_rate": case.state == CaseState.CLOSED and own_case,
    }
    return render(request, "portal_case.html", context)


@router.get("/portal/cases/{case_id}/survey")
async def survey(case_id: uuid.UUID, who: PagePrincipal):
    """The survey mail's link: the case page, at its survey."""
    need(who, CUSTOMERS)
    return RedirectResponse(f"/portal/cases/{case_id}#survey", status_code=303)


@router.post("/portal/cases/{case_id}/survey")
async def answer_survey(
    case_id: uuid.UUID,
    db: SessionDep,
    who: PagePrincipal,
    score: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
):
    need(who, CUSTOMERS)
    page = f"/portal/cases/{case_id}"
    try:
        body = CsatCreate(score=score, comment=comment.strip() or None)
    except ValidationError:
        return back(page, "error", "Please pick a rating from 1 to 5.")
    try:
        await csat.answer(db=db, who=who, case_id=case_id, body=body)
    except Problem as exc:
        if exc.status in (404, 422):
            raise
        return back(page, "error", exc.detail)
    return back(page, "ok", "Thank you for your rating.")


action_route(router, "/portal", PORTAL_ACTIONS, CUSTOMERS)
