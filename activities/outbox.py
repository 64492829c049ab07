"""The notification outbox: one row per message, created in the same transaction as its event."""

import uuid
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.cases import Case, Notification
from models.customers import Consumer, Contact
from models.participants import on_thread, thread_of
from models.people import AccountTeamMember, Agent
from workflows.vocabulary import Role

# What `case_context` and the recipient lookups read: a case as a plain row.
CASE_COLUMNS = (
    Case.id,
    Case.number,
    Case.subject,
    Case.priority,
    Case.state,
    Case.queue,
    Case.account_id,
    Case.contact_id,
    Case.consumer_id,
    Case.assigned_agent_id,
    Case.requester_email,
    Case.requester_name,
    Case.reopen_window_ends_at,
    Case.sla,
)
# Customer mail that goes to the customer alone; the rest goes to the whole mail thread
# (reply-all), answering the customer's last message.
CUSTOMER_ALONE = ("csat_survey",)
_ROWS = cast(Table, Notification.__table__)
# Compiled once; each call binds its values.
_ADD = insert(_ROWS).on_conflict_do_nothing(index_elements=["key"]).returning(_ROWS.c.id)
_BY_KEY = select(_ROWS.c.id).where(_ROWS.c.key == bindparam("key"))
_AGENT = select(Agent.name, Agent.email).where(Agent.id == bindparam("id"))
_CONTACT = select(Contact.email, Contact.name).where(Contact.id == bindparam("id"))
_CONSUMER = select(Consumer.email, Consumer.name).where(Consumer.id == bindparam("id"))
_SUPERVISORS = (
    select(Agent.email, Agent.name, Agent.groups)
    .where(Agent.role == Role.SUPERVISOR)
    .order_by(Agent.name, Agent.id)
)


def case_context(case: Case) -> dict[str, Any]:
    response_due = next(
        (v.get("due_at") for v in case.sla or [] if v.get("kind") == "response"), None
    )
    return {
        "id": str(case.id),
        "number": case.number,
        "subject": case.subject,
        "priority": case.priority,
        "state": case.state,
        "reopen_window_ends_at": (
            case.reopen_window_ends_at.isoformat() if case.reopen_window_ends_at else None
        ),
        "response_due_at": response_due,
        "customer_name": case.requester_name,
    }


class AgentRef(NamedTuple):
    """The agent's name and email, as a query already read them."""

    name: str
    email: str


async def customer_of(db: AsyncSession, case: Case) -> tuple[str | None, str | None]:
    """(email, name) of whoever raised the case."""
    if case.contact_id:
        found = (await db.execute(_CONTACT, {"id": case.contact_id})).first()
    elif case.consumer_id:
        found = (await db.execute(_CONSUMER, {"id": case.consumer_id})).first()
    else:
        return case.requester_email, case.requester_name
    return (found[0], found[1]) if found else (None, None)


async def supervisors_of(db: AsyncSession, case: Case) -> list[tuple[str | None, str | None]]:
    """(email, name) of every supervisor of the case's queue; else of any one supervisor (a
    breach that requeues the case is told to the supervisor of the queue it left)."""
    rows = await db.execute(_SUPERVISORS)
    found = rows.all()
    mine: list[tuple[str | None, str | None]] = [
        (email, name) for email, name, groups in found if case.queue in (groups or [])
    ]
    return mine or [(email, name) for email, name, _ in found[:1]]


async def account_manager_of(db: AsyncSession, case: Case) -> tuple[str | None, str | None]:
    if case.account_id is None:
        return None, None
    row = await db.execute(
        select(Agent.email, Agent.name)
        .join(AccountTeamMember, AccountTeamMember.agent_id == Agent.id)
        .where(
            AccountTeamMember.account_id == case.account_id,
            AccountTeamMember.role == "account_manager",
        )
        .limit(1)
    )
    return row.first() or (None, None)


async def recipients(
    db: AsyncSession,
    case: Case,
    to: str,
    agent: Agent | AgentRef | None,
    escalation_email: str | None,
) -> list[tuple[str | None, str | None]]:
    """(email, name) of everyone `to` names on the case; an entry without an email is skipped.

    Supervisors are never nobody: with no supervisor at all, the escalation address
    (CASEWORK_ESCALATION_EMAIL) stands in, so a breach always reaches someone.
    """
    match to:
        case "agent":
            return [(agent.email, agent.name)] if agent else []
        case "supervisor":
            found = await supervisors_of(db, case)
            return found or ([(escalation_email, None)] if escalation_email else [])
        case "account_manager":
            return [await account_manager_of(db, case)]
        case _:
            return [await customer_of(db, case)]


def reply_all(
    customer: list[tuple[str | None, str | None]], thread: list[str]
) -> list[tuple[str | None, str | None]]:
    """The customer, then everyone else on the case's mail `thread` (the To/Cc of their mail)."""
    first = {(email or "").lower() for email, _ in customer}
    return [*customer, *((email, None) for email in thread if email not in first)]


async def enqueue_all(
    db: AsyncSession,
    *,
    case: Case,
    key: str,
    template: str,
    to: str,
    portal_url: str,
    body: str | None = None,
    reason: str | None = None,
    recipient: tuple[str | None, str | None] | None = None,
    agent: Agent | AgentRef | None = None,
    escalation_email: str | None = None,
) -> list[uuid.UUID]:
    """Add an outbox row per recipient unless one with its key exists; returns their ids.

    `case` is a Case, or a row of CASE_COLUMNS (what `case_context` and the recipient
    lookups read). `to` is customer | agent | supervisor | account_manager (supervisor:
    `escalation_email` when there is none).

    `recipient` (email, name) names someone outside the case's own people (a technician).
    `agent` is the case's agent when the caller has it at hand (else it is read).
    The first recipient's row has `key`, the next ones `key:1`, `key:2`...
    """
    if agent is None and case.assigned_agent_id:
        found = (await db.execute(_AGENT, {"id": case.assigned_agent_id})).first()
        agent = AgentRef(*found) if found else None
    thread = None
    if recipient is not None:
        people = [recipient]
    else:
        people = await recipients(db, case, to, agent, escalation_email)
        if to == "customer" and template not in CUSTOMER_ALONE:
            on_it = await on_thread(db, case.id)
            people = reply_all(people, on_it)
            thread = await thread_of(db, case.id, on_it)
    ids: list[uuid.UUID] = []
    for email, name in (p for p in people if p[0]):
        context = {
            "case": case_context(case),
            "recipient": {"name": name, "email": email},
            "body": body,
            "reason": reason,
            "agent": {"name": agent.name, "email": agent.email} if agent else None,
            "portal_url": portal_url,
        }
        if thread is not None:
            context["thread"] = thread
        row_id = uuid.uuid4()
        row_key = f"{key}:{len(ids)}" if ids else key
        values = {
            "id": row_id,
            "case_id": case.id,
            "key": row_key,
            "template": template,
            "recipient": email,
            "recipient_name": name,
            "message_id": f"<{row_id.hex}@casework>",
            "context": context,
        }
        inserted = (await db.execute(_ADD, values)).scalar()
        # The row is new, or it was there under its key: an id either way.
        ids.append(
            inserted or cast(uuid.UUID, (await db.execute(_BY_KEY, {"key": row_key})).scalar())
        )
    return ids


async def enqueue(db: AsyncSession, **kw: Any) -> uuid.UUID | None:
    """`enqueue_all` for one recipient: its row's id, None when there is nobody to send to."""
    ids = await enqueue_all(db, **kw)
    return ids[0] if ids else None
