"""Take one inbound message: open a case, append it to its case as a customer reply, or
ignore it (a loop, a bounce). POST /inbound/email and `casework mail-intake` both call
`receive`, so a message is treated the same whichever way it came.

Order of work, so that nothing is half-written: the message is read whole first (a bad one is
refused before any write); then the case is opened (an update-with-start keyed by the
Message-ID) or the customer-reply update is sent (its update id made from the Message-ID);
last, one transaction keeps the message, its attachments, the participants and the links.
A redelivery of the same message (an SMTP retry after a crash) finds the case or the update
again by those keys and completes the last step; one already kept gets the same answer.
"""

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from activities.db import event_once
from api.errors import Problem
from api.mail.message import InboundMail, Unreadable, loop_reason, read
from api.services import cases, intake
from api.updates import run_update
from casework.settings import Settings
from models.cases import Case, Notification
from models.mail import (
    BouncingAddress,
    CaseAttachment,
    CaseFollowUp,
    CaseParticipant,
    InboundMessage,
)
from models.participants import on_thread, opening_key
from workflows.actions import Action, CustomerReplyInput
from workflows.vocabulary import TERMINAL, CaseState, Channel, Role

OPENED, APPENDED, IGNORED = "opened", "appended", "ignored"
CASE_NUMBER = re.compile(r"\b(CS\d{7})\b", re.IGNORECASE)
REOPEN_PERIOD = timedelta(hours=1)


@dataclass
class Received:
    """What became of a message."""

    case_id: uuid.UUID | None
    action: str  # opened | appended | ignored
    reason: str


@dataclass
class Target:
    """The case a message answers, or the case a stranger quoted."""

    case: Case | None = None
    why: str = ""
    quoted: Case | None = None  # a case number in the subject from someone not on the case


async def receive(
    *,
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    settings: Settings,
    raw: bytes,
    envelope_from: str | None = None,
) -> Received:
    """Take `raw` (RFC 5322 bytes); `envelope_from` is SMTP's MAIL FROM ("" for <>).

    Raises Problem: 413 too large, 422 not a message or bad headers, 409 the case refused the
    reply, 503 the case did not open in time (the same message again completes it).
    """
    try:
        mail = read(
            raw,
            max_bytes=settings.mail_max_bytes,
            max_attachment_bytes=settings.mail_max_attachment_bytes,
        )
    except Unreadable as err:
        raise Problem(err.status, err.detail) from None
    if envelope_from is not None:  # we are the receiving MTA: the envelope is the return path
        mail.return_path = envelope_from.strip().strip("<>")
    async with sessions() as db:
        if (known := await _kept(db, mail.message_id)) is not None:
            return known
        target = await _target(db, mail)
    own = settings.own_addresses
    if why := loop_reason(mail, own):
        return await _ignore(sessions, mail, target.case, f"not answered: {why}")
    if target.case is None:
        return await _open(sessions, client, settings, mail, quoted=target.quoted)
    if target.case.state in TERMINAL:
        async with sessions() as db:
            follow_up = await _live_follow_up(db, target.case)
        if follow_up is None:
            return await _open(sessions, client, settings, mail, follows=target.case)
        why = f"{target.why}; {target.case.number} is {target.case.state}: its follow-up"
        target = Target(follow_up, why)
    return await _append(sessions, client, settings, mail, target)


# ----- which case --------------------------------------------------------------------------


async def _kept(db: AsyncSession, message_id: str) -> Received | None:
    query = select(InboundMessage.case_id, InboundMessage.action, InboundMessage.reason)
    row = (await db.execute(query.where(InboundMessage.message_id == message_id))).first()
    if row is None:
        return None
    return Received(row.case_id, row.action, f"already received: {row.reason}")


async def _target(db: AsyncSession, mail: InboundMail) -> Target:
    """The case by the thread (a Message-ID of ours, or of a message kept on a case), else by
    a case number in the subject when the sender is on that case."""
    ids = mail.thread_ids + ([mail.bounced_message_id] if mail.bounced_message_id else [])
    if ids:
        ours = select(Notification.case_id.label("case_id"), Notification.message_id).where(
            Notification.message_id.in_(ids), Notification.case_id.is_not(None)
        )
        theirs = select(InboundMessage.case_id, InboundMessage.message_id).where(
            InboundMessage.message_id.in_(ids), InboundMessage.case_id.is_not(None)
        )
        found = {row.message_id: row.case_id for row in await db.execute(ours.union_all(theirs))}
        for mid in ids:  # the message it answers directly wins over older ones
            if mid in found:
                case = await db.get(Case, found[mid])
                return Target(case, f"it answers {mid}")
    if m := CASE_NUMBER.search(mail.subject):
        number = m.group(1).upper()
        case = (await db.execute(select(Case).where(Case.number == number))).scalar()
        if case is not None:
            if mail.sender in await on_thread(db, case.id):
                return Target(case, f"{number} in the subject, from a participant")
            return Target(quoted=case)
    return Target()


