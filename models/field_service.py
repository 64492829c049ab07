"""Field service: work orders a case spawns (each a WorkOrderWorkflow) and the rules that do it."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, Sequence, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, utcnow
from workflows.vocabulary import WorkOrderState

work_order_number_seq = Sequence("work_order_number_seq", start=1000)


def format_work_order_number(n: int) -> str:
    return f"WO{n:07d}"


class WorkOrder(IdMixin, Base):
    """The read side of one WorkOrderWorkflow; dispatch owns technician_id and waiting_since."""

    __tablename__ = "work_orders"
    __table_args__ = (
        # Dispatch: the waiting line, oldest first.
        Index(
            "ix_work_orders_waiting",
            "created_at",
            postgresql_where=text("waiting_since IS NOT NULL AND technician_id IS NULL"),
        ),
        # A technician's bookings (their windows) and their own work list.
        Index("ix_work_orders_technician_state", "technician_id", "state"),
        # First-time fix: later work orders on the same case and asset.
        Index("ix_work_orders_case_asset_created", "case_id", "asset_id", "created_at"),
    )

    number: Mapped[str] = mapped_column(String(16), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(64), unique=True)
    # The creating request's idempotency key: a retried create finds the same row.
    request_key: Mapped[str] = mapped_column(String(200), unique=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id"))
    rule_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("field_service_rules.id"))
    state: Mapped[str] = mapped_column(String(16), default=WorkOrderState.NEW)
    location: Mapped[str | None] = mapped_column(String(300))
    territory: Mapped[str | None] = mapped_column(String(120))
    required_skills: Mapped[list[str]] = mapped_column(JSONB, default=list)
    parts: Mapped[list[str]] = mapped_column(JSONB, default=list)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    auto_resolve: Mapped[bool] = mapped_column(default=False)
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"))
    dispatch_key: Mapped[str | None] = mapped_column(String(200), index=True)
    waiting_since: Mapped[datetime | None]
    waiting_reason: Mapped[str | None] = mapped_column(String(500))
    resolution_notes: Mapped[str | None] = mapped_column(Text)
    parts_used: Mapped[list[str]] = mapped_column(JSONB, default=list)
    fixed: Mapped[bool | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # The workflow's change counter: a late write of an older projection never wins.
    version: Mapped[int] = mapped_column(Integer, default=0)
    dispatched_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FieldServiceRule(IdMixin, Base):
    """A category rule: a new case whose category matches spawns a work order at intake."""

    __tablename__ = "field_service_rules"
    name: Mapped[str] = mapped_column(String(200))
    # {"product": ..., "issue_type": ..., "symptom": ...}: every key set must match the case.
    category: Mapped[dict] = mapped_column(JSONB, default=dict)
    skills: Mapped[list[str]] = mapped_column(JSONB, default=list)
    parts: Mapped[list[str]] = mapped_column(JSONB, default=list)
    auto_resolve: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
