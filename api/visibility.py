"""Which cases a caller may see: staff all, a contact their accounts' (and sub-accounts') and
their own account-less ones, a consumer their own, a partner those assigned to its account.
Applied to every read, so foreign cases are simply not found."""

import uuid

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from models.cases import Case
from models.customers import Account, AccountContact
from workflows.vocabulary import STAFF, Role

SEE_ALL = (*STAFF, Role.INTEGRATION)


async def contact_accounts(db: AsyncSession, contact_id: uuid.UUID) -> list[uuid.UUID]:
    """The contact's accounts and every account below them."""
    base = select(AccountContact.account_id.label("id")).where(
        AccountContact.contact_id == contact_id
    )
    tree = base.cte("tree", recursive=True)
    tree = tree.union(select(Account.id).where(Account.parent_id == tree.c.id))
    return list((await db.execute(select(tree.c.id))).scalars())


async def case_filter(db: AsyncSession, who: Principal) -> ColumnElement[bool]:
    if who.role in SEE_ALL:
        return true()
    if who.role == Role.CONTACT and who.subject_id:
        # A contact with no account (yet) still sees the cases they opened themselves.
        own_unaccounted = and_(Case.contact_id == who.subject_id, Case.account_id.is_(None))
        return or_(Case.account_id.in_(await contact_accounts(db, who.subject_id)), own_unaccounted)
    if who.role == Role.CONSUMER and who.subject_id:
        return Case.consumer_id == who.subject_id
    if who.role == Role.PARTNER and who.subject_id:
        # A partner's users act for the partner account: exactly the cases assigned to it.
        return Case.partner_account_id == who.subject_id
    return false()
