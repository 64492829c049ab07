"""Agents: create, read, change, and set their availability (which routes waiting cases)."""

import uuid

from fastapi import APIRouter

from api.auth import require_self_or_supervisor
from api.collections import collection
from api.deps import ClientDep, CurrentPrincipal, SessionDep, SettingsDep, Supervisor, Writer
from api.schemas.catalog import AgentAvailability, AgentCreate, AgentRead, AgentUpdate
from api.services.catalog import people
from models.people import Agent
from workflows.vocabulary import Role

router = APIRouter(tags=["agents"])


@router.post("/agents", status_code=201, response_model=AgentRead)
async def create_agent(
    body: AgentCreate, db: SessionDep, client: ClientDep, settings: SettingsDep, _: Writer
):
    """An agent (or supervisor) with a capacity, skills and groups (queues): routing assigns
    waiting cases to them as they have room."""
    return await people.create_agent(
        db=db, client=client, task_queue=settings.task_queue, body=body
    )


collection(router, "agents", Agent, AgentRead, "agents")


@router.patch("/agents/{agent_id}", response_model=AgentRead)
async def update_agent(
    agent_id: uuid.UUID,
    body: AgentUpdate,
    db: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    _: Supervisor,
):
    """Change skills, capacity or groups; waiting cases are routed again at once."""
    return await people.update_agent(
        db=db, client=client, task_queue=settings.task_queue, agent_id=agent_id, body=body
    )


@router.put("/agents/{agent_id}/availability", response_model=AgentRead)
async def set_availability(
    agent_id: uuid.UUID,
    body: AgentAvailability,
    db: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
):
    """The agent themself, or a supervisor: available (routing may assign), away or offline.
    Becoming available dispatches waiting cases."""
    require_self_or_supervisor(
        principal, Role.AGENT, agent_id, "an agent may change only their own availability"
    )
    return await people.set_agent_status(
        db=db, client=client, task_queue=settings.task_queue, agent_id=agent_id, status=body.status
    )
