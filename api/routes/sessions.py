"""Browser sessions: list the caller's own (an admin: anyone's), end one."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import CurrentPrincipal, SessionDep
from api.pagination import CursorQ, LimitQ
from api.schemas.sessions import SessionPage
from api.services import sessions

router = APIRouter(tags=["sessions"])


@router.get("/sessions", response_model=SessionPage, summary="List browser sessions")
async def list_sessions(
    db: SessionDep,
    who: CurrentPrincipal,
    subject_id: Annotated[uuid.UUID | None, Query(description="admin: one person's")] = None,
    active: Annotated[bool, Query(description="only those not ended nor expired")] = False,
    limit: LimitQ = 50,
    cursor: CursorQ = None,
):
    """The caller's own sessions (the same role and person, whether the caller came with a
    token or the cookie); an admin sees everyone's, or one person's with `subject_id`.
    `current` marks the session of this request."""
    return await sessions.listed(
        db=db, who=who, subject_id=subject_id, active=active, limit=limit, cursor=cursor
    )


@router.delete(
    "/sessions/{session_id:uuid}",
    status_code=204,
    summary="End a browser session",
    responses={404: {"description": "no such session of the caller's"}},
)
async def end_session(session_id: uuid.UUID, db: SessionDep, who: CurrentPrincipal) -> Response:
    """Revoke the session at once: its cookie no longer signs anyone in. The caller's own;
    an admin: anyone's. Ending one twice keeps the first time."""
    await sessions.revoke(db=db, who=who, session_id=session_id)
    return Response(status_code=204)
