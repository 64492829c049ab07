"""Bearer tokens: mint (admin), revoke (admin), and ask who the caller is."""

import uuid

from fastapi import APIRouter, Request, Response

from api.deps import Admin, CurrentPrincipal, SessionDep
from api.schemas.tokens import Me, TokenCreate, TokenCreated
from api.services import tokens

router = APIRouter(tags=["tokens"])


@router.post("/tokens", status_code=201, response_model=TokenCreated, summary="Mint a token")
async def create_token(body: TokenCreate, db: SessionDep, _: Admin) -> TokenCreated:
    """Admin only. A bearer token for a role (admin, supervisor, agent, technician,
    integration, partner, contact, consumer) and, for a role that acts as someone, its subject
    (the agent, technician, contact, consumer or partner account). The token is shown once;
    only its hash is kept."""
    return await tokens.mint(db=db, body=body)


@router.get("/tokens/me", response_model=Me, summary="The caller's role and subject")
async def who_am_i(principal: CurrentPrincipal) -> Me:
    """The role and subject of the token that calls: what a client checks after signing in."""
    return Me(role=principal.role, subject_id=principal.subject_id)


@router.delete("/tokens/{token_id:uuid}", status_code=204, summary="Revoke a token")
async def revoke_token(token_id: uuid.UUID, request: Request, db: SessionDep, _: Admin) -> Response:
    """Admin only. The token stops working at once in the API process that handles this, and within
    5 seconds in every other one."""
    await tokens.revoke(db=db, principals=request.app.state.principals, token_id=token_id)
    return Response(status_code=204)
