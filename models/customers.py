"""Who we serve: accounts, contacts, consumers, products and their installed assets."""

import uuid

from sqlalchemy import Computed, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin
from models.identity_keys import EMAIL_KEY, NAME_KEY, PHONE_KEY


class Account(IdMixin, Base):
    __tablename__ = "accounts"
    # Who owns a mail domain (activities/identity.py): `domains ?| array[...]`.
    __table_args__ = (Index("ix_accounts_domains", "domains", postgresql_using="gin"),)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16), default="customer")
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    domains: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # A site's address and field-service territory (work orders without an asset use them).
    location: Mapped[str | None] = mapped_column(String(300))
    territory: Mapped[str | None] = mapped_column(String(120))
    # Set once the account is merged into another: it leaves the lists, its id still answers.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))


class Contact(IdMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        # Duplicate detection (models/identity_keys.py): same person by name and phone.
        Index(
            "ix_contacts_name_phone_key",
            "name_key",
            "phone_key",
            postgresql_where="merged_into_id IS NULL AND phone_key IS NOT NULL",
        ),
        # A merge re-points earlier merges at its survivor (few rows, many contacts).
        Index(
            "ix_contacts_merged_into",
            "merged_into_id",
            postgresql_where="merged_into_id IS NOT NULL",
        ),
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id"))
    # The identity keys, kept by PostgreSQL itself, so no writer can forget them.
    email_key: Mapped[str | None] = mapped_column(
        String(320), Computed(EMAIL_KEY, persisted=True), index=True
    )
    name_key: Mapped[str | None] = mapped_column(String(200), Computed(NAME_KEY, persisted=True))
    phone_key: Mapped[str | None] = mapped_column(String(40), Computed(PHONE_KEY, persisted=True))


class AccountContact(Base):
    """A contact's membership of an account; exactly one is primary."""

    __tablename__ = "account_contacts"
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id"), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id"), primary_key=True, index=True
    )
    primary: Mapped[bool] = mapped_column(default=False)


class Consumer(IdMixin, Base):
    __tablename__ = "consumers"
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    addresses: Mapped[list[dict]] = mapped_column(JSONB, default=list)


class Product(IdMixin, Base):
    __tablename__ = "products"
    name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str | None] = mapped_column(String(80), unique=True)


class Asset(IdMixin, Base):
    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("product_id", "serial"),)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"), index=True)
    serial: Mapped[str | None] = mapped_column(String(120))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    consumer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consumers.id"), index=True)
    location: Mapped[str | None] = mapped_column(String(300))
    territory: Mapped[str | None] = mapped_column(String(120))
