"""Catalog endpoints: customers, the service model, people, knowledge and the SLA preview."""

import logging
import uuid
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import Text, cast, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.auth import Principal, require
from api.deps import ClientDep, CurrentPrincipal, SessionDep, SettingsDep
from api.errors import Problem, not_found
from api.pagination import CursorQ, LimitQ, page, result
from api.schemas.catalog import (
    AccountCreate,
    AccountRead,
    AgentAvailability,
    AgentCreate,
    AgentRead,
    AgentUpdate,
    AssetCreate,
    AssetRead,
    ConsumerCreate,
    ConsumerRead,
    ContactCreate,
    ContactRead,
    Deflections,
    EntitlementCreate,
    EntitlementRead,
    KnowledgeCreate,
    KnowledgeRead,
    Page,
    ProductCreate,
    ProductRead,
    ScheduleCreate,
    ScheduleRead,
    SkillCreate,
    SkillRead,
    SlaDefinitionCreate,
    SlaDefinitionRead,
    SlaPreview,
    SlaPreviewRead,
    TeamMemberCreate,
    TeamMemberRead,
    TechnicianCreate,
    TechnicianRead,
)
from casework.settings import Settings
from models.customers import Account, AccountContact, Asset, Consumer, Contact, Product
from models.people import AccountTeamMember, Agent, KnowledgeArticle, Skill, Technician
from models.service import Entitlement, Schedule, SlaDefinition
from workflows import calendar
from workflows.routing import DispatchWorkflow
from workflows.types import DispatchInput

log = logging.getLogger("casework.api.catalog")
router = APIRouter()

UNIQUE_VIOLATION = "23505"
# More candidates than any page; ranking happens in Python over this many matches.
SEARCH_CANDIDATES = 1000
PREVIEW_HORIZON_YEARS = 10


def role(*roles: str):
    async def check(principal: CurrentPrincipal) -> Principal:
        require(principal, *roles)
        return principal

    return Depends(check)


Admin = Annotated[Principal, role()]
Writer = Annotated[Principal, role("integration")]
Reader = Annotated[Principal, role("supervisor", "agent", "integration")]
Supervisor = Annotated[Principal, role("supervisor")]


def sees_drafts(principal: Principal) -> bool:
    return principal.is_staff or principal.role == "integration"


def _label(model) -> str:
    return model.__tablename__.removesuffix("s").replace("_", " ")


def reference_problem(field: str, detail: str) -> Problem:
    return Problem(
        422,
        "a referenced object does not exist",
        errors=[{"loc": ["body", field], "msg": detail, "type": "missing_reference"}],
    )


async def check_refs(db: AsyncSession, **refs: tuple[type, uuid.UUID | list | None]) -> None:
    """422 naming every field whose id (or ids) is not in its table."""
    errors = []
    for field, (model, value) in refs.items():
        ids = value if isinstance(value, list) else [value] if value else []
        if not ids:
            continue
        found = set(await db.scalars(select(model.id).where(model.id.in_(ids))))
        missing = [str(i) for i in ids if i not in found]
        if missing:
            msg = f"no such {_label(model)}: {', '.join(missing)}"
            errors.append({"loc": ["body", field], "msg": msg, "type": "missing_reference"})
    if errors:
        raise Problem(422, "a referenced object does not exist", errors=errors)


async def save(db: AsyncSession, *objs, conflict: str):
    """Insert in order and commit; a unique clash is 409, a vanished reference 422."""
    try:
        for obj in objs:
            db.add(obj)
            await db.flush()
        await db.commit()
    except IntegrityError as err:
        await db.rollback()
        if getattr(err.orig, "sqlstate", None) == UNIQUE_VIOLATION:
            raise Problem(409, conflict) from err
        raise Problem(422, "a referenced object does not exist") from err
    return objs[0]


async def one(db: AsyncSession, model, item_id: uuid.UUID):
    obj = await db.get(model, item_id)
    if obj is None:
        raise not_found(_label(model))
    return obj


