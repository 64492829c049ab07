"""Who is on a case's mail thread, and which addresses bounce: the reads that inbound mail
(api/services/inbound_mail.py) and the outbox's reply-all (activities/outbox.py) share."""

import hashlib
import uuid
from typing import Any

from sqlalchemy import bindparam, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from models.cases import Case, IntakeKey
from models.customers import Consumer, Contact
from models.mail import BouncingAddress, CaseParticipant, InboundMessage

MAIL_KEY = "mail:"  # the Idempotency-Keys of cases opened by mail
MAX_KEY = 300  # intake_keys.key


# Constant statements: built and compiled once; each call binds only its values (a statement
# built per call costs SQLAlchemy a cache key walk every time: the outbox asks these for every
# reply to a customer).
_CASE = Case.__table__.c
_PEOPLE = union_all(
    select(literal(0).label("o"), Contact.email.label("email"))
    .join(Case, Case.contact_id == Contact.id)
    .where(_CASE.id == bindparam("case_id")),
    select(literal(0), Consumer.email)
    .join(Case, Case.consumer_id == Consumer.id)
    .where(_CASE.id == bindparam("case_id")),
    select(literal(1), _CASE.requester_email).where(
        _CASE.id == bindparam("case_id"), _CASE.requester_email.is_not(None)
    ),
    select(literal(2), CaseParticipant.email).where(
        CaseParticipant.case_id == bindparam("case_id")
    ),
).subquery()
_ON_THREAD = select(_PEOPLE.c.email).order_by(_PEOPLE.c.o, _PEOPLE.c.email)
_LAST_KEPT = (
    select(InboundMessage.message_id, InboundMessage.references)
    .where(
        InboundMessage.case_id == bindparam("case_id"),
        InboundMessage.action != "ignored",
        InboundMessage.sender.in_(bindparam("people", expanding=True)),
    )
    .order_by(InboundMessage.created_at.desc())
    .limit(1)
)
_BOUNCING = select(BouncingAddress.email, BouncingAddress.reason).where(
    func.lower(BouncingAddress.email).in_(bindparam("emails", expanding=True))
)
_OPENED_BY = select(IntakeKey.key).where(
    IntakeKey.case_id == bindparam("case_id"), IntakeKey.key.startswith(f"{MAIL_KEY}<")
)


async def on_thread(db: AsyncSession, case_id: uuid.UUID) -> list[str]:
    """The case's customer (contact, consumer or requester address), then everyone on its
    mail since (the To/Cc of their mail), each once, lower-cased."""
    rows = await db.execute(_ON_THREAD, {"case_id": case_id})
    return list(dict.fromkeys(e.lower() for e in rows.scalars() if e))


async def bouncing(db: AsyncSession, emails: list[str]) -> dict[str, str]:
    """The addresses among `emails` that bounce, with why."""
    if not emails:
        return {}
    rows = await db.execute(_BOUNCING, {"emails": [e.lower() for e in emails]})
    return {email: reason for email, reason in rows.all()}


async def thread_of(
    db: AsyncSession, case_id: uuid.UUID, people: list[str] | None = None
) -> dict[str, Any] | None:
    """In-Reply-To and References for our next mail on the case: the last message kept on it
    from someone on its thread (the customer's side), and the thread it closed (at most the
    last ten ids), or None. `people`: the case's `on_thread`, when the caller has it."""
    if people is None:
        people = await on_thread(db, case_id)
    last = (await db.execute(_LAST_KEPT, {"case_id": case_id, "people": people})).first()
    if last is None:  # the acknowledgement: the message that opens the case is not kept yet
        opened_by = await db.scalar(_OPENED_BY, {"case_id": case_id})
        if opened_by is None:
            return None
        first = opened_by.removeprefix(MAIL_KEY)
        return {"in_reply_to": first, "references": [first]}
    chain = list(dict.fromkeys([*last.references, last.message_id]))
    return {"in_reply_to": last.message_id, "references": chain[-10:]}


def opening_key(message_id: str) -> str:
    """The Idempotency-Key of the case a message opens: the message's own id when it fits
    (then the acknowledgement can answer it before the message is kept), else its digest."""
    key = f"{MAIL_KEY}{message_id}"
    if len(key) <= MAX_KEY:
        return key
    return f"{MAIL_KEY}sha256:{hashlib.sha256(message_id.encode()).hexdigest()}"
