"""Monitoring events: post one (opens a major case and a child case per affected customer),
read its progress, list them, clear one (resolves them together)."""

import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from api.auth import require
from api.deps import ClientDep, CurrentPrincipal, ReadSessionDep, SessionsDep, SettingsDep
from api.errors import Problem
from api.pagination import CursorQ, LimitQ
from api.schemas.events import (
    EventClear,
    MonitoringEventCreate,
    MonitoringEventPage,
    MonitoringEventRead,
)
from api.services import events
from workflows.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_fresh

router = APIRouter(tags=["events"])
EventRef = Annotated[uuid.UUID, Path(description="The event's id (UUID) in Casework")]


async def check_signature(request: Request, settings) -> None:
    """With CASEWORK_WEBHOOK_SECRET set, an integration's body must be signed (401 if not)."""
    if not settings.webhook_secret:
        return
    refused = verify_fresh(
        settings.webhook_secret,
        await request.body(),
        request.headers.get(SIGNATURE_HEADER),
        request.headers.get(TIMESTAMP_HEADER),
        time.time(),
    )
    if refused:
        raise Problem(401, refused)


def answer(view: dict, status_code: int) -> JSONResponse:
    body = MonitoringEventRead.model_validate(view).model_dump(mode="json")
    return JSONResponse(body, status_code=status_code)


@router.post(
    "/events",
    status_code=201,
    response_model=MonitoringEventRead,
    summary="Post a monitoring event: one major case, one child case per affected customer",
    responses={
        200: {"description": "the same (source, event_id) was posted before: the same major case"},
        202: {"description": "accepted: the major case is not open yet (read the event later)"},
        401: {"description": "missing or bad X-Casework-Signature (when a secret is set)"},
        422: {"description": "unknown product or asset ids (named); nothing was opened"},
    },
)
async def post_event(
    body: MonitoringEventCreate,
    request: Request,
    sessions: SessionsDep,
    client: ClientDep,
    settings: SettingsDep,
    who: CurrentPrincipal,
):
    """Idempotent on (source, event_id): posting the same event again, even five times at
    once, opens nothing new and answers with the same major case. The affected customers are
    the owners (accounts or consumers) of the given assets, or of every asset of the product
    (narrowed by location); each gets one child case, listing their affected assets, which
    acknowledges them by mail. The children open in batches after the answer: `GET
    /events/{id}` shows how far they are."""
    require(who, *events.POSTERS)
    await check_signature(request, settings)
    view, fresh, done = await events.post(
        sessions=sessions, client=client, task_queue=settings.task_queue, body=body
    )
    return answer(view, 201 if fresh and done else 200 if done else 202)


@router.get("/events", response_model=MonitoringEventPage, summary="List monitoring events")
async def list_events(
    db: ReadSessionDep, who: CurrentPrincipal, limit: LimitQ = 50, cursor: CursorQ = None
):
    """Oldest first, each with its progress (affected, opened, notified, resolved)."""
    require(who, *events.READERS)
    return await events.list_page(db=db, limit=limit, cursor=cursor)


@router.get(
    "/events/{event_ref}", response_model=MonitoringEventRead, summary="An event and its progress"
)
async def get_event(event_ref: EventRef, db: ReadSessionDep, who: CurrentPrincipal):
    """`affected` customers; child cases `opened` (intake done); customers `notified` (their
    acknowledgement sent); children `resolved` (resolved or closed)."""
    require(who, *events.READERS)
    return await events.get(db=db, event_ref=event_ref)


@router.post(
    "/events/{event_ref}/clear",
    response_model=MonitoringEventRead,
    summary="Clear an event: resolve its major case and every child still open",
    responses={401: {"description": "missing or bad X-Casework-Signature (when a secret is set)"}},
)
async def clear_event(
    event_ref: EventRef,
    request: Request,
    sessions: SessionsDep,
    client: ClientDep,
    settings: SettingsDep,
    who: CurrentPrincipal,
    body: EventClear | None = None,
):
    """Resolves the major case and every child still new, open or awaiting_info with the
    resolution; children already resolved or closed are left alone. Each child's reopen
    window then runs on its own. Clearing again changes nothing."""
    require(who, *events.CLEARERS)
    await check_signature(request, settings)
    return await events.clear(
        sessions=sessions,
        client=client,
        who=who,
        event_ref=event_ref,
        body=body or EventClear(),
    )
