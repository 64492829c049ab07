"""The signed-in person's own page: who they are signed in as, and their browser sessions,
each of which they may end (the same as DELETE /api/v1/sessions/{id})."""

import uuid

from fastapi import Request

from api.deps import PagePrincipal, SessionDep
from api.pages.base import back, page_router, render
from api.services import sessions

SHOWN = 100
router = page_router()


@router.get("/account")
async def account(request: Request, db: SessionDep, who: PagePrincipal):
    found = await sessions.listed(
        db=db, who=who, subject_id=None, active=True, limit=SHOWN, cursor=None
    )
    context = {"title": "Your sessions", "sessions": found["items"]}
    return render(request, "account.html", context)


@router.post("/account/sessions/{session_id}/end")
async def end_session(session_id: uuid.UUID, db: SessionDep, who: PagePrincipal):
    await sessions.revoke(db=db, who=who, session_id=session_id)
    if session_id == who.session_id:
        return back("/login", "ok", "You are signed out.")
    return back("/account", "ok", "That session is ended.")
