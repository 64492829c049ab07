"""The merge step: fold an account or a contact into its survivor in one transaction.

Everything that points at the merged record moves to the survivor: cases, assets,
entitlements, contracts, memberships (account contacts), the account team, child
accounts, earlier merges, a contact's portal tokens, and any other table whose foreign key
names it (so a table added later follows without a change here). The merged record keeps
its row with `merged_into_id` set: old links and ids still resolve. An audit row in
`merges` keeps who went into whom and what moved; it is also the step's idempotency key.
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, Table, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.db import NOT_FOUND, transaction
from activities.deps import Deps
from activities.intake import account_chain
from models import metadata
from models.auth import ApiToken
from models.cases import Case, CaseEvent
from models.customers import Account, AccountContact, Asset, Contact
from models.merges import CustomerMerge
from models.people import AccountTeamMember
from models.service import Entitlement, ServiceContract
from workflows.customer_merge import MergeInput, MergeResult
from workflows.vocabulary import INVALID, LIVE, NOT_ALLOWED, MergeKind, Role

# The counts every answer has, whatever the kind (a contact owns no assets or contracts).
MOVED_KEYS = ("cases", "assets", "entitlements", "contracts", "memberships")
# What a merge function answers: the counts, and the running cases' workflow ids.
Moved = tuple[dict[str, int], list[str]]
Record = Account | Contact
RecordModel = type[Account] | type[Contact]
# An ORM attribute or a Core column: what `move` needs is its `.table` and `.key`.
ColumnRef = Any
_EVENTS = insert(cast(Table, CaseEvent.__table__)).on_conflict_do_nothing(
    index_elements=["case_id", "key"]
)


def refused(message: str, kind: str = NOT_ALLOWED) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


async def rowcount(db: AsyncSession, statement: Executable) -> int:
    return int(cast(CursorResult[Any], await db.execute(statement)).rowcount)


async def check(
    db: AsyncSession, model: RecordModel, from_id: uuid.UUID, into_id: uuid.UUID
) -> dict[uuid.UUID, Record]:
    """Lock both records (in id order: two merges never deadlock) and refuse what cannot be
    merged: itself (INVALID), an unknown id (NOT_FOUND), a merged record on either side
    (NOT_ALLOWED: merging into one would start a chain, and merged records never merge again,
    so no cycle can form). Returns the locked rows by id."""
    name = model.__tablename__.removesuffix("s")
    if from_id == into_id:
        raise refused(f"a {name} cannot be merged into itself", INVALID)
    both = [from_id, into_id]
    query = select(model).where(model.id.in_(both)).order_by(model.id).with_for_update()
    found: dict[uuid.UUID, Record] = {
        r.id: r for r in cast(list[Record], (await db.scalars(query)).all())
    }
    for item_id in (from_id, into_id):
        if item_id not in found:
            raise refused(f"no such {name}: {item_id}", NOT_FOUND)
        if (into := found[item_id].merged_into_id) is not None:
            raise refused(f"{name} {item_id} was already merged into {into}")
    return found


async def move(db: AsyncSession, column: ColumnRef, from_id: uuid.UUID, into_id: uuid.UUID) -> int:
    """Point every row whose `column` names the merged record at the survivor; the count."""
    statement = update(column.table).where(column == from_id).values({column.key: into_id})
    return await rowcount(db, statement)


async def move_cases(
    db: AsyncSession, column: ColumnRef, merge: CustomerMerge
) -> tuple[int, list[str]]:
    """Move the cases and note it on each one's timeline; the running ones' workflow ids."""
    rows = (
        await db.execute(
            update(Case)
            .where(column == merge.from_id)
            .values({column.key: merge.into_id})
            .returning(Case.id, Case.workflow_id, Case.state)
        )
    ).all()
    if rows:
        data = {"merge_id": str(merge.id), "kind": merge.kind}
        data |= {"from_id": str(merge.from_id), "into_id": str(merge.into_id)}
        events = [
            {
                "case_id": r.id,
                "key": f"merge:{merge.id}",
                "kind": "customer_merged",
                "actor_role": Role.ADMIN,
                "actor_id": str(merge.actor_id) if merge.actor_id else None,
                "public": False,
                "body": None,
                "data": data,
                "at": datetime.now(UTC),
            }
            for r in rows
        ]
        await db.execute(_EVENTS, events)
    return len(rows), [r.workflow_id for r in rows if r.state in LIVE]


async def fold_memberships(
    db: AsyncSession, key: ColumnRef, other: ColumnRef, from_id: uuid.UUID, into_id: uuid.UUID
) -> int:
    """Move a link table's rows (key column = the merged record) to the survivor: a link the
    survivor has already absorbs the merged one. Returns how many links were folded in."""
    table: Table = key.table
    kept = table.alias()
    theirs = select(kept.c[other.key]).where(kept.c[key.key] == into_id)
    dropped = await rowcount(db, table.delete().where(key == from_id, other.in_(theirs)))
    return dropped + await move(db, key, from_id, into_id)


async def merge_accounts(
    db: AsyncSession, rows: dict[uuid.UUID, Record], merge: CustomerMerge
) -> Moved:
    gone, kept = cast(Account, rows[merge.from_id]), cast(Account, rows[merge.into_id])
    f, i = merge.from_id, merge.into_id
    # A survivor below the merged account takes its place in the tree (no cycle through it).
    if f in (await account_chain(db, i))[1:]:
        kept.parent_id = gone.parent_id
    children = select(Account.id).where(Account.parent_id == f, Account.id != i)
    child_ids = list((await db.execute(children)).scalars())
    if child_ids:
        await db.execute(update(Account).where(Account.id.in_(child_ids)).values(parent_id=i))
    kept.domains = list(dict.fromkeys([*kept.domains, *gone.domains]))
    # A contact primary at the merged account stays primary at the survivor.
    there = aliased(AccountContact)
    primary_there = select(there.contact_id).where(there.account_id == f, there.primary.is_(True))
    await db.execute(
        update(AccountContact)
        .where(AccountContact.account_id == i, AccountContact.contact_id.in_(primary_there))
        .values(primary=True)
    )
    moved = {
        "assets": await move(db, Asset.account_id, f, i),
        "entitlements": await move(db, Entitlement.account_id, f, i),
        "contracts": await move(db, ServiceContract.account_id, f, i),
        "memberships": await fold_memberships(
            db, AccountContact.account_id, AccountContact.contact_id, f, i
        ),
        "account_team": await fold_memberships(
            db, AccountTeamMember.account_id, AccountTeamMember.agent_id, f, i
        ),
        "child_accounts": len(child_ids),
    }
    moved["cases"], told = await move_cases(db, Case.account_id, merge)
    await move(db, Account.merged_into_id, f, i)  # earlier merges point at the survivor
    return moved, told


async def merge_contacts(
    db: AsyncSession, rows: dict[uuid.UUID, Record], merge: CustomerMerge
) -> Moved:
    gone, kept = cast(Contact, rows[merge.from_id]), cast(Contact, rows[merge.into_id])
    f, i = merge.from_id, merge.into_id
    kept.phone = kept.phone or gone.phone
    # The survivor keeps its primary account; the merged one's becomes its primary only when
    # the survivor had none (one primary per contact).
    kept_link = aliased(AccountContact)
    has_primary = select(kept_link.contact_id).where(
        kept_link.contact_id == i, kept_link.primary.is_(True)
    )
    await db.execute(
        update(AccountContact)
        .where(AccountContact.contact_id == f, has_primary.exists())
        .values(primary=False)
    )
    tokens = update(ApiToken).where(ApiToken.role == Role.CONTACT, ApiToken.subject_id == f)
    moved = {
        "assets": 0,
        "entitlements": await move(db, Entitlement.contact_id, f, i),
        "contracts": 0,
        "memberships": await fold_memberships(
            db, AccountContact.contact_id, AccountContact.account_id, f, i
        ),
        # the person's portal tokens act as the survivor: they keep seeing their cases
        "tokens": await rowcount(db, tokens.values(subject_id=i)),
    }
    moved["cases"], told = await move_cases(db, Case.contact_id, merge)
    await move(db, Contact.merged_into_id, f, i)
    return moved, told


Merger = Callable[[AsyncSession, dict[uuid.UUID, Record], CustomerMerge], Awaitable[Moved]]
MERGERS: dict[MergeKind, tuple[RecordModel, Merger]] = {
    MergeKind.ACCOUNT: (Account, merge_accounts),
    MergeKind.CONTACT: (Contact, merge_contacts),
}


def _handled(model: RecordModel) -> set[tuple[str, str]]:
    """Foreign keys to `model` that the merge functions above move themselves."""
    own: tuple[ColumnRef, ...] = (
        (Account.parent_id, Account.merged_into_id)
        if model is Account
        else (Contact.merged_into_id,)
    )
    handled: tuple[ColumnRef, ...] = (
        Case.account_id,
        Case.contact_id,
        Asset.account_id,
        Entitlement.account_id,
        Entitlement.contact_id,
        ServiceContract.account_id,
        AccountContact.account_id,
        AccountContact.contact_id,
        AccountTeamMember.account_id,
        *own,
    )
    return {(c.table.name, c.key) for c in handled}


async def move_the_rest(
    db: AsyncSession, model: RecordModel, f: uuid.UUID, i: uuid.UUID
) -> dict[str, int]:
    """Every other foreign key naming the merged record's table (tables added after this
    step was written) follows too, counted under its table's name."""
    target = model.__table__
    handled, moved = _handled(model), dict[str, int]()
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is not target or (table.name, fk.parent.key) in handled:
                continue
            if count := await move(db, fk.parent, f, i):
                moved[table.name] = moved.get(table.name, 0) + count
    return moved


