"""The supervisor console: queues, at-risk cases, agents, and one case with its actions."""

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request, Response
from temporalio.service import RPCError

from api import visibility
from api.deps import PagePrincipal, SessionDep
from api.errors import Problem
from api.pages.base import action_route, need, page_router, render
from api.pages.metric_cards import cards
from api.pagination import CursorQ
from api.services import (
    attachments,
    case_workflow,
    cases,
    console,
    customer360,
    health,
    health_score,
    metrics,
)
from api.services.partners import partner_accounts
from api.services.people import agent_names
from models.cases import Case, CaseEvent
from templates import ROOT as TEMPLATES
from workflows.actions import ACTIONS, Action, may_take
from workflows.vocabulary import STAFF, Role

AT_RISK_SECONDS = 4 * 3600
PAGE = 25  # rows per page of the at-risk and waiting lists
REFRESH_SECONDS = 30
RECENT_CASES = 25
CONSOLE_ACTIONS = (
    Action.RESPOND,
    Action.NOTE,
    Action.RESOLVE,
    Action.ASSIGN,
    Action.AWAIT_INFO,
    Action.CHANGE_PRIORITY,
    Action.REQUEST_FIELD_SERVICE,
    Action.ESCALATE_ITSM,
    Action.ASSIGN_PARTNER,
)
router = page_router()
LIVE_JS = (TEMPLATES / "pages" / "live.js").read_text(encoding="utf-8")


@router.get("/console")
async def console_home(
    request: Request,
    db: SessionDep,
    who: PagePrincipal,
    queue: Annotated[str | None, Query(max_length=80)] = None,
    priority: Annotated[int | None, Query(ge=1, le=4)] = None,
    risk_page: CursorQ = None,
    waiting_page: CursorQ = None,
    refresh: Annotated[int, Query(ge=1, le=3600)] = REFRESH_SECONDS,
):
    need(who, STAFF)
    now = datetime.now(UTC)
    visible = await visibility.case_filter(db, who)
    chosen = {"queue": queue or None, "priority": priority}
    within = timedelta(seconds=AT_RISK_SECONDS)
    at_risk, next_risk = await console.at_risk_cases(
        db=db, visible=visible, now=now, within=within, limit=PAGE, page=risk_page, **chosen
    )
    waiting, next_waiting = await console.waiting_cases(
        db=db, visible=visible, limit=PAGE, page=waiting_page, **chosen
    )
    recent = await cases.latest(db=db, who=who, limit=RECENT_CASES)
    shown = (*at_risk, *waiting, *recent)
    names = await agent_names(db, [c.assigned_agent_id for c in shown])
    filters = {k: v for k, v in chosen.items() if v is not None}
    context = {
        "title": "Console",
        "now": now,
        "refresh_seconds": refresh,
        "filters": chosen,
        "priorities": console.PRIORITIES,
        "queues": await console.queue_counts(db=db, visible=visible),
        "at_risk": [console.case_row(c, names, now) for c in at_risk],
        "at_risk_next": next_risk and "/console?" + urlencode(filters | {"risk_page": next_risk}),
        "at_risk_hours": AT_RISK_SECONDS // 3600,
        "waiting": [console.case_row(c, names, now) for c in waiting],
        "waiting_next": next_waiting
        and "/console?" + urlencode(filters | {"waiting_page": next_waiting}),
        "agents": await console.agent_rows(db=db),
        "recent": [console.case_row(c, names, now) for c in recent],
    }
    # Live: templates/pages/live.js swaps the at-risk and queue panels in place; without
    # JavaScript the page's <noscript> meta refresh reloads it whole.
    return render(request, "console.html", context)


@router.get("/console/live.js")
async def live_script():
    """The console's live-refresh script, from the package (no CDN, no build step)."""
    return Response(LIVE_JS, media_type="text/javascript")