def collection(path: str, model, read, tag: str, *, with_get: bool = True) -> None:
    """GET /<path> (a page) and GET /<path>/{id}, for staff and integrations."""

    @router.get(f"/{path}", response_model=Page[read], tags=[tag], summary=f"List {path}")
    async def list_items(db: SessionDep, _: Reader, limit: LimitQ = 50, cursor: CursorQ = None):
        rows = (await db.scalars(page(select(model), model, limit, cursor))).all()
        return result(list(rows), limit, read.model_validate)

    if with_get:

        @router.get(f"/{path}/{{item_id}}", response_model=read, tags=[tag], summary="Read one")
        async def get_item(item_id: uuid.UUID, db: SessionDep, _: Reader):
            return read.model_validate(await one(db, model, item_id))


async def dispatch_to(client: Client, settings: Settings, agent: Agent) -> None:
    """Route waiting cases now that this agent can take work."""
    if agent.status != "available" or agent.capacity <= 0:
        return
    await client.start_workflow(
        DispatchWorkflow.run,
        DispatchInput(key=f"agent-available:{agent.id}:{uuid.uuid4()}"),
        id=f"dispatch-{uuid.uuid4()}",
        task_queue=settings.task_queue,
    )


# --------------------------------------------------------------------------- accounts


@router.post("/accounts", status_code=201, response_model=AccountRead, tags=["accounts"])
async def create_account(body: AccountCreate, db: SessionDep, _: Writer):
    await check_refs(db, parent_id=(Account, body.parent_id))
    account = Account(id=uuid.uuid4(), **body.model_dump())
    await save(db, account, conflict="the account conflicts with an existing one")
    return AccountRead.model_validate(account)


collection("accounts", Account, AccountRead, "accounts")


@router.post(
    "/accounts/{account_id}/team",
    status_code=201,
    response_model=TeamMemberRead,
    tags=["accounts"],
    summary="Add an agent to the account team (or change their role there)",
)
async def add_team_member(
    account_id: uuid.UUID, body: TeamMemberCreate, db: SessionDep, response: Response, _: Admin
):
    await one(db, Account, account_id)
    await check_refs(db, agent_id=(Agent, body.agent_id))
    member = await db.get(AccountTeamMember, (account_id, body.agent_id))
    if member is not None:
        member.role = body.role
        response.status_code = 200
    else:
        member = AccountTeamMember(account_id=account_id, agent_id=body.agent_id, role=body.role)
    await save(db, member, conflict="the agent was just added to this team")
    return TeamMemberRead.model_validate(member)


@router.get("/accounts/{account_id}/team", response_model=Page[TeamMemberRead], tags=["accounts"])
async def list_team(account_id: uuid.UUID, db: SessionDep, _: Reader):
    await one(db, Account, account_id)
    rows = await db.scalars(
        select(AccountTeamMember)
        .where(AccountTeamMember.account_id == account_id)
        .order_by(AccountTeamMember.role, AccountTeamMember.agent_id)
    )
    return {"items": [TeamMemberRead.model_validate(r) for r in rows], "next_cursor": None}


# --------------------------------------------------------------------------- contacts


def contact_read(contact: Contact, links: list[AccountContact]) -> ContactRead:
    links = sorted(links, key=lambda link: not link.primary)
    primary = next((link.account_id for link in links if link.primary), None)
    return ContactRead(
        id=contact.id,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        account_ids=[link.account_id for link in links],
        primary_account_id=primary,
        created_at=contact.created_at,
    )


async def links_of(db: AsyncSession, contact_ids: list[uuid.UUID]) -> dict:
    links: dict[uuid.UUID, list[AccountContact]] = {i: [] for i in contact_ids}
    rows = await db.scalars(
        select(AccountContact).where(AccountContact.contact_id.in_(contact_ids))
    )
    for link in rows:
        links[link.contact_id].append(link)
    return links


@router.post("/contacts", status_code=201, response_model=ContactRead, tags=["contacts"])
async def create_contact(body: ContactCreate, db: SessionDep, _: Writer):
    await check_refs(db, account_ids=(Account, body.account_ids))
    contact = Contact(id=uuid.uuid4(), name=body.name, email=body.email, phone=body.phone)
    links = [
        AccountContact(contact_id=contact.id, account_id=account_id, primary=i == 0)
        for i, account_id in enumerate(body.account_ids)
    ]
    await save(db, contact, *links, conflict=f"a contact with email {body.email} exists")
    return contact_read(contact, links)


