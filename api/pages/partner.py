"""The partner's pages: the cases assigned to the partner's account, and one case with its
whole timeline, a public reply and an internal note (what a partner may do, ACTIONS)."""

import uuid

from fastapi import Request

from api.deps import PagePrincipal, SessionDep
from api.pages.base import action_route, need, page_router, render
from api.services import cases
from workflows.actions import ACTIONS, Action
from workflows.vocabulary import Role

PARTNERS = (Role.PARTNER,)
PARTNER_ACTIONS = tuple(a for a in Action if Role.PARTNER in ACTIONS[a].roles)
ASSIGNED = 200
router = page_router()


@router.get("/partner")
async def partner_home(request: Request, db: SessionDep, who: PagePrincipal):
    need(who, PARTNERS)
    context = {
        "title": "Cases assigned to you",
        "cases": await cases.latest(db=db, who=who, limit=ASSIGNED),
    }
    return render(request, "partner.html", context)


@router.get("/partner/cases/{case_id}")
async def partner_case(request: Request, case_id: uuid.UUID, db: SessionDep, who: PagePrincipal):
    need(who, PARTNERS)
    case = await cases.visible_case(db=db, who=who, case_id=case_id)
    context = {
        "title": f"{case.number} · {case.subject}",
        "case": case,
        "events": await cases.events(db=db, case_id=case.id, public_only=False),
        "offered": [a for a in PARTNER_ACTIONS if case.state in ACTIONS[a].allowed_in],
        "summaries": {a: ACTIONS[a].summary for a in PARTNER_ACTIONS},
    }
    return render(request, "partner_case.html", context)


action_route(router, "/partner", PARTNER_ACTIONS, PARTNERS)
