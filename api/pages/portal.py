"""The customer portal: what needs my action, my cases and my account's, my assets and their
open work orders, knowledge search, and one case's public timeline with the customer's actions
(reply, accept or reject a proposed resolution, the survey). Opening a case: portal_open."""

import uuid
from typing import Annotated

from fastapi import Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from api.auth import Principal
from api.deps import PagePrincipal, SessionDep
from api.errors import Problem
from api.pages.base import action_route, back, need, page_router, render
from api.schemas.csat import CsatCreate
from api.services import attachments, cases, csat, install_base, portal
from models.cases import CaseEvent
from models.customers import Asset, Product
from workflows.actions import ACTIONS, Action
from workflows.vocabulary import CUSTOMERS, STAFF, CaseState, Role

PORTAL_ACTIONS = (Action.CUSTOMER_REPLY, Action.ACCEPT, Action.REJECT)
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
router = page_router()


async def portal_page(request: Request, db, who: Principal, *, q: str = "") -> Response:
    terms = q.replace("\x00", "").strip()
    work: dict[uuid.UUID | None, list] = {}
    for order in await install_base.open_work_orders(db, who):
        work.setdefault(order.asset_id, []).append(order)
    context = {
        "title": "Your cases",
        "banners": await portal.banners(db, who),
        "action_needed": await portal.action_needed(db, who),
        "cases": await portal.my_cases(db, who),
        "account_cases": await portal.account_cases(db, who),
        "is_contact": who.role == Role.CONTACT,
        "assets": await install_base.assets(db, who),
        "work_orders": work,
        "states": CUSTOMER_STATES,
        "q": terms,
        "articles": await portal.suggestions(db, who, terms, 10),
        # Carried to the next step: a double submit of the form there opens one case.
        "key": str(uuid.uuid4()),
    }
    return render(request, "portal.html", context)


@router.get("/portal")
async def portal_home(
    request: Request,
    db: SessionDep,
    who: PagePrincipal,
    q: Annotated[str, Query(max_length=200)] = "",
):
    need(who, CUSTOMERS)
    return await portal_page(request, db, who, q=q)


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
        "attachments": await attachments.listed(db, case.id),
        "can_reply": case.state in ACTIONS[Action.CUSTOMER_REPLY].allowed_in,
        "can_decide": case.state in ACTIONS[Action.ACCEPT].allowed_in,
        "can_rate": case.state == CaseState.CLOSED and own_case,
        "product": case.product_id and await db.get(Product, case.product_id),
        "asset": case.asset_id and await db.get(Asset, case.asset_id),
        "issue": " · ".join(
            str(v) for v in ((case.category or {}).get(k) for k in ("issue_type", "symptom")) if v
        ),
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
