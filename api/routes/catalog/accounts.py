"""Accounts and their teams."""

import uuid

from fastapi import APIRouter, Response

from api.collections import collection
from api.deps import Admin, Reader, SessionDep, Writer
from api.merging import merge_route
from api.schemas.catalog import AccountCreate, AccountRead, Page, TeamMemberCreate, TeamMemberRead
from api.services.catalog import customers
from models.customers import Account
from workflows.vocabulary import MergeKind

router = APIRouter(tags=["accounts"])


@router.post("/accounts", status_code=201, response_model=AccountRead)
async def create_account(body: AccountCreate, db: SessionDep, _: Writer):
    """An integration (or admin) creates a customer (or partner) account, or a site of one
    (parent_id), with its email domains."""
    return await customers.create_account(db=db, body=body)


# A merged account leaves the list; GET by id still answers it, with merged_into_id.
collection(
    router, "accounts", Account, AccountRead, "accounts", where=Account.merged_into_id.is_(None)
)


@router.post(
    "/accounts/{account_id}/team",
    status_code=201,
    response_model=TeamMemberRead,
    summary="Add an agent to the account team (or change their role there)",
)
async def add_team_member(
    account_id: uuid.UUID, body: TeamMemberCreate, db: SessionDep, response: Response, _: Admin
):
    """Admin only. Puts an agent on the account's team (account manager, or a member who gets its
    cases first); the same agent again changes their role (200)."""
    member, added = await customers.put_team_member(db=db, account_id=account_id, body=body)
    if not added:
        response.status_code = 200
    return member


@router.get("/accounts/{account_id}/team", response_model=Page[TeamMemberRead])
async def list_team(account_id: uuid.UUID, db: SessionDep, _: Reader):
    """The account's team: each agent and their role on it."""
    return await customers.team(db=db, account_id=account_id)


merge_route(
    router,
    "accounts",
    MergeKind.ACCOUNT,
    """Move every case, asset, entitlement, contract, membership, team member and child
account of this account to `into_id` in one transaction, keep an audit record, and tell
each running case's workflow, whose account (query, search attribute), routing and SLA
notices then follow the survivor. This account keeps `merged_into_id` and leaves the
list. 422 into itself; 409 when either side was merged already; 404 unknown ids.""",
)
