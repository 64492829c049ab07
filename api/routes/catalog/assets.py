"""Assets: products installed at an account or a consumer."""

from fastapi import APIRouter

from api.collections import collection
from api.deps import SessionDep, Writer
from api.schemas.catalog import AssetCreate, AssetRead
from api.services.catalog import customers
from models.customers import Asset

router = APIRouter(tags=["assets"])


@router.post("/assets", status_code=201, response_model=AssetRead)
async def create_asset(body: AssetCreate, db: SessionDep, _: Writer):
    """An installed product, owned by an account or by a consumer (not both), with its serial
    number and location: cases name it, and its work orders go to where it is."""
    return await customers.create_asset(db=db, body=body)


collection(router, "assets", Asset, AssetRead, "assets")
