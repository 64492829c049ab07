"""Category rules: matching new cases spawn a work order at intake."""

from fastapi import APIRouter

from api.deps import Reader, SessionDep, Writer
from api.pagination import CursorQ, LimitQ
from api.schemas.catalog import Page
from api.schemas.field_service import FieldServiceRuleCreate, FieldServiceRuleRead
from api.services import field_service_rules

router = APIRouter(tags=["field service rules"])


@router.post(
    "/field-service-rules",
    status_code=201,
    response_model=FieldServiceRuleRead,
    summary="A category rule: matching new cases spawn a work order at intake",
)
async def create_rule(body: FieldServiceRuleCreate, db: SessionDep, _: Writer):
    """A rule on a case's category: a new case whose category matches every key of it gets a work
    order at intake, with the rule's skills, parts and notes."""
    return await field_service_rules.create(db=db, body=body)


@router.get("/field-service-rules", response_model=Page[FieldServiceRuleRead])
async def list_rules(db: SessionDep, _: Reader, limit: LimitQ = 50, cursor: CursorQ = None):
    """Field-service rules, oldest first (the order intake tries them in)."""
    return await field_service_rules.list_page(db=db, limit=limit, cursor=cursor)
