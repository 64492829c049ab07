"""The people who do the work: skills, agents (routing waiting cases to them) and
technicians (dispatching waiting work orders to them)."""

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.errors import Problem
from api.schemas.catalog import (
    AgentCreate,
    AgentRead,
    AgentUpdate,
    SkillCreate,
    SkillRead,
    TechnicianCreate,
    TechnicianRead,
)
from api.services.catalog.common import one, reference_problem, save
from models.people import Agent, Skill, Technician
from workflows.routing import DispatchWorkflow
from workflows.types import DispatchInput, WorkOrderDispatchInput
from workflows.work_order import WorkOrderDispatchWorkflow

log = logging.getLogger("casework.api.catalog")
AVAILABLE = "available"


async def create_skill(*, db: AsyncSession, body: SkillCreate) -> SkillRead:
    skill = Skill(id=uuid.uuid4(), name=body.name)
    await save(db, skill, conflict=f"a skill named {body.name!r} exists")
    return SkillRead.model_validate(skill)


async def check_skills(db: AsyncSession, skills) -> dict[str, int] | None:
    if skills is None:
        return None
    names = [s.name for s in skills]
    known = set(await db.scalars(select(Skill.name).where(Skill.name.in_(names))))
    if missing := [n for n in names if n not in known]:
        raise reference_problem("skills", f"no such skill: {', '.join(missing)}")
    return {s.name: s.level for s in skills}


async def dispatch_to(client: Client, task_queue: str, agent: Agent) -> None:
    """Route waiting cases now that this agent can take work."""
    if agent.status != AVAILABLE or agent.capacity <= 0:
        return
    await client.start_workflow(
        DispatchWorkflow.run,
        DispatchInput(key=f"agent-available:{agent.id}:{uuid.uuid4()}"),
        id=f"dispatch-{uuid.uuid4()}",
        task_queue=task_queue,
    )


async def create_agent(
    *, db: AsyncSession, client: Client, task_queue: str, body: AgentCreate
) -> AgentRead:
    skills = await check_skills(db, body.skills)
    agent = Agent(id=uuid.uuid4(), **body.model_dump(exclude={"skills"}), skills=skills)
    await save(db, agent, conflict=f"an agent with email {body.email} exists")
    try:
        await dispatch_to(client, task_queue, agent)
    except Exception as err:  # the agent exists; the next dispatch of any case routes to them
        log.warning("could not start routing for new agent %s: %s", agent.id, err)
    return AgentRead.model_validate(agent)


async def update_agent(
    *, db: AsyncSession, client: Client, task_queue: str, agent_id: uuid.UUID, body: AgentUpdate
) -> AgentRead:
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
        await dispatch_to(client, task_queue, agent)
    return AgentRead.model_validate(agent)


async def set_agent_status(
    *, db: AsyncSession, client: Client, task_queue: str, agent_id: uuid.UUID, status: str
) -> AgentRead:
    agent = await one(db, Agent, agent_id)
    agent.status = status
    await db.commit()
    # Also when already available: a retry after a failed start must still route.
    await dispatch_to(client, task_queue, agent)
    return AgentRead.model_validate(agent)


async def create_technician(*, db: AsyncSession, body: TechnicianCreate) -> TechnicianRead:
    technician = Technician(id=uuid.uuid4(), **body.model_dump())
    await save(db, technician, conflict=f"a technician with email {body.email} exists")
    return TechnicianRead.model_validate(technician)


async def dispatch_work_orders(client: Client, task_queue: str, technician_id) -> None:
    """Book waiting work orders now that this technician may take them."""
    run = uuid.uuid4()
    await client.start_workflow(
        WorkOrderDispatchWorkflow.run,
        WorkOrderDispatchInput(key=f"technician-available:{technician_id}:{run}"),
        id=f"wo-dispatch-{run}",
        task_queue=task_queue,
    )


async def set_technician_status(
    *, db: AsyncSession, client: Client, task_queue: str, technician_id: uuid.UUID, status: str
) -> TechnicianRead:
    technician = await one(db, Technician, technician_id)
    technician.status = status
    await db.commit()
    # Also when already available: a retry after a failed start must still dispatch.
    if technician.status == AVAILABLE:
        await dispatch_work_orders(client, task_queue, technician.id)
    return TechnicianRead.model_validate(technician)
