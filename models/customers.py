"""Who we serve: accounts, contacts, consumers, products and their installed assets."""

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin


class Account(IdMixin, Base):
    __tablename__ = "accounts"
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16), default="customer")
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    domains: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # A site's address and field-service territory (work orders without an asset use them).
    location: Mapped[str | None] = mapped_column(String(300))
    territory: Mapped[str | None] = mapped_column(String(120))


class Contact(IdMixin, Base):
    __tablename__ = "contacts"
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))


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
