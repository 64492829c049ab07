"""Entitlements: what a customer is entitled to (SLAs, channels, units)."""

from fastapi import APIRouter

from api.collections import collection
from api.deps import SessionDep, Writer
from api.schemas.catalog import EntitlementCreate, EntitlementRead
from api.services.catalog import service_model
from models.service import Entitlement

router = APIRouter(tags=["entitlements"])


@router.post("/entitlements", status_code=201, response_model=EntitlementRead)
async def create_entitlement(body: EntitlementCreate, db: SessionDep, _: Writer):
    """What a customer is entitled to (an account, contact or consumer; for a product or asset;
    on some channels): its SLA definitions replace the priority defaults on their cases, its
    reopen window the default one."""
    return await service_model.create_entitlement(db=db, body=body)


collection(router, "entitlements", Entitlement, EntitlementRead, "entitlements")