async def merge(db: AsyncSession, arg: MergeInput) -> MergeResult:
    """Merge in the caller's transaction; a retry after the commit answers from the audit row."""
    merge_id = uuid.UUID(arg.merge_id)
    if (done := await db.get(CustomerMerge, merge_id)) is not None:
        return MergeResult(arg.merge_id, dict(done.moved), list(done.workflow_ids))
    try:
        kind = MergeKind(arg.kind)
        f, i = uuid.UUID(arg.from_id), uuid.UUID(arg.into_id)
    except ValueError as err:
        raise refused(f"not a merge: {err}", INVALID) from None
    model, merge_them = MERGERS[kind]
    rows = await check(db, model, f, i)
    actor = uuid.UUID(arg.actor_id) if arg.actor_id else None
    record = CustomerMerge(id=merge_id, kind=kind, from_id=f, into_id=i, actor_id=actor)
    moved, told = await merge_them(db, rows, record)
    moved |= await move_the_rest(db, model, f, i)
    rows[f].merged_into_id = i
    record.moved = {k: moved.pop(k, 0) for k in MOVED_KEYS} | moved
    record.workflow_ids = told
    db.add(record)
    await db.flush()
    return MergeResult(arg.merge_id, dict(record.moved), list(told))


class MergeActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="merge_customer")
    async def merge_customer(self, arg: MergeInput) -> MergeResult:
        async with transaction(self.deps.sessions) as db:
            return await merge(db, arg)
