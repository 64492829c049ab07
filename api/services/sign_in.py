"""Sign-in by email link: mail a one-time link to the person with an address, and take it.

A link is `<public url>/login/link/<id>.<secret>`: the secret is 256 random bits of which
only the SHA-256 hash is stored, with the person (role and id) and the address it was sent
to, so a link cannot be forged or altered into another (any change misses the hash); it
expires 15 minutes after it was asked for, and the one UPDATE that may take it marks it used,
so it signs in once. The mail goes through the outbox (a row with a unique key, committed
with the link), so the relay sends it once even across crashes. An address that names no one
gets the same answer and no mail, so the form tells nobody who has an account.
"""

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.auth import SignInLink, hash_token
from models.cases import Notification
from models.customers import Consumer, Contact
from models.email_address import normalize
from models.people import Agent, Technician
from workflows.vocabulary import Role

LINK_SECONDS = 15 * 60
TEMPLATE = "sign_in_link"
# Where a person of each role is found (an agent's role is agent or supervisor, on the row).
TABLES = {
    Role.CONTACT: Contact,
    Role.CONSUMER: Consumer,
    Role.AGENT: Agent,
    Role.TECHNICIAN: Technician,
}


@dataclass(frozen=True)
class Person:
    role: str
    subject_id: uuid.UUID
    name: str
    email: str


class Refused(StrEnum):
    """Why a link does not sign anyone in; each gets its own page."""

    INVALID = "invalid"  # not a link we made, or altered
    USED = "used"
    EXPIRED = "expired"


def address_key(email: str) -> str:
    """The address as the per-address rate limit counts it: its stored form when valid."""
    try:
        return normalize(email)
    except ValueError:
        return email.strip().lower()[:320]


def merged(row: object) -> bool:
    """A contact merged into another is no one to sign in as: its cases, tokens and memberships
    went to the survivor (a link asked for before the merge is refused too)."""
    return getattr(row, "merged_into_id", None) is not None


async def people_with(db: AsyncSession, email: str) -> list[Person]:
    """Everyone who may sign in with `email` (one per table it is found in)."""
    found = []
    for table in (Contact, Consumer, Agent, Technician):
        row = (await db.execute(select(table).where(table.email == email))).scalar()
        if row is None or merged(row):
            continue
        role = getattr(row, "role", None) or next(r for r, t in TABLES.items() if t is table)
        found.append(Person(Role(role), row.id, row.name, row.email))
    return found


async def person(db: AsyncSession, role: str, subject_id: uuid.UUID) -> Person | None:
    """The person a link names, as they are now."""
    table = Agent if role == Role.SUPERVISOR else TABLES.get(Role(role))
    row = await db.get(table, subject_id) if table is not None else None
    if row is None or merged(row) or getattr(row, "role", role) != role:
        return None
    return Person(Role(role), row.id, row.name, row.email)


async def send_links(db: AsyncSession, *, email: str, public_url: str) -> int:
    """Mail a fresh link to each person with `email`; commits; answers how many (0 for an
    address that names no one, or is not an address: the caller answers the same)."""
    try:
        address = normalize(email)
    except ValueError:
        return 0
    people = await people_with(db, address)
    now = datetime.now(UTC)
    for who in people:
        link_id, secret = uuid.uuid4(), secrets.token_urlsafe(32)
        db.add(
            SignInLink(
                id=link_id,
                secret_hash=hash_token(secret),
                email=who.email,
                role=who.role,
                subject_id=who.subject_id,
                expires_at=now + timedelta(seconds=LINK_SECONDS),
            )
        )
        url = f"{public_url.rstrip('/')}/login/link/{link_id.hex}.{secret}"
        row_id = uuid.uuid4()
        await db.execute(
            insert(Notification)
            .values(
                id=row_id,
                case_id=None,
                key=f"sign-in:{link_id}",
                template=TEMPLATE,
                recipient=who.email,
                recipient_name=who.name,
                message_id=f"<{row_id.hex}@casework>",
                context={
                    "recipient": {"name": who.name, "email": who.email},
                    "portal_url": public_url,
                    "link": {"url": url, "minutes": LINK_SECONDS // 60, "role": who.role},
                },
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
    await db.commit()
    return len(people)


def parse(value: str) -> tuple[uuid.UUID, str] | None:
    link_id, dot, secret = value.partition(".")
    if not dot or not secret or len(secret) > 100:
        return None
    try:
        return uuid.UUID(hex=link_id), secret
    except ValueError:
        return None


async def check(db: AsyncSession, value: str) -> SignInLink | Refused:
    """The link the value names, if it would sign in now; why not, else (nothing is used)."""
    parsed = parse(value)
    if parsed is None:
        return Refused.INVALID
    link = await db.get(SignInLink, parsed[0])
    if link is None or not hmac.compare_digest(link.secret_hash, hash_token(parsed[1])):
        return Refused.INVALID
    if link.used_at is not None:
        return Refused.USED
    if link.expires_at <= datetime.now(UTC):
        return Refused.EXPIRED
    return link


async def take(db: AsyncSession, value: str) -> Person | Refused:
    """Use the link (once): the person it signs in, who must still have the address it was
    sent to; else why not. Commits."""
    found = await check(db, value)
    if isinstance(found, Refused):
        return found
    now = datetime.now(UTC)
    taken = await db.execute(
        update(SignInLink)
        .where(
            SignInLink.id == found.id,
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(SignInLink.role, SignInLink.subject_id, SignInLink.email)
    )
    row = taken.first()
    await db.commit()
    if row is None:  # taken by a concurrent request a moment ago
        return Refused.USED
    who = await person(db, row.role, row.subject_id)
    if who is None or who.email != row.email:
        return Refused.INVALID  # the person is gone, or has another address now
    return who
