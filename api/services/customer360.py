"""The whole customer beside a case: account (and parent) with its health, contact or
consumer, entitlement with units left, their assets, the open major cases touching them, and
their other open and recent cases (the console case page)."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from api.services import health
from models.cases import Case
from models.customers import Account, Asset, Consumer, Contact, Product
from models.service import Entitlement
from workflows.vocabulary import ACTIVE

ASSETS = 20
OTHER_CASES = 10  # finished ones shown
OPEN_CASES = 50
MAJOR_CASES = 10


async def customer(*, db, case: Case, health_cache: health.HealthCache | None = None) -> dict:
    account = await db.get(Account, case.account_id) if case.account_id else None
    parent = await db.get(Account, account.parent_id) if account and account.parent_id else None
    person = None
    if case.contact_id:
        person = await db.get(Contact, case.contact_id)
    elif case.consumer_id:
        person = await db.get(Consumer, case.consumer_id)
    return {
        "account": account and {"id": account.id, "name": account.name, "type": account.type},
        "parent": parent and {"id": parent.id, "name": parent.name},
        "health": account
        and await health.of_account(
            db=db, account_id=account.id, now=datetime.now(UTC), cache=health_cache
        ),
        "person": {"name": person.name, "email": person.email, "phone": person.phone}
        if person
        else {"name": case.requester_name, "email": case.requester_email, "phone": None},
        "person_kind": "contact" if case.contact_id else "consumer" if case.consumer_id else None,
        "entitlement": await entitlement(db, case),
        "assets": await assets(db, case),
        "major_cases": await major_cases(db, case),
        **await other_cases(db, case),
    }


async def entitlement(db, case: Case) -> dict | None:
    found = await db.get(Entitlement, case.entitlement_id) if case.entitlement_id else None
    if found is None:
        return None
    units = found.units or {}
    total = units.get("total")
    return {
        "name": found.name,
        "tier": found.tier,
        "active": found.active,
        "ends_on": found.ends_on,
        "units_kind": units.get("kind"),
        "units_total": total,
        "units_used": found.units_used,
        # Only a metered entitlement has units to run out of; None means unlimited.
        "units_left": whole(max(0, total - found.units_used)) if total is not None else None,
    }


def whole(number: float) -> float | int:
    """3.0 hours reads as 3; a part hour keeps one decimal."""
    return int(number) if float(number).is_integer() else round(number, 1)


def owner(case: Case, cases=Case):
    """Whose things belong with the case: the account's, else the consumer's, else the
    account-less contact's (None: an anonymous requester has no history to show); `cases` is
    the Case entity (or an alias of it) the condition is about."""
    if case.account_id:
        return cases.account_id == case.account_id, Asset.account_id == case.account_id
    if case.consumer_id:
        return cases.consumer_id == case.consumer_id, Asset.consumer_id == case.consumer_id
    if case.contact_id:
        return cases.contact_id == case.contact_id, None
    return None, None


async def assets(db, case: Case) -> list[dict]:
    _, theirs = owner(case)
    if theirs is None:
        return []
    query = (
        select(Asset, Product.name)
        .join(Product, Product.id == Asset.product_id)
        .where(theirs)
        .order_by(Product.name, Asset.serial)
        .limit(ASSETS)
    )
    return [
        {
            "id": asset.id,
            "product": product,
            "serial": asset.serial,
            "location": asset.location,
            "this_case": asset.id == case.asset_id,
        }
        for asset, product in (await db.execute(query)).all()
    ]


def other_cases_queries(case: Case):
    """The queries of the customer's other open cases and newest finished ones (None, None for
    an anonymous requester)."""
    theirs, _ = owner(case)
    if theirs is None:
        return None, None
    base = select(Case).where(theirs, Case.id != case.id)
    newest = (Case.created_at.desc(), Case.id.desc())
    return (
        base.where(Case.state.in_(ACTIVE)).order_by(*newest).limit(OPEN_CASES),
        base.where(Case.state.not_in(ACTIVE)).order_by(*newest).limit(OTHER_CASES),
    )


async def other_cases(db, case: Case) -> dict:
    """The customer's other cases (Case rows): the open ones, the newest finished ones."""
    open_query, recent_query = other_cases_queries(case)
    if open_query is None:
        return {"open_cases": [], "recent_cases": []}
    return {
        "open_cases": list((await db.execute(open_query)).scalars()),
        "recent_cases": list((await db.execute(recent_query)).scalars()),
    }


async def major_cases(db, case: Case) -> list[Case]:
    """The open major cases (an outage, say) with an open child case of this customer: what
    they may be calling about, and where their case may already be answered."""
    child = aliased(Case)
    theirs, _ = owner(case, child)
    if theirs is None:
        return []
    children = select(child.parent_case_id).where(
        theirs, child.state.in_(ACTIVE), child.parent_case_id.is_not(None)
    )
    query = (
        select(Case)
        .where(Case.id.in_(children), Case.state.in_(ACTIVE), Case.id != case.id)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(MAJOR_CASES)
    )
    return list((await db.execute(query)).scalars())
