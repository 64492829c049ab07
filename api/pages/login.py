"""Sign-in and log-out: an emailed one-time link (or, for integrations and tests, an API
token) starts a browser session of its own; log-out ends it on the server."""

from typing import Annotated

from fastapi import Depends, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.auth import COOKIE, Principal, principal_for
from api.errors import Problem
from api.pages.base import home_for, page_router, render
from api.rate_limit import limit_login, limit_sign_in_address
from api.services import sessions, sign_in
from workflows.vocabulary import Role

router = page_router()
# Roles that have pages (a technician's and an integration's work is in the API).
WITH_PAGES = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.PARTNER, Role.CONTACT, Role.CONSUMER)
# What a refused link's page says, and its status.
REFUSALS = {
    sign_in.Refused.INVALID: (
        400,
        "This sign-in link is not valid",
        "The link is not one we sent, or it was changed on its way (a mail program may "
        "have cut it). Ask for a new one below.",
    ),
    sign_in.Refused.USED: (
        410,
        "This sign-in link was already used",
        "Each link signs in once. Ask for a new one below.",
    ),
    sign_in.Refused.EXPIRED: (
        410,
        "This sign-in link has expired",
        f"A link works for {sign_in.LINK_SECONDS // 60} minutes. Ask for a new one below.",
    ),
}
LinkValue = Annotated[str, Path(max_length=200)]


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: `//evil.example` or `https://…` would be an open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


def over_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS: directly, or through a TLS-terminating
    proxy that says so. Trusting the header can only add `Secure`, which never weakens the
    cookie; uvicorn (FORWARDED_ALLOW_IPS) already rewrites the scheme for trusted proxies."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def login_page(
    request: Request,
    *,
    next: str = "",
    error: str | None = None,
    sent: bool = False,
    refused: tuple[int, str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "title": "Sign in",
        "error": error,
        "next": next,
        "sent": sent,
        "refused": refused and {"title": refused[1], "detail": refused[2]},
    }
    return render(request, "login.html", context, refused[0] if refused else status_code)


async def signed_in(request: Request, who: Principal, *, via: str, next: str = "") -> Response:
    """Start a session for `who` and send the browser on with its cookie; a session this
    browser had before is ended (one browser, one person)."""
    settings = request.app.state.settings
    async with request.app.state.sessions() as db:
        await sessions.end(db, request.cookies.get(COOKIE))
        secret = await sessions.start(
            db,
            role=who.role,
            subject_id=who.subject_id,
            via=via,
            seconds=settings.session_seconds,
        )
    response = RedirectResponse(safe_next(next) or home_for(who), status_code=303)
    response.set_cookie(
        COOKIE,
        secret,
        max_age=settings.session_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=over_https(request),
    )
    return response


@router.get("/login")
async def login_form(request: Request, next: Annotated[str | None, Query()] = None):
    return login_page(request, next=safe_next(next) or "")


@router.post("/login", dependencies=[Depends(limit_login)])
async def login(
    request: Request,
    token: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    """An API token signs in (integrations, tests): the cookie gets a session, not the token."""
    try:
        async with request.app.state.sessions() as db:
            who = await principal_for(db, token.strip())
    except Problem:
        error = "That token is unknown, revoked or expired."
        return login_page(request, next=next, error=error, status_code=401)
    if who.role not in WITH_PAGES:
        error = f"The role {who.role!r} has no pages here."
        return login_page(request, next=next, error=error, status_code=403)
    return await signed_in(request, who, via="token", next=next)


@router.post("/login/email", dependencies=[Depends(limit_login)])
async def email_link(request: Request, email: Annotated[str, Form(max_length=320)] = ""):
    """Mail a one-time sign-in link; the same answer whether or not anyone has the address."""
    limit_sign_in_address(request, sign_in.address_key(email))
    settings = request.app.state.settings
    async with request.app.state.sessions() as db:
        await sign_in.send_links(db, email=email, public_url=settings.public_url)
    return login_page(request, sent=True)


@router.get("/login/link/{value}")
async def follow_link(request: Request, value: LinkValue):
    """The mailed link: a page whose button signs in. Opening the link uses nothing, so a
    mail scanner that fetches it first does not spend it."""
    async with request.app.state.sessions() as db:
        found = await sign_in.check(db, value)
        if isinstance(found, sign_in.Refused):
            return login_page(request, refused=REFUSALS[found])
        who = await sign_in.person(db, found.role, found.subject_id)
    if who is None or who.email != found.email:
        return login_page(request, refused=REFUSALS[sign_in.Refused.INVALID])
    context = {"title": "Sign in", "value": value, "person": who}
    return render(request, "login_confirm.html", context)


@router.post("/login/link", dependencies=[Depends(limit_login)])
async def take_link(request: Request, value: Annotated[str, Form(max_length=200)] = ""):
    """Use the link (once) and sign in as the person it was sent to."""
    async with request.app.state.sessions() as db:
        taken = await sign_in.take(db, value)
    if isinstance(taken, sign_in.Refused):
        return login_page(request, refused=REFUSALS[taken])
    who = Principal(taken.role, taken.subject_id)
    return await signed_in(request, who, via="email-link")


@router.post("/logout")
async def logout(request: Request):
    """End the session on the server (a copy of the cookie stops working too)."""
    async with request.app.state.sessions() as db:
        await sessions.end(db, request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response