@router.get("/contacts", response_model=Page[ContactRead], tags=["contacts"])
async def list_contacts(db: SessionDep, _: Reader, limit: LimitQ = 50, cursor: CursorQ = None):
    rows = list((await db.scalars(page(select(Contact), Contact, limit, cursor))).all())
    links = await links_of(db, [c.id for c in rows])
    return result(rows, limit, lambda c: contact_read(c, links[c.id]))


@router.get("/contacts/{contact_id}", response_model=ContactRead, tags=["contacts"])
async def get_contact(contact_id: uuid.UUID, db: SessionDep, _: Reader):
    contact = await one(db, Contact, contact_id)
    return contact_read(contact, (await links_of(db, [contact.id]))[contact.id])


# --------------------------------------------------------------------------- consumers, assets


@router.post("/consumers", status_code=201, response_model=ConsumerRead, tags=["consumers"])
async def create_consumer(body: ConsumerCreate, db: SessionDep, _: Writer):
    consumer = Consumer(id=uuid.uuid4(), **body.model_dump())
    await save(db, consumer, conflict=f"a consumer with email {body.email} exists")
    return ConsumerRead.model_validate(consumer)


collection("consumers", Consumer, ConsumerRead, "consumers")


@router.post("/products", status_code=201, response_model=ProductRead, tags=["products"])
async def create_product(body: ProductCreate, db: SessionDep, _: Writer):
    product = Product(id=uuid.uuid4(), **body.model_dump())
    await save(db, product, conflict=f"a product with sku {body.sku} exists")
    return ProductRead.model_validate(product)


collection("products", Product, ProductRead, "products")


@router.post("/assets", status_code=201, response_model=AssetRead, tags=["assets"])
async def create_asset(body: AssetCreate, db: SessionDep, _: Writer):
    await check_refs(
        db,
        product_id=(Product, body.product_id),
        account_id=(Account, body.account_id),
        consumer_id=(Consumer, body.consumer_id),
    )
    asset = Asset(id=uuid.uuid4(), **body.model_dump())
    await save(db, asset, conflict="an asset of this product has this serial already")
    return AssetRead.model_validate(asset)


collection("assets", Asset, AssetRead, "assets")


# --------------------------------------------------------------------------- service model


@router.post("/schedules", status_code=201, response_model=ScheduleRead, tags=["schedules"])
async def create_schedule(body: ScheduleCreate, db: SessionDep, _: Writer):
    schedule = Schedule(id=uuid.uuid4(), name=body.name, **body.as_dict())
    await save(db, schedule, conflict="the schedule conflicts with an existing one")
    return ScheduleRead.model_validate(schedule)


collection("schedules", Schedule, ScheduleRead, "schedules")


@router.post("/sla-definitions", status_code=201, response_model=SlaDefinitionRead, tags=["sla"])
async def create_sla_definition(body: SlaDefinitionCreate, db: SessionDep, _: Writer):
    await check_refs(db, schedule_id=(Schedule, body.schedule_id))
    definition = SlaDefinition(id=uuid.uuid4(), **body.model_dump())
    await save(db, definition, conflict="the SLA definition conflicts with an existing one")
    return SlaDefinitionRead.model_validate(definition)


collection("sla-definitions", SlaDefinition, SlaDefinitionRead, "sla")


@router.post(
    "/entitlements", status_code=201, response_model=EntitlementRead, tags=["entitlements"]
)
async def create_entitlement(body: EntitlementCreate, db: SessionDep, _: Writer):
    await check_refs(
        db,
        account_id=(Account, body.account_id),
        contact_id=(Contact, body.contact_id),
        consumer_id=(Consumer, body.consumer_id),
        product_id=(Product, body.product_id),
        asset_id=(Asset, body.asset_id),
        sla_definition_ids=(SlaDefinition, body.sla_definition_ids),
    )
    fields = body.model_dump(mode="json", exclude={"starts_on", "ends_on"})
    entitlement = Entitlement(
        id=uuid.uuid4(), **fields, starts_on=body.starts_on, ends_on=body.ends_on
    )
    await save(db, entitlement, conflict="the entitlement conflicts with an existing one")
    return EntitlementRead.model_validate(entitlement)


