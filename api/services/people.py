"""Names of people for pages: the caller in the header, agents in lists."""

from sqlalchemy import select

from api.auth import Principal
from models.customers import Account, Consumer, Contact
from models.people import Agent, Technician
from workflows.vocabulary import CUSTOMERS, STAFF, Role


async def person_name(db, who: Principal) -> str | None:
    """The name shown in the page header, when the token names a person."""
    model = {
        Role.CONTACT: Contact,
        Role.CONSUMER: Consumer,
        Role.PARTNER: Account,
        Role.TECHNICIAN: Technician,
    }.get(who.role, Agent)
    if not who.subject_id or who.role not in (*STAFF, *CUSTOMERS, Role.PARTNER, Role.TECHNICIAN):
        return None
    person = await db.get(model, who.subject_id)
    return person.name if person else None


async def agent_names(db, ids) -> dict:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    rows = await db.execute(select(Agent.id, Agent.name).where(Agent.id.in_(ids)))
    return dict(rows.all())
