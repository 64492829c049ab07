"""What every page shares: templates and their filters, the page route (error pages, login
redirects, CSRF), flash messages, and taking an action from a form."""

import base64
import json
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, StrictUndefined
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from temporalio.service import RPCError

from api.auth import COOKIE, Principal
from api.deps import ClientDep, LoginRequired, PagePrincipal, SessionDep
from api.errors import TITLES, Problem
from api.schemas.cases import ActionBody
from api.schemas.field_service import FieldServiceBody, ItsmBody
from api.services.actions import run_action
from templates import ROOT as TEMPLATES
from templates import ResourceLoader
from workflows.actions import ACTIONS, Action
from workflows.vocabulary import Role

FLASH = "casework_flash"
# The pages load nothing from elsewhere and run no inline script (only our own script files,
# the console's live.js, which fetches only from us); forms post only to us.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; "
        "style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# What a person is told when their action went through.
DONE = {
    Action.RESPOND: "Reply sent to the customer.",
    Action.NOTE: "Internal note added.",
    Action.RESOLVE: "Resolution proposed to the customer.",
    Action.ASSIGN: "Case assigned.",
    Action.AWAIT_INFO: "Question sent; the case waits for the customer.",
    Action.CHANGE_PRIORITY: "Priority changed.",
    Action.CUSTOMER_REPLY: "Thank you, your reply was added.",
    Action.ACCEPT: "Thank you, the case is closed.",
    Action.REJECT: "The case is open again; we will get back to you.",
    Action.REQUEST_FIELD_SERVICE: "Field service requested: a work order is out for dispatch.",
    Action.ESCALATE_ITSM: "Incident opened in the service desk.",
    Action.ASSIGN_PARTNER: "Case assigned to the partner; its users now see and work it.",
}


def _listed(value: object) -> list[str]:
    """A form's comma-separated list ("fiber, ladder") as its items."""
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


# The actions whose input is nested (a request, an escalation): their form fields, read into
# the API's own body schema so the checks are the API's.
NESTED_FORMS = {
    Action.REQUEST_FIELD_SERVICE: lambda form: {
        "request": FieldServiceBody(
            skills=_listed(form.get("skills")),
            parts=_listed(form.get("parts")),
            notes=form.get("notes") or None,
        ).to_request()
    },
    Action.ESCALATE_ITSM: lambda form: {
        "escalation": ItsmBody(
            summary=form.get("summary") or None,
            urgency=form.get("urgency") or 3,
            impact=form.get("impact") or 3,
        ).to_escalation()
    },
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
    loader=ResourceLoader(TEMPLATES / "pages"),  # package data, wherever it is installed
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(when=when, span=span, ago=ago)
templates = Jinja2Templates(env=env)


# ----- the page route: errors, login redirects and CSRF ----------------------------------


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
    if who.is_customer:
        return "/portal"
    if who.role == Role.PARTNER:
        return "/partner"
    return "/console" if who.is_staff else "/account"


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
                response.headers.update(exc.headers or {})  # Retry-After, say
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


def page_router() -> APIRouter:
    """A router whose routes answer as pages (not in the OpenAPI document)."""
    return APIRouter(route_class=PageRoute, include_in_schema=False, tags=["pages"])


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
    base = {
        "who": who,
        "who_name": getattr(request.state, "who_name", None),
        "flash": None,
        "home": home_for(who),
    }
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


def first_error(err: ValidationError) -> str:
    e = err.errors()[0]
    where = ".".join(str(p) for p in e.get("loc", ()))
    return f"{where}: {e.get('msg', 'not valid')}" if where else str(e.get("msg", "not valid"))


# ----- actions from forms ----------------------------------------------------------------


def action_route(router: APIRouter, prefix: str, offered: tuple[Action, ...], audience) -> None:
    """POST {prefix}/cases/{case_id}/actions/{action}: one of the `offered` actions, taken from
    a form by a caller of the `audience` roles, answered by a redirect to the case page."""

    @router.post(prefix + "/cases/{case_id}/actions/{action}")
    async def act(
        request: Request,
        case_id: uuid.UUID,
        action: str,
        db: SessionDep,
        client: ClientDep,
        who: PagePrincipal,
    ):
        need(who, audience)
        if action not in offered:
            raise Problem(404, f"no such action {action!r}")
        url = f"{prefix}/cases/{case_id}"
        return await act_from_form(
            request, db=db, client=client, who=who, case_id=case_id, action=Action(action), url=url
        )


async def act_from_form(
    request: Request, *, db, client, who: Principal, case_id: uuid.UUID, action: Action, url: str
) -> Response:
    """The action with the form fields its input names (ACTIONS[action].fields), checked as
    the API checks a body; refusals (409/422) come back as a message on the case page."""
    form = await request.form()
    given = {}
    for name in ACTIONS[action].fields:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            given[name] = value
    try:
        fields = (
            NESTED_FORMS[action](form) if action in NESTED_FORMS else ActionBody(**given).fields()
        )
    except ValidationError as err:
        return back(url, "error", first_error(err))
    try:
        await run_action(
            db=db, client=client, who=who, case_id=case_id, action=action, fields=fields
        )
    except Problem as exc:
        if exc.status in (409, 422, 429):
            return back(url, "error", exc.detail)
        raise  # 403 and 404 are pages of their own
    except RPCError:
        return back(url, "error", "The workflow engine is not answering; please try again.")
    return back(url, "ok", DONE[action])
