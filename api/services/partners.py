"""Partners: the accounts a case may be assigned to (assign-partner), and their users."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.intake import bad
from models.customers import Account

# Account types that may work cases for us (API.md: POST /accounts `type`).
PARTNER_TYPES = ("partner", "both")


def is_partner(account: Account | None) -> bool:
    return account is not None and account.type in PARTNER_TYPES


async def check_partner(db: AsyncSession, account_id: uuid.UUID) -> None:
    """422 unless `account_id` names an account of type partner or both."""
    if not is_partner(await db.get(Account, account_id)):
        raise bad("partner_account_id", "no such partner account (type partner or both)")


async def partner_accounts(db: AsyncSession) -> list[dict]:
    """Every account a case may be assigned to, by name (the console's assign-partner form);
    merged accounts are not offered."""
    rows = await db.execute(
        select(Account.id, Account.name)
        .where(Account.type.in_(PARTNER_TYPES), Account.merged_into_id.is_(None))
        .order_by(Account.name, Account.id)
    )
    return [dict(row._mapping) for row in rows]
