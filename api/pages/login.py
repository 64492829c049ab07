"""The login form: a token (or the cookie it sets) signs a person in; logout forgets it."""

from typing import Annotated

from fastapi import Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from api.auth import COOKIE, principal_for
from api.errors import Problem
from api.pages.base import home_for, page_router, render
from api.rate_limit import limit_login

SESSION_SECONDS = 12 * 3600
router = page_router()


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: `//evil.example` or `https://…` would be an open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


@router.get("/login")
async def login_form(request: Request, next: Annotated[str | None, Query()] = None):
    return render(
        request, "login.html", {"title": "Sign in", "error": None, "next": safe_next(next) or ""}
    )


@router.post("/login", dependencies=[Depends(limit_login)])
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