collection("entitlements", Entitlement, EntitlementRead, "entitlements")


@router.post("/sla/preview", response_model=SlaPreviewRead, tags=["sla"])
async def preview_sla(body: SlaPreview, db: SessionDep, _: Supervisor):
    """When an SLA of `duration_seconds` started at `start` falls due on a schedule."""
    if body.schedule_id:
        row = await db.get(Schedule, body.schedule_id)
        if row is None:
            raise reference_problem("schedule_id", f"no such schedule: {body.schedule_id}")
        spec = {"timezone": row.timezone, "hours": row.hours, "holidays": row.holidays}
    else:
        spec = body.schedule.as_dict() if body.schedule else None
    try:
        schedule = calendar.Schedule.from_dict(spec)
        # A sparse schedule makes the walk long; refuse before it ties up the event loop.
        if not schedule.is_24x7:
            year = calendar.business_seconds_between(
                schedule, body.start, body.start + timedelta(days=366)
            )
            if year * PREVIEW_HORIZON_YEARS < body.duration_seconds:
                raise Problem(422, f"the due time is more than {PREVIEW_HORIZON_YEARS} years away")
        due = calendar.add_business_seconds(schedule, body.start, body.duration_seconds)
        zone = ZoneInfo(schedule.timezone) if spec else body.start.tzinfo
        return SlaPreviewRead(due_at=due.astimezone(zone))
    except (ValueError, OverflowError) as err:
        raise Problem(422, f"no due time: {err}") from err


# --------------------------------------------------------------------------- people


@router.post("/skills", status_code=201, response_model=SkillRead, tags=["skills"])
async def create_skill(body: SkillCreate, db: SessionDep, _: Writer):
    skill = Skill(id=uuid.uuid4(), name=body.name)
    await save(db, skill, conflict=f"a skill named {body.name!r} exists")
    return SkillRead.model_validate(skill)


collection("skills", Skill, SkillRead, "skills")


async def check_skills(db: AsyncSession, skills) -> dict[str, int] | None:
    if skills is None:
        return None
    names = [s.name for s in skills]
    known = set(await db.scalars(select(Skill.name).where(Skill.name.in_(names))))
    if missing := [n for n in names if n not in known]:
        raise reference_problem("skills", f"no such skill: {', '.join(missing)}")
    return {s.name: s.level for s in skills}


@router.post("/agents", status_code=201, response_model=AgentRead, tags=["agents"])
async def create_agent(
    body: AgentCreate, db: SessionDep, client: ClientDep, settings: SettingsDep, _: Writer
):
    skills = await check_skills(db, body.skills)
    agent = Agent(id=uuid.uuid4(), **body.model_dump(exclude={"skills"}), skills=skills)
    await save(db, agent, conflict=f"an agent with email {body.email} exists")
    try:
        await dispatch_to(client, settings, agent)
    except Exception as err:  # the agent exists; the next dispatch of any case routes to them
        log.warning("could not start routing for new agent %s: %s", agent.id, err)
    return AgentRead.model_validate(agent)


collection("agents", Agent, AgentRead, "agents")


@router.patch("/agents/{agent_id}", response_model=AgentRead, tags=["agents"])
async def update_agent(
    agent_id: uuid.UUID,
    body: AgentUpdate,
    db: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    _: Supervisor,
):
    """Change skills, capacity or groups; waiting cases are routed again at once."""
    agent = await one(db, Agent, agent_id)
    changes = body.model_dump(exclude_unset=True, exclude={"skills"})
    if body.skills is not None:
        changes["skills"] = await check_skills(db, body.skills)
    for field, value in changes.items():
        if value is None:
            raise Problem(422, f"{field} may not be null")
        setattr(agent, field, value)
    await db.commit()
    if changes.keys() & {"skills", "capacity", "groups"}:
        await dispatch_to(client, settings, agent)
    return AgentRead.model_validate(agent)


