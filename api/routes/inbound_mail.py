"""Inbound email (a raw RFC 5322 message from the mail gateway) and the attachments it
brings to cases."""

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy import select

from api.auth import require
from api.deps import (
    ClientDep,
    CurrentPrincipal,
    ReadSessionDep,
    SessionsDep,
    SettingsDep,
    check_signature,
)
from api.errors import Problem, not_found
from api.rate_limit import limit_inbound_mail
from api.schemas.mail import (
    EXAMPLE_MESSAGE,
    AttachmentRead,
    InboundEmailRead,
    InboundMessageRead,
)
from api.services import attachments, cases, inbound_mail
from api.updates import BUSY
from models.mail import CaseAttachment, InboundMessage
from workflows.vocabulary import STAFF, Role

router = APIRouter()
PATH = "/inbound/email"
MEDIA_TYPE = "message/rfc822"
# What mail gateways send a raw message as: the mail type itself, or bytes.
MEDIA_TYPES = (MEDIA_TYPE, "application/octet-stream")
CaseId = Annotated[uuid.UUID, Path(description="The case id (UUID)")]


@router.post(
    PATH,
    response_model=InboundEmailRead,
    tags=["integrations"],
    summary="Take an inbound email (raw RFC 5322, message/rfc822)",
    responses={
        401: {"description": "missing or bad X-Casework-Signature"},
        413: {"description": "the message or an attachment exceeds its size limit"},
        415: {"description": "the body is not message/rfc822 (or application/octet-stream)"},
        **BUSY,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}, "example": EXAMPLE_MESSAGE}
                for kind in MEDIA_TYPES
            },
        }
    },
)
async def receive_email(
    request: Request,
    sessions: SessionsDep,
    client: ClientDep,
    settings: SettingsDep,
    who: CurrentPrincipal,
) -> InboundEmailRead:
    """The mail gateway hands over one message as it arrived. A reply to one of our mails (by
    In-Reply-To/References, or a case number in the subject from someone on that case) is
    added to its case as the customer's reply; a reply to a closed case opens a follow-up case;
    anything else opens a case (flagged when it quotes a case number its sender is not on).
    Auto-replies, bounces and bulk mail open nothing and are never answered (`ignored`, with
    the reason); a bounce marks the failed address as bouncing. The same message twice gets
    the same answer. Signed like the other integration endpoints when
    CASEWORK_WEBHOOK_SECRET is set."""
    require(who, Role.INTEGRATION)
    limit_inbound_mail(request, who)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in MEDIA_TYPES:
        raise Problem(415, f"send the message as {MEDIA_TYPE}, not {kind or 'nothing'}")
    raw = await _body(request, settings.mail_max_bytes)
    check_signature(request, raw, settings)
    got = await inbound_mail.receive(sessions=sessions, client=client, settings=settings, raw=raw)
    return InboundEmailRead(case_id=got.case_id, action=got.action, reason=got.reason)


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it passes `limit`, however it is sent (chunked too)."""
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"the message exceeds the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def _listed(db, who, case_id: uuid.UUID, model, *columns) -> list:
    """`columns` (and the id) of the case's rows of `model`, oldest first; 404 when the
    caller may not see the case."""
    await cases.visible_case(db=db, who=who, case_id=case_id)
    rows = await db.execute(
        select(model.id, *columns)
        .where(model.case_id == case_id)
        .order_by(model.created_at, model.id)
    )
    return list(rows.all())


async def _file(db, who, case_id: uuid.UUID, model, object_id: uuid.UUID):
    """The case's row of `model` with that id; 404 when the caller may not see the case or
    the row is another case's."""
    await cases.visible_case(db=db, who=who, case_id=case_id)
    found = await db.get(model, object_id)
    if found is None or found.case_id != case_id:
        raise not_found()
    return found


def _download(content: bytes, media_type: str, filename: str) -> Response:
    """Always as a download, never rendered by the browser (an HTML attachment runs nothing)."""
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/cases/{case_id}/attachments",
    response_model=list[AttachmentRead],
    tags=["cases"],
    summary="List a case's attachments",
)
async def list_attachments(case_id: CaseId, db: ReadSessionDep, who: CurrentPrincipal):
    """Every file that came with the case's mail, oldest first (404 for a case the caller
    may not see)."""
    await cases.visible_case(db=db, who=who, case_id=case_id)
    return [AttachmentRead(**a) for a in await attachments.listed(db, case_id)]


@router.get(
    "/cases/{case_id}/attachments/{attachment_id}",
    tags=["cases"],
    summary="Download one attachment",
    response_class=Response,
    responses={
        200: {
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            "description": "the file, as the type it came with",
        }
    },
)
async def download_attachment(
    case_id: CaseId, attachment_id: uuid.UUID, db: ReadSessionDep, who: CurrentPrincipal
):
    """The file as it came; 404 when the caller may not see the case or the file is not
    the case's."""
    found = await _file(db, who, case_id, CaseAttachment, attachment_id)
    return _download(found.content, found.content_type, found.filename)


@router.get(
    "/cases/{case_id}/messages",
    response_model=list[InboundMessageRead],
    tags=["cases"],
    summary="List the inbound mail kept on a case",
)
async def list_messages(case_id: CaseId, db: ReadSessionDep, who: CurrentPrincipal):
    """Every inbound message on the case, oldest first, with what was done with it (staff and
    integrations: the raw mail may name people the customer's view does not)."""
    require(who, *cases.INTERNAL_READERS, *STAFF)
    m = InboundMessage
    rows = await _listed(
        db,
        who,
        case_id,
        m,
        m.message_id,
        m.sender,
        m.subject,
        m.recipients,
        m.action,
        m.reason,
        m.created_at,
    )
    url = f"/api/v1/cases/{case_id}/messages"
    return [InboundMessageRead(**row._mapping, raw_url=f"{url}/{row.id}") for row in rows]


@router.get(
    "/cases/{case_id}/messages/{message_id}",
    tags=["cases"],
    summary="Download an inbound message whole (message/rfc822)",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}}},
)
async def download_message(
    case_id: CaseId, message_id: uuid.UUID, db: ReadSessionDep, who: CurrentPrincipal
):
    """The message exactly as it arrived: every header and part, the quoted history too."""
    require(who, *cases.INTERNAL_READERS, *STAFF)
    found = await _file(db, who, case_id, InboundMessage, message_id)
    return _download(found.raw, MEDIA_TYPE, f"{message_id}.eml")
