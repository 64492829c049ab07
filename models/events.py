"""Monitoring events and the customers each one affects (the fan-out's plan, row by row)."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin


class Event(IdMixin, Base):
    """One monitoring event, unique by (source, event_id): posting it again finds this row.

    The major case's id and number are reserved here, in the same transaction that takes the
    (source, event_id) slot, so every retry and every concurrent post names the same case and
    starts the same workflows (ids derived from these, never from luck)."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_events_source_event_id"),)

    source: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300))
    severity: Mapped[int] = mapped_column(Integer, default=3)
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"))
    asset_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)
    location: Mapped[str | None] = mapped_column(String(300))
    queue: Mapped[str | None] = mapped_column(String(80))
    # No foreign key: the case row is written by the major case's own intake, after this.
    major_case_id: Mapped[uuid.UUID] = mapped_column(index=True)  # which case is major, per resolve
    major_number: Mapped[str] = mapped_column(String(16))
    affected: Mapped[int] = mapped_column(Integer, default=0)
    cleared_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)


class EventCustomer(Base):
    """One affected customer (an account or a consumer) of an event, with its assets and the
    child case reserved for it: the fan-out opens exactly these, in `seq` order."""

    __tablename__ = "event_customers"
    __table_args__ = (
        UniqueConstraint("event_ref", "customer_key", name="uq_event_customers_customer"),
    )

    event_ref: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_key: Mapped[str] = mapped_column(String(80))  # account:<id> | consumer:<id>
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id"))
    consumer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consumers.id"))
    asset_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)
    case_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    number: Mapped[str] = mapped_column(String(16))
