"""Scheduled triggers: maintenance plans, the cases their runs opened (once per key), the runs."""

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin


class MaintenancePlan(IdMixin, Base):
    """Preventive maintenance of a product's assets (or of named ones): a Temporal Schedule."""

    __tablename__ = "maintenance_plans"

    name: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"), index=True)
    asset_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)  # when not a product's
    every_days: Mapped[int] = mapped_column(Integer)
    lead_days: Mapped[int] = mapped_column(Integer, default=0)
    skills: Mapped[list[str]] = mapped_column(JSONB, default=list)
    parts: Mapped[list[str]] = mapped_column(JSONB, default=list)
    schedule_id: Mapped[str] = mapped_column(String(200), unique=True)


class ScheduledCase(IdMixin, Base):
    """One case a scheduled run opened, under its unique key (plan + asset + due date, or
    entitlement + end date): written before the case's workflow starts, so every retry and
    every rerun finds the same case id and number (so the same workflow id)."""

    __tablename__ = "scheduled_cases"

    key: Mapped[str] = mapped_column(String(200), unique=True)
    # No foreign key: intake inserts the case row after this one, in the case's workflow.
    case_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    number: Mapped[str] = mapped_column(String(16))
    plan_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("maintenance_plans.id"), index=True
    )
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id"))
    entitlement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("entitlements.id"))
    due_on: Mapped[date]
    run_key: Mapped[str] = mapped_column(String(200), index=True)  # the run that opened it


class ScheduledRun(IdMixin, Base):
    """What one run of a schedule found and opened (a retried record keeps one row)."""

    __tablename__ = "scheduled_runs"

    run_key: Mapped[str] = mapped_column(String(200), unique=True)  # the run's workflow id
    schedule_id: Mapped[str] = mapped_column(String(200))
    plan_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("maintenance_plans.id"), index=True
    )
    at: Mapped[datetime]
    items_due: Mapped[int] = mapped_column(Integer)
    cases_opened: Mapped[int] = mapped_column(Integer)