@router.put("/agents/{agent_id}/availability", response_model=AgentRead, tags=["agents"])
async def set_availability(
    agent_id: uuid.UUID,
    body: AgentAvailability,
    db: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
):
    own = principal.role == "agent" and principal.subject_id == agent_id
    if not own and principal.role not in ("admin", "supervisor"):
        raise Problem(403, "an agent may change only their own availability")
    agent = await one(db, Agent, agent_id)
    agent.status = body.status
    await db.commit()
    # Also when already available: a retry after a failed start must still route.
    await dispatch_to(client, settings, agent)
    return AgentRead.model_validate(agent)


@router.post("/technicians", status_code=201, response_model=TechnicianRead, tags=["technicians"])
async def create_technician(body: TechnicianCreate, db: SessionDep, _: Writer):
    technician = Technician(id=uuid.uuid4(), **body.model_dump())
    await save(db, technician, conflict=f"a technician with email {body.email} exists")
    return TechnicianRead.model_validate(technician)


collection("technicians", Technician, TechnicianRead, "technicians")


# --------------------------------------------------------------------------- knowledge


def score(article: KnowledgeArticle, terms: list[str]) -> int:
    title, body = article.title.casefold(), article.body.casefold()
    tags = [t.casefold() for t in article.tags or ()]
    return sum(3 * (t in title) + 2 * any(t in tag for tag in tags) + (t in body) for t in terms)


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@router.post("/knowledge", status_code=201, response_model=KnowledgeRead, tags=["knowledge"])
async def create_article(body: KnowledgeCreate, db: SessionDep, _: Writer):
    await check_refs(db, product_id=(Product, body.product_id))
    article = KnowledgeArticle(id=uuid.uuid4(), **body.model_dump())
    await save(db, article, conflict="the article conflicts with an existing one")
    return KnowledgeRead.model_validate(article)


@router.get("/knowledge/search", response_model=Page[KnowledgeRead], tags=["knowledge"])
async def search_knowledge(
    db: SessionDep,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$")],
    limit: LimitQ = 20,
):
    """Articles ranked by where the words of `q` occur: title 3, tag 2, body 1."""
    terms = list(dict.fromkeys(q.casefold().split()))[:20]
    if not terms:
        return {"items": [], "next_cursor": None}
    text = func.concat_ws(
        " ", KnowledgeArticle.title, KnowledgeArticle.body, cast(KnowledgeArticle.tags, Text)
    )
    query = select(KnowledgeArticle).where(or_(*(text.ilike(_like(t)) for t in terms)))
    if not sees_drafts(principal):
        query = query.where(KnowledgeArticle.published.is_(True))
    rows = await db.scalars(query.limit(SEARCH_CANDIDATES))
    ranked = sorted(
        ((score(a, terms), a) for a in rows), key=lambda p: (-p[0], -p[1].deflections, p[1].title)
    )
    items = [KnowledgeRead.model_validate(a) for s, a in ranked if s > 0][:limit]
    return {"items": items, "next_cursor": None}


collection("knowledge", KnowledgeArticle, KnowledgeRead, "knowledge", with_get=False)


@router.get("/knowledge/{article_id}", response_model=KnowledgeRead, tags=["knowledge"])
async def get_article(article_id: uuid.UUID, db: SessionDep, principal: CurrentPrincipal):
    article = await db.get(KnowledgeArticle, article_id)
    if article is None or not (article.published or sees_drafts(principal)):
        raise not_found("knowledge article")
    return KnowledgeRead.model_validate(article)


@router.post("/knowledge/{article_id}/deflections", response_model=Deflections, tags=["knowledge"])
async def count_deflection(article_id: uuid.UUID, db: SessionDep, principal: CurrentPrincipal):
    """The article answered the question, so no case was opened."""
    stmt = (
        update(KnowledgeArticle)
        .where(KnowledgeArticle.id == article_id)
        .values(deflections=KnowledgeArticle.deflections + 1)
        .returning(KnowledgeArticle.id, KnowledgeArticle.deflections)
    )
    if not sees_drafts(principal):
        stmt = stmt.where(KnowledgeArticle.published.is_(True))
    row = (await db.execute(stmt)).first()
    if row is None:
        raise not_found("knowledge article")
    await db.commit()
    return Deflections(id=row.id, deflections=row.deflections)