async def _live_follow_up(db: AsyncSession, case: Case) -> Case | None:
    """The newest follow-up of a closed case, while it is still running: later replies to
    the old thread join it instead of opening one follow-up each."""
    query = (
        select(Case)
        .join(CaseFollowUp, CaseFollowUp.case_id == Case.id)
        .where(CaseFollowUp.follows_case_id == case.id, Case.state.not_in(TERMINAL))
        .order_by(CaseFollowUp.created_at.desc())
        .limit(1)
    )
    return (await db.execute(query)).scalar()


# ----- what is done ------------------------------------------------------------------------


async def _ignore(
    sessions: async_sessionmaker[AsyncSession],
    mail: InboundMail,
    case: Case | None,
    reason: str,
    *,
    held: bool = False,
) -> Received:
    """Keep the message and open nothing; a bounce marks its failed recipients. On the case
    it belongs to, a bounce and a reply `held` (not acted on) are noted for the agents."""
    async with sessions() as db, db.begin():
        for address in mail.failed_recipients:
            why = f"delivery failed (report {mail.message_id})"
            await db.execute(
                insert(BouncingAddress)
                .values(email=address, reason=why, since=datetime.now(UTC))
                .on_conflict_do_update(index_elements=["email"], set_={"reason": why})
            )
        if mail.failed_recipients:
            reason += f"; marked bouncing: {', '.join(mail.failed_recipients)}"
        case_id = case.id if case is not None else None
        if not await _keep(db, mail, case_id, IGNORED, reason):
            return await _kept(db, mail.message_id)  # type: ignore[return-value]
        if case is not None and (held or mail.failed_recipients):
            kind = "mail_held" if held else "mail_bounced"
            body = f"{reason}\n\n{_words(mail)}" if held else reason
            await event_once(
                db,
                case_id=case.id,
                key=opening_key(mail.message_id),
                kind=kind,
                public=False,
                body=body,
                data={"from": mail.sender, "failed": mail.failed_recipients},
                at=datetime.now(UTC),
            )
    return Received(case_id, IGNORED, reason)


async def _open(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    settings: Settings,
    mail: InboundMail,
    *,
    quoted: Case | None = None,
    follows: Case | None = None,
) -> Received:
    """A new case for the sender (intake finds or creates the customer, as for POST /cases
    with `email`), then the message, its people and files, and the flag or the link."""
    description = _words(mail)
    if follows is not None:
        description = f"Follow-up of {follows.number} (closed).\n\n{description}"
    fields = {
        "subject": mail.subject or "(no subject)",
        "channel": Channel.EMAIL,
        "description": description,
        "requester_email": mail.sender,
        "requester_name": mail.sender_name,
    }
    opening = await intake.open_case(
        sessions=sessions,
        client=client,
        task_queue=settings.task_queue,
        fields=fields,
        key=opening_key(mail.message_id),
    )
    if not opening.done:
        # Accepted (the case opens once a worker runs) but not yet kept: the engine is busy,
        # so the gateway sends it again and the same Message-ID finds the same case.
        raise Problem(429, "the case is still opening; send the message again", headers=RETRY)
    reason = "a new message"
    if quoted is not None:
        reason = (
            f"flagged: quotes {quoted.number} but {mail.sender} is not a participant of it; "
            "opened as a new case"
        )
    if follows is not None:
        reason = f"a reply to {follows.number}, which is {follows.state}: a follow-up case"
    now = datetime.now(UTC)
    async with sessions() as db, db.begin():
        if not await _keep(db, mail, opening.case_id, OPENED, reason, quoted=quoted):
            return await _kept(db, mail.message_id)  # type: ignore[return-value]
        await _add_participants(db, opening.case_id, [mail.sender, *_copied(mail, settings)])
        if quoted is not None:
            await event_once(
                db,
                case_id=opening.case_id,
                key="mail:flagged",
                kind="mail_flagged",
                public=False,
                body=f"The sender is not a participant of {quoted.number}, quoted in the "
                "subject: not attached to it. Check who this is before answering.",
                data={"quoted_case_id": str(quoted.id), "quoted_case_number": quoted.number},
                at=now,
            )
        if follows is not None:
            db.add(CaseFollowUp(case_id=opening.case_id, follows_case_id=follows.id))
            await _link_events(db, follows, opening, now)
    return Received(opening.case_id, OPENED, reason)


