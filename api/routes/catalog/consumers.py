"""Consumers: customers without an account."""

from fastapi import APIRouter

from api.collections import collection
from api.deps import SessionDep, Writer
from api.schemas.catalog import ConsumerCreate, ConsumerRead
from api.services.catalog import customers
from models.customers import Consumer

router = APIRouter(tags=["consumers"])


@router.post("/consumers", status_code=201, response_model=ConsumerRead)
async def create_consumer(body: ConsumerCreate, db: SessionDep, _: Writer):
    """An individual customer with no account (business-to-consumer)."""
    return await customers.create_consumer(db=db, body=body)


collection(router, "consumers", Consumer, ConsumerRead, "consumers")
