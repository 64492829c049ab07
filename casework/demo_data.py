"""Demo data for `casework dev`: loaded once, recognised again by its fixed ids."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from models.customers import Account, AccountContact, Asset, Consumer, Contact, Product
from models.people import AccountTeamMember, Agent, Skill
from models.service import Entitlement, Schedule, SlaDefinition

NS = uuid.UUID("6b1c1e9e-3f0a-4d8c-9a55-2d4a1f0c0001")


def did(name: str) -> uuid.UUID:
    """A stable id per demo object, so a second load finds the first."""
    return uuid.uuid5(NS, name)


SKILLS = ("networking", "billing", "hardware", "spanish")
AGENTS = (
    ("Alice Agent", {"networking": 3, "hardware": 2}, ["support"]),
    ("Bob Agent", {"billing": 3}, ["support"]),
    ("Chen Agent", {"networking": 2, "spanish": 3}, ["support"]),
    ("Dana Agent", {"hardware": 3, "networking": 1}, ["support"]),
    ("Eve Agent", {"billing": 2, "spanish": 2}, ["support"]),
)


async def load_demo(db: AsyncSession) -> bool:
    """Insert the demo set unless it is there; True when it was loaded now."""
    if await db.get(Account, did("account:northwind")) is not None:
        return False
    northwind = Account(
        id=did("account:northwind"),
        name="Northwind Traders",
        type="customer",
        domains=["northwind.example"],
    )
    site = Account(
        id=did("account:northwind-berlin"),
        name="Northwind Berlin site",
        type="customer",
        parent_id=northwind.id,
        domains=[],
    )
    db.add_all([northwind, site])
    await db.flush()
    contacts = [
        Contact(id=did("contact:nancy"), name="Nancy Davolio", email="nancy@northwind.example"),
        Contact(id=did("contact:andrew"), name="Andrew Fuller", email="andrew@northwind.example"),
    ]
    db.add_all(contacts)
    await db.flush()
    db.add_all(
        [
            AccountContact(contact_id=contacts[0].id, account_id=northwind.id, primary=True),
            AccountContact(contact_id=contacts[1].id, account_id=northwind.id, primary=True),
            AccountContact(contact_id=contacts[1].id, account_id=site.id, primary=False),
        ]
    )
    consumer = Consumer(
        id=did("consumer:carla"),
        name="Carla Consumer",
        email="carla@mail.example",
        addresses=[{"line1": "1 Main St", "city": "Springfield", "country": "US", "primary": True}],
    )
    router = Product(id=did("product:router"), name="Casework Router X1", sku="RX1")
    camera = Product(id=did("product:camera"), name="Casework Camera C2", sku="CC2")
    db.add_all([consumer, router, camera])
    await db.flush()
    db.add_all(
        [
            Asset(
                id=did("asset:rx1-berlin"),
                product_id=router.id,
                serial="RX1-0001",
                account_id=site.id,
                location="Berlin, Alexanderplatz 1",
            ),
            Asset(
                id=did("asset:cc2-carla"),
                product_id=camera.id,
                serial="CC2-0042",
                consumer_id=consumer.id,
                location="Springfield",
            ),
        ]
    )
    hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    schedule = Schedule(
        id=did("schedule:berlin"),
        name="Berlin business hours",
        timezone="Europe/Berlin",
        hours=hours,
        holidays=["2026-12-25", "2026-12-26"],
    )
    db.add(schedule)
    await db.flush()
    response = SlaDefinition(
        id=did("sla:response"),
        name="Gold first response",
        kind="response",
        duration_seconds=4 * 3600,
        schedule_id=schedule.id,
    )
    resolution = SlaDefinition(
        id=did("sla:resolution"),
        name="Gold resolution",
        kind="resolution",
        duration_seconds=3 * 8 * 3600,
        schedule_id=schedule.id,
    )
    default_response = SlaDefinition(
        id=did("sla:default-response"),
        name="Standard response",
        kind="response",
        duration_seconds=8 * 3600,
        default_for_priority=3,
    )
    db.add_all([response, resolution, default_response])
    await db.flush()
    db.add(
        Entitlement(
            id=did("entitlement:northwind-gold"),
            name="Northwind Gold support",
            account_id=northwind.id,
            tier="gold",
            channels=[],
            sla_definition_ids=[str(response.id), str(resolution.id)],
            reopen_window_seconds=7 * 24 * 3600,
            units={"kind": "cases", "total": 500},
        )
    )
    db.add_all([Skill(id=did(f"skill:{s}"), name=s) for s in SKILLS])
    agents = [
        Agent(
            id=did(f"agent:{name}"),
            name=name,
            email=name.split()[0].lower() + "@casework.example",
            skills=skills,
            capacity=5,
            groups=groups,
        )
        for name, skills, groups in AGENTS
    ]
    db.add_all(agents)
    await db.flush()
    db.add(
        AccountTeamMember(account_id=northwind.id, agent_id=agents[0].id, role="account_manager")
    )
    return True
