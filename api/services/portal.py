"""What the portal shows a customer: the cases that wait on them, their own cases, their
account's, the category choices for a new case, and the checks of a new case's pickers."""

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import visibility
from api.auth import Principal
from api.schemas.catalog import KnowledgeHit
from api.services import install_base
from api.services.catalog import knowledge
from models.cases import Case
from models.events import Event, EventCustomer
from workflows.vocabulary import ACTIVE, CaseState, Role

LIST_LIMIT = 100
# The cases that wait on their customer: a question to answer, a resolution to accept or reject.
WAITING_ON_CUSTOMER = (CaseState.AWAITING_INFO, CaseState.RESOLVED)
# The portal's category tree below the product (the product is the first level): issue type,
# then symptom. Intake and field-service rules match on these names.
ISSUE_TYPES: dict[str, tuple[str, ...]] = {
    "Not working": ("Does not turn on", "Error message", "Stopped working", "Keeps restarting"),
    "Connectivity": ("No connection", "Drops often", "Slow", "Cannot find device"),
    "Performance": ("Slow", "Noisy", "Overheating", "Poor quality"),
    "Setup": ("Installation", "Configuration", "Update", "Account access"),
    "Billing": ("Invoice", "Payment", "Warranty", "Return"),
    "Question": ("How to", "Other"),
}


def mine(who: Principal) -> ColumnElement[bool]:
    """Cases the caller opened or is the customer of (not merely sees through an account)."""
    if who.role == Role.CONTACT:
        return Case.contact_id == who.subject_id
    if who.role == Role.CONSUMER:
        return Case.consumer_id == who.subject_id
    return Case.id.is_(None)


async def _cases(db: AsyncSession, who: Principal, *where) -> list[Case]:
    query = select(Case).where(await visibility.case_filter(db, who), *where)
    query = query.order_by(Case.updated_at.desc(), Case.id.desc()).limit(LIST_LIMIT)
    return list(await db.scalars(query))


async def action_needed(db: AsyncSession, who: Principal) -> list[Case]:
    """My cases awaiting my reply or my acceptance of a proposed resolution."""
    return await _cases(db, who, mine(who), Case.state.in_(WAITING_ON_CUSTOMER))


async def my_cases(db: AsyncSession, who: Principal) -> list[Case]:
    return await _cases(db, who, mine(who))


async def account_cases(db: AsyncSession, who: Principal) -> list[Case]:
    """For a contact, the cases of their accounts (and sub-accounts) opened by colleagues."""
    if who.role != Role.CONTACT:
        return []
    others = or_(Case.contact_id.is_(None), Case.contact_id != who.subject_id)
    return await _cases(db, who, and_(Case.account_id.is_not(None), others))


async def suggestions(db: AsyncSession, who: Principal, q: str, limit: int) -> list[KnowledgeHit]:
    """The articles matching what the customer typed (their snippets are escaped HTML)."""
    terms = q.replace("\x00", "").strip()[:200]
    if not terms:
        return []
    return (await knowledge.search(db=db, principal=who, q=terms, limit=limit))["items"]


async def banners(db: AsyncSession, who: Principal) -> list[dict]:
    """Notices above the portal, each {"kind", "text"}: every open event (not cleared, its major
    case still active) that affects this customer — a consumer's own assets, or an account of a
    contact's — so they know before they call."""
    if who.role == Role.CONTACT:
        accounts = await visibility.contact_accounts(db, who.subject_id)
        affected = EventCustomer.account_id.in_(accounts)
    elif who.role == Role.CONSUMER:
        affected = EventCustomer.consumer_id == who.subject_id
    else:
        return []
    query = (
        select(Event.summary, Event.major_number, func.count(EventCustomer.seq))
        .join(EventCustomer, EventCustomer.event_ref == Event.id)
        .join(Case, Case.id == Event.major_case_id)
        .where(affected, Event.cleared_at.is_(None), Case.state.in_(ACTIVE))
        .group_by(Event.id, Event.summary, Event.major_number, Event.created_at)
        .order_by(Event.created_at.desc())
        .limit(5)
    )
    return [
        {"kind": "warn", "text": f"Known issue ({number}): {summary}. We are working on it."}
        for summary, number, _ in await db.execute(query)
    ]


@dataclass
class Pickers:
    """A new case's product, asset and category as the form gave them, checked."""

    product_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    category: dict[str, str] | None = None
    error: str | None = None


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value.strip() else None
    except ValueError:
        return None


async def check_pickers(
    db: AsyncSession, who: Principal, *, product: str, asset: str, issue_type: str, symptom: str
) -> Pickers:
    """The asset must be one of mine and the product one of my install base's (the asset's when
    only the asset is given); the symptom one of the issue type's."""
    owned = {a.id: (a, p) for a, p in await install_base.assets(db, who)}
    products = {p.id: p for _, p in owned.values()}
    asset_id, product_id = _uuid(asset), _uuid(product)
    if asset.strip() and asset_id not in owned:
        return Pickers(error="Please pick one of your assets.")
    if product.strip() and product_id not in products:
        return Pickers(error="Please pick one of your products.")
    if asset_id is not None:
        asset_product = owned[asset_id][1]
        if product_id is not None and product_id != asset_product.id:
            return Pickers(error="That asset is not of the product you picked.")
        product_id = asset_product.id
    category: dict[str, str] = {}
    if product_id is not None:
        category["product"] = products[product_id].name
    if issue_type:
        if issue_type not in ISSUE_TYPES:
            return Pickers(error="Please pick a type of issue from the list.")
        category["issue_type"] = issue_type
    if symptom:
        if symptom not in ISSUE_TYPES.get(issue_type, ()):
            return Pickers(error="Please pick a symptom of the type of issue you picked.")
        category["symptom"] = symptom
    return Pickers(product_id=product_id, asset_id=asset_id, category=category or None)
