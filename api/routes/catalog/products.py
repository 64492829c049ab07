"""Products."""

from fastapi import APIRouter

from api.collections import collection
from api.deps import SessionDep, Writer
from api.schemas.catalog import ProductCreate, ProductRead
from api.services.catalog import customers
from models.customers import Product

router = APIRouter(tags=["products"])


@router.post("/products", status_code=201, response_model=ProductRead)
async def create_product(body: ProductCreate, db: SessionDep, _: Writer):
    """A product that customers own as assets and entitlements cover."""
    return await customers.create_product(db=db, body=body)


collection(router, "products", Product, ProductRead, "products")
