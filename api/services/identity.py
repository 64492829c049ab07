"""Customer identity for the API: merging accounts and contacts, and the data-debt report."""

import asyncio
import uuid
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from activities.db import NOT_FOUND
from api.errors import Problem, not_found
from api.schemas.identity import DataDebtRead, MergeAccepted, MergeRead
from models.customers import Account, AccountContact, Contact
from workflows.customer_merge import MergeInput
from workflows.merge import CustomerMergeWorkflow
from workflows.vocabulary import INVALID, MergeKind

# How long a merge request waits for its workflow; past it the merge still completes on its
# own (it is durable), and the caller is told so rather than left hanging on a stopped worker.
MERGE_WAIT_SECONDS = 60
MODELS: dict[MergeKind, type[Account] | type[Contact]] = {
    MergeKind.ACCOUNT: Account,
    MergeKind.CONTACT: Contact,
}


def into_problem(detail: str) -> Problem:
    loc = {"loc": ["body", "into_id"], "msg": detail, "type": "value_error"}
    return Problem(422, detail, errors=[loc])


async def precheck(
    db: AsyncSession, kind: MergeKind, from_id: uuid.UUID, into_id: uuid.UUID
) -> None:
    """Answer the plain refusals at once (the merge step checks again under its locks)."""
    model, name = MODELS[kind], str(kind)
    if from_id == into_id:
        raise into_problem(f"a {name} cannot be merged into itself")
    rows = await db.execute(
        select(model.id, model.merged_into_id).where(model.id.in_([from_id, into_id]))
    )
    found = dict(rows.all())
    if from_id not in found:
        raise not_found(name)
    if into_id not in found:
        raise not_found(name)
    if found[from_id] is not None:
        raise Problem(409, f"this {name} was already merged into {found[from_id]}")
    if found[into_id] is not None:
        raise Problem(409, f"{into_id} was merged into {found[into_id]}: merge into that one")


def refusal(err: WorkflowFailureError) -> Problem:
    """The merge step's refusal (a race the precheck could not see) as a problem."""
    cause = err.cause.cause if isinstance(err.cause, ActivityError) else err.cause
    if not isinstance(cause, ApplicationError):
        return Problem(409, f"the merge failed: {cause or err}")
    if cause.type == NOT_FOUND:
        return Problem(404, cause.message)
    return Problem(422 if cause.type == INVALID else 409, cause.message)


async def merge(
    *,
    db: AsyncSession,
    client: Client,
    task_queue: str,
    kind: MergeKind,
    from_id: uuid.UUID,
    into_id: uuid.UUID,
    actor_id: uuid.UUID | None,
) -> MergeRead | MergeAccepted:
    """Merge `from_id` into `into_id`: a CustomerMergeWorkflow moves everything in one
    transaction and tells the running cases; the answer waits for both, at most
    MERGE_WAIT_SECONDS, then says the merge is accepted (it completes on its own: an
    answer never claims a failure for work that will be done)."""
    await precheck(db, kind, from_id, into_id)
    await db.rollback()  # hold no snapshot or lock while the merge runs
    merge_id = uuid.uuid4()
    actor = str(actor_id) if actor_id else None
    arg = MergeInput(str(merge_id), kind, str(from_id), str(into_id), actor)
    handle = await client.start_workflow(
        CustomerMergeWorkflow.run, arg, id=f"merge-{kind}-{merge_id}", task_queue=task_queue
    )
    try:
        done = await asyncio.wait_for(handle.result(), MERGE_WAIT_SECONDS)
    except WorkflowFailureError as err:
        raise refusal(err) from err
    except TimeoutError:
        return MergeAccepted(merge_id=merge_id, merged_id=from_id, into_id=into_id)
    return MergeRead(
        merge_id=merge_id,
        merged_id=from_id,
        into_id=into_id,
        moved=done.moved,
        cases_told=done.told,
    )


def components(groups: list[list[uuid.UUID]]) -> list[set[uuid.UUID]]:
    """Overlapping groups joined (A~B by email and B~C by phone are one person, three
    records): every contact is in at most one group."""
    parent: dict[uuid.UUID, uuid.UUID] = {}

    def root(x: uuid.UUID) -> uuid.UUID:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for group in groups:
        for other in group[1:]:
            parent[root(other)] = root(group[0])
    joined: dict[uuid.UUID, set[uuid.UUID]] = {}
    for x in parent:
        joined.setdefault(root(x), set()).add(x)
    return list(joined.values())


async def data_debt(*, db: AsyncSession) -> DataDebtRead:
    live = Contact.merged_into_id.is_(None)
    linked = exists().where(AccountContact.contact_id == Contact.id)
    orphans = await db.scalar(select(func.count()).select_from(Contact).where(live, ~linked))
    # Each group's ids with their creation times, so no second query (of thousands of ids)
    # is needed to order the joined groups.
    ids = func.array_agg(aggregate_order_by(Contact.id, Contact.created_at, Contact.id))
    born_at = func.array_agg(aggregate_order_by(Contact.created_at, Contact.created_at, Contact.id))
    same_email = select(ids, born_at).where(live).group_by(Contact.email_key)
    same_person = (
        select(ids, born_at)
        .where(live, Contact.phone_key.is_not(None))
        .group_by(Contact.name_key, Contact.phone_key)
    )
    groups: list[list[uuid.UUID]] = []
    born: dict[uuid.UUID, tuple[datetime, str]] = {}
    for query in (same_email, same_person):
        for group, times in await db.execute(query.having(func.count() > 1)):
            groups.append(list(group))
            born.update((i, (at, str(i))) for i, at in zip(group, times, strict=True))
    joined = components(groups)
    result = sorted((sorted(g, key=born.__getitem__) for g in joined), key=lambda g: born[g[0]])
    return DataDebtRead(contacts_without_account=orphans or 0, duplicate_contact_groups=result)