@router.get("/console/metrics")
async def console_metrics(
    request: Request,
    db: SessionDep,
    who: PagePrincipal,
    since: date | None = None,
    until: date | None = None,
):
    """Every service metric over [since, until) (days, UTC; until inclusive on the form)."""
    need(who, (Role.ADMIN, *metrics.READERS))
    now = datetime.now(UTC)
    start = since and datetime.combine(since, time(), UTC)
    if until == date.max:
        raise Problem(422, "until is too late", errors=[{"loc": ["query", "until"]}])
    end = until and datetime.combine(until + timedelta(days=1), time(), UTC)
    start, end = metrics.window(start, end, now)
    summary = await metrics.summary(db=db, since=start, until=end)
    context = {
        "title": "Metrics",
        "since": start.date(),
        "until": (end - timedelta(microseconds=1)).date(),
        "cards": cards(summary),
    }
    return render(request, "console_metrics.html", context)


@router.get("/console/accounts")
async def console_accounts(
    request: Request, db: SessionDep, who: PagePrincipal, page: CursorQ = None
):
    """Customer health: every account's score with its reasons, most at risk first."""
    need(who, (Role.ADMIN, *metrics.READERS))
    cache = health.cache_of(request.app)
    found = await health.accounts(
        db=db, now=datetime.now(UTC), limit=PAGE, cursor=page, cache=cache
    )
    context = {
        "title": "Customer health",
        "since": found["since"],
        "until": found["until"],
        "accounts": found["items"],
        "next": found["next_cursor"]
        and "/console/accounts?" + urlencode({"page": found["next_cursor"]}),
        "weights": health_score.WEIGHTS,
    }
    return render(request, "console_accounts.html", context)


def event_details(event: CaseEvent, names: dict) -> list[tuple[str, str]]:
    """The event's data as short `key: value` pairs for staff (intake internals left out)."""
    pairs: dict[str, str] = {}
    for key, value in (event.data or {}).items():
        if key == "intake" or value in (None, "", [], {}):
            continue
        if key.endswith("agent_id"):  # an id means nothing to a person: show the name
            key, value = key.removesuffix("_id"), names.get(_uuid(value), value)
        elif isinstance(value, dict | list):
            value = json.dumps(value, default=str)
        pairs.setdefault(key.replace("_", " "), str(value))
    return list(pairs.items())


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@router.get("/console/cases/{case_id}")
async def console_case(request: Request, case_id: uuid.UUID, db: SessionDep, who: PagePrincipal):
    need(who, STAFF)
    case = await cases.visible_case(db=db, who=who, case_id=case_id)
    now = datetime.now(UTC)
    events = await cases.events(db=db, case_id=case.id, public_only=False)
    agents = await console.agent_rows(db=db)
    names = {a["id"]: a["name"] for a in agents}
    context = {
        "title": f"{case.number} · {case.subject}",
        "case": cases.view_of(case, now),
        "customer": await customer360.customer(
            db=db, case=case, health_cache=health.cache_of(request.app)
        ),
        **await workflow_panel(request, who, case),
        "assignee": names.get(case.assigned_agent_id),
        "events": [
            {
                "kind": e.kind.replace("_", " ").capitalize(),
                "at": e.at,
                "actor": e.actor_role or "system",
                "public": e.public,
                "body": e.body,
                "details": event_details(e, names),
            }
            for e in events
        ],
        "attachments": await attachments.listed(db, case.id),
        "partners": await partner_accounts(db),
        "partner_account_id": case.partner_account_id,
        "notifications": await cases.notifications_of(db=db, case_id=case.id),
        "agents": agents,
        "actions": [
            a
            for a in CONSOLE_ACTIONS
            if may_take(who.role, a) and case.state in ACTIONS[a].allowed_in
        ],
    }
    return render(request, "console_case.html", context)


async def workflow_panel(request: Request, who, case: Case) -> dict:
    """The case's workflow for those who may inspect it; the page still renders (saying so)
    while Temporal is away."""
    if not case_workflow.may_inspect(who):
        return {"workflow": None, "workflow_problem": None}
    try:
        client = await request.app.state.temporal.get()
        return {
            "workflow": await case_workflow.inspect(
                client=client, case=case, ui=request.app.state.settings.temporal_ui_url
            ),
            "workflow_problem": None,
        }
    except (Problem, RPCError):
        return {"workflow": None, "workflow_problem": "Temporal is not answering; try again."}


action_route(router, "/console", CONSOLE_ACTIONS, STAFF)
