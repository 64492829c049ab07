"""ITSM incidents linked to cases: the built-in service desk table, or a webhook's mirror."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Sequence, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, utcnow
from workflows.vocabulary import INCIDENT_OPEN, IncidentState

incident_number_seq = Sequence("incident_number_seq", start=1000)

OPEN_PREDICATE = "state IN (" + ", ".join(f"'{s}'" for s in INCIDENT_OPEN) + ")"


def format_incident_number(n: int) -> str:
    return f"INC{n:07d}"


class Incident(IdMixin, Base):
    __tablename__ = "incidents"
    __table_args__ = (
        # At most one open incident per case, whatever races the workflow's own check.
        Index(
            "uq_incidents_open_per_case",
            "case_id",
            unique=True,
            postgresql_where=text(OPEN_PREDICATE),
        ),
    )

    number: Mapped[str] = mapped_column(String(16), unique=True)
    request_key: Mapped[str] = mapped_column(String(200), unique=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    adapter: Mapped[str] = mapped_column(String(16))  # builtin | webhook
    # The receiver's id for it (webhook); a retry after a lost answer never makes a second one.
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(16), default=IncidentState.NEW)
    summary: Mapped[str] = mapped_column(String(300))
    urgency: Mapped[int] = mapped_column(default=3)
    impact: Mapped[int] = mapped_column(default=3)
    auto_resolve: Mapped[bool] = mapped_column(default=False)
    last_comment: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    delivery_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None]
