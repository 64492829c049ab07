"""The notification outbox: one row per message, created in the same transaction as its event."""

import uuid
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.cases import Case, Notification
from models.customers import Consumer, Contact
from models.people import AccountTeamMember, Agent

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
_ROWS = Notification.__table__
# Compiled once; each call binds its values.
_ADD = insert(_ROWS).on_conflict_do_nothing(index_elements=["key"]).returning(_ROWS.c.id)
_BY_KEY = select(_ROWS.c.id).where(_ROWS.c.key == bindparam("key"))
_AGENT = select(Agent.name, Agent.email).where(Agent.id == bindparam("id"))
_CONTACT = select(Contact.email, Contact.name).where(Contact.id == bindparam("id"))
_CONSUMER = select(Consumer.email, Consumer.name).where(Consumer.id == bindparam("id"))


def case_context(case: Case) -> dict:
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
    return tuple(found) if found else (None, None)


async def supervisor_of(db: AsyncSession, case: Case) -> tuple[str | None, str | None]:
    """The queue's supervisor (a supervisor in that group), else any supervisor."""
    rows = await db.execute(
        select(Agent.email, Agent.name, Agent.groups)
        .where(Agent.role == "supervisor")
        .order_by(Agent.name)
    )
    found = rows.all()
    for email, name, groups in found:
        if case.queue in (groups or []):
            return email, name
    return (found[0][0], found[0][1]) if found else (None, None)


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


async def enqueue(
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
) -> uuid.UUID | None:
    """Add an outbox row unless one with `key` exists; returns its id (None: no recipient).

    `case` is a Case, or a row of CASE_COLUMNS (what `case_context` and the recipient
    lookups read).

    `recipient` (email, name) names someone outside the case's own people (a technician).
    `agent` is the case's agent when the caller has it at hand (else it is read).
    """
    if agent is None and case.assigned_agent_id:
        found = (await db.execute(_AGENT, {"id": case.assigned_agent_id})).first()
        agent = AgentRef(*found) if found else None
    if recipient is not None:
        email, name = recipient
    elif to == "agent":
        email, name = (agent.email, agent.name) if agent else (None, None)
    elif to == "supervisor":
        email, name = await supervisor_of(db, case)
    elif to == "account_manager":
        email, name = await account_manager_of(db, case)
    else:
        email, name = await customer_of(db, case)
    if not email:
        return None
    context = {
        "case": case_context(case),
        "recipient": {"name": name, "email": email},
        "body": body,
        "reason": reason,
        "agent": {"name": agent.name, "email": agent.email} if agent else None,
        "portal_url": portal_url,
    }
    row_id = uuid.uuid4()
    values = {
        "id": row_id,
        "case_id": case.id,
        "key": key,
        "template": template,
        "recipient": email,
        "recipient_name": name,
        "message_id": f"<{row_id.hex}@casework>",
        "context": context,
    }
    inserted = (await db.execute(_ADD, values)).scalar()
    if inserted is not None:
        return inserted
    return (await db.execute(_BY_KEY, {"key": key})).scalar()
