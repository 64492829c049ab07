"""Rows for tests, with sensible defaults; every function commits and returns the object."""

import uuid

from models.cases import Case, CaseEvent, Notification  # noqa: F401 (re-exported for tests)
from models.customers import Account, AccountContact, Consumer, Contact, Product
from models.people import AccountTeamMember, Agent, Skill
from models.service import Entitlement, SlaDefinition


async def add(sessions, *objs):
    async with sessions() as db, db.begin():
        for obj in objs:
            db.add(obj)
    return objs[0] if len(objs) == 1 else objs


async def account(sessions, name="Acme", domains=("acme.example",), parent_id=None):
    return await add(
        sessions, Account(id=uuid.uuid4(), name=name, domains=list(domains), parent_id=parent_id)
    )


async def contact(sessions, account_id, name="Ada", email=None):
    c = Contact(id=uuid.uuid4(), name=name, email=email or f"{uuid.uuid4().hex[:6]}@acme.example")
    await add(sessions, c)
    await add(sessions, AccountContact(contact_id=c.id, account_id=account_id, primary=True))
    return c


async def consumer(sessions, name="Bea", email=None):
    return await add(
        sessions,
        Consumer(id=uuid.uuid4(), name=name, email=email or f"{uuid.uuid4().hex[:6]}@mail.test"),
    )


async def agent(sessions, name, *, skills=None, capacity=5, status="available", groups=()):
    return await add(
        sessions,
        Agent(
            id=uuid.uuid4(),
            name=name,
            email=f"{name.lower()}@casework.test",
            skills=skills or {},
            capacity=capacity,
            status=status,
            groups=list(groups),
        ),
    )


async def skill(sessions, name):
    return await add(sessions, Skill(id=uuid.uuid4(), name=name))


async def team_member(sessions, account_id, agent_id, role="member"):
    return await add(
        sessions, AccountTeamMember(account_id=account_id, agent_id=agent_id, role=role)
    )


async def product(sessions, name="Router X"):
    return await add(sessions, Product(id=uuid.uuid4(), name=name, sku=uuid.uuid4().hex[:8]))


async def sla_definition(sessions, name, kind, seconds, **kw):
    return await add(
        sessions,
        SlaDefinition(id=uuid.uuid4(), name=name, kind=kind, duration_seconds=seconds, **kw),
    )


async def entitlement(sessions, name="Standard", sla_ids=(), **grain):
    return await add(
        sessions,
        Entitlement(
            id=uuid.uuid4(),
            name=name,
            sla_definition_ids=[str(i) for i in sla_ids],
            channels=[],
            **grain,
        ),
    )


async def maintenance_plan(sessions, product_id, *, every_days=30, lead_days=7, **kw):
    from models.scheduled import MaintenancePlan

    plan_id = uuid.uuid4()
    fields = {"name": "Boiler service", "asset_ids": [], "skills": [], "parts": []} | kw
    return await add(
        sessions,
        MaintenancePlan(
            id=plan_id,
            product_id=product_id,
            every_days=every_days,
            lead_days=lead_days,
            schedule_id=f"maintenance-plan-{plan_id}",
            **fields,
        ),
    )
