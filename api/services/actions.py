"""Every action on a case goes through `run_action`: the API's checks, the action's input
built from the ACTIONS table, and one update, named by the action, on the case's workflow."""

import hashlib
import uuid

from sqlalchemy import select
from temporalio.client import Client

from api import case_views, visibility
from api.auth import Principal, require
from api.errors import Problem, not_found
from api.services import cases
from api.services.intake import bad
from api.services.partners import check_partner
from api.updates import run_update
from models.people import Agent
from workflows.actions import ACTIONS, Action, ActionInput, missing
from workflows.vocabulary import TERMINAL

KEY_DIGEST = 40  # hex digits of an Idempotency-Key's hash in the update id (and event key)


def update_id_for(case_id: uuid.UUID, action: Action, idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the caller's Idempotency-Key, per case and action, so
    the same key sent twice is one update (and one timeline event) however long the key."""
    if idempotency_key is None:
        return f"{action}-{uuid.uuid4()}"
    digest = hashlib.sha256(f"{case_id}\n{action}\n{idempotency_key}".encode()).hexdigest()
    return f"{action}-key-{digest[:KEY_DIGEST]}"


def build_input(action: Action, who: Principal, fields: dict) -> ActionInput:
    """The action's own input (ACTIONS[action].input) from the caller and the fields it has."""
    rule = ACTIONS[action]
    given = {name: fields[name] for name in rule.fields if fields.get(name) is not None}
    actor_id = str(who.subject_id) if who.subject_id else None
    return rule.input(actor_role=who.role, actor_id=actor_id, **given)


async def running_workflow(db, who: Principal, case_id: uuid.UUID, action: Action, arg) -> str:
    """The workflow id of a case the caller may take `action` on, after the role, visibility,
    body and state checks; the connection is released before the workflow is asked."""
    require(who, *ACTIONS[action].roles)
    columns = case_views.cases.c
    query = select(columns.workflow_id, columns.state).where(
        columns.id == case_id, await visibility.case_filter(db, who)
    )
    case = (await db.execute(query)).first()
    if case is None:
        raise not_found()
    if (field := missing(action, arg)) is not None:
        raise bad(field, f"{field} is required for {action}")
    if action is Action.ASSIGN and await db.get(Agent, uuid.UUID(arg.agent_id)) is None:
        raise bad("agent_id", "no such agent")
    if action is Action.ASSIGN_PARTNER:
        await check_partner(db, uuid.UUID(arg.partner_account_id))
    if case.state in TERMINAL:
        raise Problem(409, f"cannot {action} a case that is {case.state}")
    await db.rollback()  # do not hold a connection while the workflow works
    return case.workflow_id


async def run_action(
    *,
    db,
    client: Client,
    who: Principal,
    case_id: uuid.UUID,
    action: Action,
    fields: dict,
    idempotency_key: str | None = None,
) -> dict:
    """Take `action` with `fields` (named as the action's input names them); answer with the
    case's view as it is now."""
    arg = build_input(action, who, fields)
    workflow_id = await running_workflow(db, who, case_id, action, arg)
    update_id = update_id_for(case_id, action, idempotency_key)
    update = str(action)  # each action is its own update, named by the action

    async def applied(update_id: str) -> bool:
        return await cases.recorded(db, case_id, action, update_id)

    await run_update(
        client.get_workflow_handle(workflow_id),
        update,
        arg,
        action=action,
        what="case",
        update_id=update_id,
        applied=applied,
    )
    return await cases.get(db=db, who=who, case_id=case_id)
