"""HTML pages for people: login, the supervisor console and the customer portal.

Same permissions as the API: a page takes the bearer header or the `casework_token` cookie,
reads through the visibility filter, and acts through the very route functions of the API
(`cases.act`, `cases.create_case`), so a form can do nothing the API would refuse.
"""

import base64
import json
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from temporalio.service import RPCError

from api import visibility
from api.auth import COOKIE, CUSTOMERS, STAFF, Principal, principal_for
from api.deps import ClientDep, SessionDep, SessionsDep, SettingsDep, bearer
from api.errors import TITLES, Problem
from api.routes import cases, catalog
from api.schemas.cases import ActionBody, CaseCreate
from models.cases import OPEN_STATES, Case, CaseEvent, Notification
from models.customers import Account, Consumer, Contact
from models.people import Agent, Queue
from workflows.actions import ACTIONS

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "pages"
FLASH = "casework_flash"
SESSION_SECONDS = 12 * 3600
AT_RISK_SECONDS = 4 * 3600
RECENT_CASES = 25
CONSOLE_ACTIONS = ("respond", "note", "resolve", "assign")
PORTAL_ACTIONS = ("customer-reply", "accept", "reject")
# The pages load no script and nothing from elsewhere; forms post only to us.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


# ----- presentation helpers (Jinja filters) ---------------------------------------------