async def _link_events(db: AsyncSession, old: Case, new: intake.Opening, now: datetime) -> None:
    await event_once(
        db,
        case_id=new.case_id,
        key="mail:follows",
        kind="follow_up_of",
        public=True,
        body=f"Follow-up of {old.number}",
        data={"case_id": str(old.id), "number": old.number},
        at=now,
    )
    await event_once(
        db,
        case_id=old.id,
        key=f"mail:follow-up:{new.case_id}",
        kind="follow_up_opened",
        public=True,
        body=f"A reply after the case was {old.state} opened {new.number}",
        data={"case_id": str(new.case_id), "number": new.number},
        at=now,
    )


async def _append(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    settings: Settings,
    mail: InboundMail,
    target: Target,
) -> Received:
    """The message as the customer's reply on its case (resumes it from awaiting_info,
    reopens it when resolved), at most `mail_reopens_per_hour` reopenings an hour."""
    case = target.case
    assert case is not None
    reopens = case.state == CaseState.RESOLVED
    if reopens:
        async with sessions() as db:
            since = datetime.now(UTC) - REOPEN_PERIOD
            count = await db.scalar(
                select(func.count()).where(
                    InboundMessage.case_id == case.id,
                    InboundMessage.reopened.is_(True),
                    InboundMessage.created_at > since,
                )
            )
        if (count or 0) >= settings.mail_reopens_per_hour:
            why = (
                f"kept on {case.number} but not acted on: it was reopened by mail "
                f"{count} times in the last hour (at most {settings.mail_reopens_per_hour})"
            )
            return await _ignore(sessions, mail, case, why, held=True)
    action = Action.CUSTOMER_REPLY
    update_id = f"{action}-mail-{_digest(mail.message_id)}"

    async def applied(update_id: str) -> bool:
        async with sessions() as db:
            return await cases.recorded(db, case.id, action, update_id)

    arg = CustomerReplyInput(actor_role=Role.INTEGRATION, body=_words(mail))
    await run_update(
        client.get_workflow_handle(case.workflow_id),
        str(action),
        arg,
        action=action,
        what="case",
        update_id=update_id,
        applied=applied,
    )
    reason = f"a reply to {case.number}: {target.why}"
    if reopens:
        reason += "; the case was reopened"
    async with sessions() as db, db.begin():
        if not await _keep(db, mail, case.id, APPENDED, reason, reopened=reopens):
            return await _kept(db, mail.message_id)  # type: ignore[return-value]
        # Only someone on the thread brings people onto it: a reply by a stranger who had our
        # mail forwarded is kept on the case, but copies no one into its replies.
        if mail.sender in await on_thread(db, case.id):
            await _add_participants(db, case.id, _copied(mail, settings))
    return Received(case.id, APPENDED, reason)


RETRY = {"Retry-After": "5"}


async def _keep(
    db: AsyncSession,
    mail: InboundMail,
    case_id: uuid.UUID | None,
    action: str,
    reason: str,
    *,
    reopened: bool = False,
    quoted: Case | None = None,
) -> bool:
    """Insert the message (and its attachments, when it is on a case); False when a
    concurrent delivery of the same message kept it first."""
    row = InboundMessage(
        id=uuid.uuid4(),
        message_id=mail.message_id,
        case_id=case_id,
        sender=mail.sender,
        subject=mail.subject,
        recipients=[*mail.to, *mail.cc],
        references=[*mail.references, *mail.in_reply_to],
        text=_words(mail),
        raw=mail.raw,
        action=action,
        reason=reason,
        reopened=reopened,
        quoted_case_id=quoted.id if quoted is not None else None,
    )
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError:
        return False
    if case_id is not None and action != IGNORED:
        for a in mail.attachments:
            db.add(
                CaseAttachment(
                    id=uuid.uuid4(),
                    case_id=case_id,
                    message_id=row.id,
                    filename=a.filename,
                    content_type=a.content_type,
                    size=len(a.content),
                    content=a.content,
                )
            )
    return True


async def _add_participants(db: AsyncSession, case_id: uuid.UUID, emails: list[str]) -> None:
    values = [{"case_id": case_id, "email": e, "created_at": datetime.now(UTC)} for e in emails]
    if values:
        await db.execute(insert(CaseParticipant).values(values).on_conflict_do_nothing())


def _copied(mail: InboundMail, settings: Settings) -> list[str]:
    """The To and Cc of the message, but for our own addresses."""
    own = settings.own_addresses
    return [a for a in dict.fromkeys([*mail.to, *mail.cc]) if a not in own]


def _words(mail: InboundMail) -> str:
    if mail.text.strip():
        return mail.text
    if mail.attachments:
        names = ", ".join(a.filename for a in mail.attachments)
        return f"(no text; attached: {names})"
    return "(an empty message)"


def _digest(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()[:40]
