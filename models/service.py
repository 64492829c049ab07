"""What customers are entitled to: contracts, entitlements, schedules and SLA definitions."""

import uuid
from datetime import date

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin


class ServiceContract(IdMixin, Base):
    __tablename__ = "service_contracts"
    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]


class Schedule(IdMixin, Base):
    """Business hours in a time zone, with holidays; the SLA clock counts only these."""

    __tablename__ = "schedules"
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict] = mapped_column(JSONB, default=dict)
    holidays: Mapped[list[str]] = mapped_column(JSONB, default=list)


class SlaDefinition(IdMixin, Base):
    __tablename__ = "sla_definitions"
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # response | resolution
    duration_seconds: Mapped[int] = mapped_column(Integer)
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("schedules.id"))
    warn_at: Mapped[list[float]] = mapped_column(JSONB, default=lambda: [0.5, 0.75])
    pause_on: Mapped[list[str]] = mapped_column(JSONB, default=lambda: ["awaiting_info"])
    # A default definition applies to cases of this priority when no entitlement grants SLAs.
    default_for_priority: Mapped[int | None] = mapped_column(Integer)


class Entitlement(IdMixin, Base):
    """A right to support at one grain: asset, product, contact, consumer or account."""

    __tablename__ = "entitlements"
    name: Mapped[str] = mapped_column(String(200))
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_contracts.id"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    consumer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consumers.id"), index=True)
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"), index=True)
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id"), index=True)
    tier: Mapped[str] = mapped_column(String(40), default="standard")
    channels: Mapped[list[str]] = mapped_column(JSONB, default=list)
    sla_definition_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)
    reopen_window_seconds: Mapped[int | None] = mapped_column(Integer)
    units: Mapped[dict | None] = mapped_column(JSONB)  # {"kind": "cases"|"hours", "total": n}
    units_used: Mapped[float] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