def as_datetime(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def when(value: datetime | str | None) -> str:
    at = as_datetime(value)
    return at.astimezone(UTC).strftime("%d %b %Y %H:%M") if at else "—"


def span(seconds: float | int | None) -> str:
    """A duration the way people say it: `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`."""
    if seconds is None:
        return "—"
    s = abs(int(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min"
    return f"{s} s"


def ago(value: datetime | str | None) -> str:
    at = as_datetime(value)
    if at is None:
        return "—"
    seconds = (datetime.now(UTC) - at).total_seconds()
    return "just now" if seconds < 60 else f"{span(seconds)} ago"


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(when=when, span=span, ago=ago)
templates = Jinja2Templates(env=env)


# ----- errors, login redirects and CSRF --------------------------------------------------


class LoginRequired(Exception):
    """No (valid) token: people are sent to the login form, then back where they were."""

    def __init__(self, next_path: str | None = None) -> None:
        super().__init__("login required")
        self.next_path = next_path


def same_origin(request: Request) -> bool:
    """CSRF guard for every form post, on top of the SameSite=Lax cookie (which a browser does
    not send on a cross-site POST). Browsers send `Origin` on form posts (older ones at least
    `Referer`); when one is present its host must be ours. Only the host is compared: behind a
    TLS-terminating proxy the scheme we see may differ from the browser's. Clients that send
    neither are not browsers on someone else's page, and a bearer header cannot be forged."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if claimed is None:
        return True
    return urlsplit(claimed).netloc.lower() == request.url.netloc.lower()


def home_for(who: Principal | None) -> str:
    if who is None:
        return "/login"
    return "/portal" if who.is_customer else "/console"


class PageRoute(APIRoute):
    """Answers people in HTML: problems as error pages, a missing login as a redirect."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                if request.method == "POST" and not same_origin(request):
                    raise Problem(403, "the form was posted from another site")
                response = await handler(request)
            except LoginRequired as exc:
                target = "/login"
                if exc.next_path:
                    target += "?next=" + quote(exc.next_path, safe="/")
                response = RedirectResponse(target, status_code=303)
                response.delete_cookie(COOKIE, path="/")
            except Problem as exc:
                response = error_page(request, exc.status, exc.detail)
            except RequestValidationError as exc:
                bad_path = any(e.get("loc", ("",))[0] == "path" for e in exc.errors())
                status = 404 if bad_path else 422
                response = error_page(request, status, "no such page" if bad_path else "bad input")
            except (DBAPIError, RPCError):
                detail = "The database or the workflow engine is not answering; try again."
                response = error_page(request, 503, detail)
                response.headers["Retry-After"] = "5"
            response.headers.update(SECURITY_HEADERS)
            return response

        return page_handler


router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["pages"])


async def page_principal(request: Request) -> Principal:
    token = bearer(request)
    next_path = request.url.path if request.method == "GET" else None
    if request.method == "GET" and request.url.query:
        next_path = f"{next_path}?{request.url.query}"
    if not token:
        raise LoginRequired(next_path)
    async with request.app.state.sessions() as db:
        try:
            who = await principal_for(db, token)
        except Problem as exc:
            raise LoginRequired(next_path) from exc
        request.state.who = who
        request.state.who_name = await person_name(db, who)
    return who


Who = Annotated[Principal, Depends(page_principal)]


def need(who: Principal, roles: tuple[str, ...]) -> None:
    if who.role not in roles:
        raise Problem(403, f"Your role ({who.role}) may not see this page.")


# ----- rendering and flash messages ------------------------------------------------------


def set_flash(response: Response, kind: str, text: str) -> None:
    """One message for the next page; a cookie so it survives the redirect (post/redirect/get)."""
    raw = json.dumps({"kind": kind, "text": text[:500]}).encode()
    response.set_cookie(
        FLASH,
        base64.urlsafe_b64encode(raw).decode().rstrip("="),  # `=` would need cookie quoting
        max_age=60,
        path="/",
        httponly=True,
        samesite="lax",
    )


def read_flash(request: Request) -> dict | None:
    raw = request.cookies.get(FLASH)
    if not raw:
        return None
    try:
        flash = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return {"kind": str(flash["kind"]), "text": str(flash["text"])}
    except (ValueError, KeyError, TypeError):
        return None


def render(request: Request, name: str, context: dict, status_code: int = 200) -> Response:
    who = getattr(request.state, "who", None)
    base = {"who": who, "who_name": getattr(request.state, "who_name", None), "flash": None}
    if FLASH in request.cookies:
        base["flash"] = read_flash(request)
    response = templates.TemplateResponse(request, name, base | context, status_code=status_code)
    if FLASH in request.cookies:
        response.delete_cookie(FLASH, path="/")
    return response


def error_page(request: Request, status: int, detail: str) -> Response:
    who = getattr(request.state, "who", None)
    context = {"title": TITLES.get(status, "Error"), "status": status, "detail": detail}
    return render(request, "error.html", context | {"home": home_for(who)}, status)


def back(url: str, kind: str, text: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    set_flash(response, kind, text)
    return response


async def person_name(db, who: Principal) -> str | None:
    """The name shown in the page header, when the token names a person."""
    model = {"contact": Contact, "consumer": Consumer}.get(who.role, Agent)
    if not who.subject_id or who.role not in (*STAFF, *CUSTOMERS):
        return None
    person = await db.get(model, who.subject_id)
    return person.name if person else None


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: `//evil.example` or `https://…` would be an open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


# ----- login -----------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, next: Annotated[str | None, Query()] = None):
    return render(
        request, "login.html", {"title": "Sign in", "error": None, "next": safe_next(next) or ""}
    )


@router.post("/login")
async def login(
    request: Request,
    token: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    try:
        async with request.app.state.sessions() as db:
            who = await principal_for(db, token.strip())
    except Problem:
        context = {
            "title": "Sign in",
            "error": "That token is unknown, revoked or expired.",
            "next": next,
        }
        return render(request, "login.html", context, 401)
    if not (who.is_staff or who.is_customer):
        context = {
            "title": "Sign in",
            "error": f"The role {who.role!r} has no pages here.",
            "next": next,
        }
        return render(request, "login.html", context, 403)
    response = RedirectResponse(safe_next(next) or home_for(who), status_code=303)
    response.set_cookie(
        COOKIE,
        token.strip(),
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout():
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# ----- console ---------------------------------------------------------------------------


async def agent_names(db, ids) -> dict:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    rows = await db.execute(select(Agent.id, Agent.name).where(Agent.id.in_(ids)))
    return dict(rows.all())


def first_clock(view: dict) -> dict | None:
    """The running clock that runs out first: what makes the case at risk."""
    running = [c for c in view["sla"] if c["due_at"] and not (c["stopped"] or c["paused"])]
    return min(running, key=lambda c: c["due_at"], default=None)


def case_row(case: Case, names: dict, now: datetime) -> dict:
    view = cases.case_view(case, now)
    due = case.next_due_at
    return {
        "id": case.id,
        "number": case.number,
        "subject": case.subject,
        "state": case.state,
        "priority": case.priority,
        "queue": case.queue,
        "channel": case.channel,
        "requester": case.requester_name or case.requester_email,
        "assignee": names.get(case.assigned_agent_id),
        "breached": case.breached,
        "created_at": case.created_at,
        "due_at": due,
        "remaining": (due - now).total_seconds() if due else None,
        "clock": first_clock(view),
    }


async def queue_counts(db, visible) -> list[dict]:
    is_open = Case.state.in_(OPEN_STATES)
    rows = await db.execute(
        select(
            Case.queue,
            func.count(),
            func.count().filter(Case.waiting_since.is_not(None)),
            func.count().filter(Case.state == "awaiting_info"),
            func.count().filter(Case.breached.is_(True)),
        )
        .where(is_open, visible)
        .group_by(Case.queue)
    )
    counts = {q: (n, w, a, b) for q, n, w, a, b in rows.all()}
    for name in (await db.execute(select(Queue.name))).scalars():
        counts.setdefault(name, (0, 0, 0, 0))
    keys = ("open", "waiting", "awaiting", "breached")
    return [
        {"name": q, **dict(zip(keys, counts[q], strict=True))}
        for q in sorted(counts, key=lambda q: (q is None, q or ""))
    ]


async def agent_rows(db) -> list[dict]:
    loads = dict(
        (
            await db.execute(
                select(Case.assigned_agent_id, func.count())
                .where(Case.state.in_(OPEN_STATES), Case.assigned_agent_id.is_not(None))
                .group_by(Case.assigned_agent_id)
            )
        ).all()
    )
    agents = (await db.execute(select(Agent).order_by(Agent.name).limit(500))).scalars()
    return [
        {
            "id": a.id,
            "name": a.name,
            "role": a.role,
            "status": a.status,
            "load": loads.get(a.id, 0),
            "capacity": a.capacity,
            "percent": min(100, round(100 * loads.get(a.id, 0) / a.capacity))
            if a.capacity
            else 100,
        }
        for a in agents
    ]


@router.get("/console")
async def console(request: Request, db: SessionDep, who: Who):
    need(who, STAFF)
    now = datetime.now(UTC)
    visible = await visibility.case_filter(db, who)
    at_risk = (
        (
            await db.execute(
                select(Case)
                .where(
                    visible,
                    Case.state.in_(OPEN_STATES),
                    Case.next_due_at.is_not(None),
                    Case.next_due_at <= now + timedelta(seconds=AT_RISK_SECONDS),
                )
                .order_by(Case.next_due_at, Case.id)
                .limit(50)
            )
        )
        .scalars()
        .all()
    )
    recent = (
        (
            await db.execute(
                select(Case)
                .where(visible)
                .order_by(Case.created_at.desc(), Case.id.desc())
                .limit(RECENT_CASES)
            )
        )
        .scalars()
        .all()
    )
    names = await agent_names(db, [c.assigned_agent_id for c in (*at_risk, *recent)])
    context = {
        "title": "Console",
        "now": now,
        "queues": await queue_counts(db, visible),
        "at_risk": [case_row(c, names, now) for c in at_risk],
        "at_risk_hours": AT_RISK_SECONDS // 3600,
        "agents": await agent_rows(db),
        "recent": [case_row(c, names, now) for c in recent],
    }
    return render(request, "console.html", context)


def may(who: Principal, action: str) -> bool:
    return who.role == "admin" or who.role in cases.ACTION_ROLES[action]


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


async def people(db, case: Case) -> dict:
    account = await db.get(Account, case.account_id) if case.account_id else None
    person = None
    if case.contact_id:
        person = await db.get(Contact, case.contact_id)
    elif case.consumer_id:
        person = await db.get(Consumer, case.consumer_id)
    return {
        "account": account.name if account else None,
        "requester": person.name if person else case.requester_name,
        "requester_email": person.email if person else case.requester_email,
    }


@router.get("/console/cases/{case_id}")
async def console_case(request: Request, case_id: uuid.UUID, db: SessionDep, who: Who):
    need(who, STAFF)
    case = await cases.visible_case(db, who, case_id)
    now = datetime.now(UTC)
    view = cases.case_view(case, now)
    events = (
        (
            await db.execute(
                select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
            )
        )
        .scalars()
        .all()
    )
    notes = await db.execute(
        select(Notification)
        .where(Notification.case_id == case.id)
        .order_by(Notification.created_at, Notification.id)
    )
    agents = await agent_rows(db)
    names = {a["id"]: a["name"] for a in agents}
    context = {
        "title": f"{case.number} · {case.subject}",
        "case": view,
        "who_is": await people(db, case),
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
        "notifications": list(notes.scalars()),
        "agents": agents,
        "actions": [
            a for a in CONSOLE_ACTIONS if may(who, a) and case.state in ACTIONS[a].allowed_in
        ],
    }
    return render(request, "console_case.html", context)


DONE = {
    "respond": "Reply sent to the customer.",
    "note": "Internal note added.",
    "resolve": "Resolution proposed to the customer.",
    "assign": "Case assigned.",
    "customer-reply": "Thank you, your reply was added.",
    "accept": "Thank you, the case is closed.",
    "reject": "The case is open again; we will get back to you.",
}


def first_error(err: ValidationError) -> str:
    e = err.errors()[0]
    where = ".".join(str(p) for p in e.get("loc", ()))
    return f"{where}: {e.get('msg', 'not valid')}" if where else str(e.get("msg", "not valid"))


async def run_action(
    *, db, client, who: Principal, case_id: uuid.UUID, action: str, fields: dict, url: str
) -> Response:
    """The API's own action route, with refusals (409/422) as a message on the case page."""
    try:
        body = ActionBody(**{k: v for k, v in fields.items() if v and v.strip()})
    except ValidationError as err:
        return back(url, "error", first_error(err))
    try:
        await cases.act(case_id=case_id, action=action, db=db, client=client, who=who, body=body)
    except Problem as exc:
        if exc.status in (409, 422):
            return back(url, "error", exc.detail)
        raise  # 403 and 404 are pages of their own
    except RPCError:
        return back(url, "error", "The workflow engine is not answering; please try again.")
    return back(url, "ok", DONE[action])


@router.post("/console/cases/{case_id}/actions/{action}")
async def console_act(
    case_id: uuid.UUID,
    action: str,
    db: SessionDep,
    client: ClientDep,
    who: Who,
    body: Annotated[str, Form()] = "",
    resolution: Annotated[str, Form()] = "",
    agent_id: Annotated[str, Form()] = "",
):
    need(who, STAFF)
    if action not in CONSOLE_ACTIONS:
        raise Problem(404, f"no such action {action!r}")
    fields = {"body": body, "resolution": resolution, "agent_id": agent_id}
    url = f"/console/cases/{case_id}"
    return await run_action(
        db=db, client=client, who=who, case_id=case_id, action=action, fields=fields, url=url
    )


# ----- portal ----------------------------------------------------------------------------

CUSTOMER_STATES = {
    "new": "Received",
    "open": "In progress",
    "awaiting_info": "Waiting for you",
    "resolved": "Resolved — please confirm",
    "closed": "Closed",
    "cancelled": "Cancelled",
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
    visible = await visibility.case_filter(db, who)
    mine = (
        (
            await db.execute(
                select(Case).where(visible).order_by(Case.created_at.desc(), Case.id).limit(100)
            )
        )
        .scalars()
        .all()
    )
    terms = q.replace("\x00", "").strip()
    articles = []
    if terms:
        found = await catalog.search_knowledge(db=db, principal=who, q=terms, limit=10)
        articles = found["items"]
    context = {
        "title": "Your cases",
        "cases": mine,
        "states": CUSTOMER_STATES,
        "q": terms,
        "articles": articles,
        "form": form or {"subject": "", "description": ""},
        "error": error,
    }
    return render(request, "portal.html", context, status_code)


@router.get("/portal")
async def portal(
    request: Request,
    db: SessionDep,
    who: Who,
    q: Annotated[str, Query(max_length=200)] = "",
):
    need(who, CUSTOMERS)
    return await portal_page(request, db, who, q=q)


@router.post("/portal/cases")
async def portal_open_case(
    request: Request,
    db: SessionDep,
    sessions: SessionsDep,
    client: ClientDep,
    settings: SettingsDep,
    who: Who,
    subject: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
):
    need(who, CUSTOMERS)
    form = {"subject": subject, "description": description}
    try:
        body = CaseCreate(
            subject=subject,
            description=description if description.strip() else None,
            channel="portal",
        )
    except ValidationError as err:
        field = str(err.errors()[0].get("loc", ("",))[0])
        message = FORM_ERRORS.get(field, first_error(err))
        return await portal_page(request, db, who, form=form, error=message, status_code=422)
    try:
        opened = await cases.open_for(db, sessions, client, settings, who, body)
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
async def portal_case(request: Request, case_id: uuid.UUID, db: SessionDep, who: Who):
    need(who, CUSTOMERS)
    case = await cases.visible_case(db, who, case_id)
    events = (
        (
            await db.execute(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id, CaseEvent.public.is_(True))
                .order_by(CaseEvent.id)
            )
        )
        .scalars()
        .all()
    )
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
        "can_reply": case.state in ACTIONS["customer-reply"].allowed_in,
        "can_decide": case.state in ACTIONS["accept"].allowed_in,
    }
    return render(request, "portal_case.html", context)


@router.post("/portal/cases/{case_id}/actions/{action}")
async def portal_act(
    case_id: uuid.UUID,
    action: str,
    db: SessionDep,
    client: ClientDep,
    who: Who,
    body: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    need(who, CUSTOMERS)
    if action not in PORTAL_ACTIONS:
        raise Problem(404, f"no such action {action!r}")
    url = f"/portal/cases/{case_id}"
    return await run_action(
        db=db,
        client=client,
        who=who,
        case_id=case_id,
        action=action,
        fields={"body": body, "reason": reason},
        url=url,
    )
