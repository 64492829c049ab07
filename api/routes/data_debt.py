"""The data-debt report: the customer record's health, as a CSM team watches it weekly."""

from fastapi import APIRouter

from api.deps import ReadSessionDep, Supervisor
from api.schemas.identity import DataDebtRead
from api.services import identity

router = APIRouter(tags=["reports"])


@router.get(
    "/reports/data-debt",
    response_model=DataDebtRead,
    summary="Contacts with no account and groups of duplicate contacts",
)
async def data_debt(db: ReadSessionDep, _: Supervisor):
    """The two numbers a CSM team watches weekly: live contacts linked to no account, and
    groups of live contacts that look like one person (same normalized email, or same
    normalized name and phone: see models/identity_keys.py). Merged contacts count no more."""
    return await identity.data_debt(db=db)
