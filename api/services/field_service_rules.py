"""Category rules: a new case that matches one spawns a work order at intake."""

import uuid

from sqlalchemy import select

from api.pagination import read_page
from api.schemas.field_service import FieldServiceRuleCreate, FieldServiceRuleRead
from api.services.catalog.common import save
from models.field_service import FieldServiceRule


async def create(*, db, body: FieldServiceRuleCreate) -> FieldServiceRuleRead:
    fields = body.model_dump()
    fields["category"] = body.category.model_dump(exclude_none=True)
    rule = FieldServiceRule(id=uuid.uuid4(), **fields)
    await save(db, rule, conflict="the rule conflicts with an existing one")
    return FieldServiceRuleRead.model_validate(rule)


async def list_page(*, db, limit: int, cursor: str | None) -> dict:
    query = select(FieldServiceRule)
    return await read_page(
        db, query, FieldServiceRule, limit, cursor, FieldServiceRuleRead.model_validate
    )
