"""Cases (the read-side projection of each CaseWorkflow), their timeline, outbox and assignments."""

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, IdMixin, utcnow
from workflows.vocabulary import ACTIVE

# The partial indexes over active cases; tests/api/test_vocabulary.py checks it names ACTIVE.
ACTIVE_PREDICATE = text(f"state IN ({', '.join(repr(str(s)) for s in ACTIVE)})")
case_number_seq = Sequence("case_number_seq", start=1000)


def format_case_number(n: int) -> str:
    return f"CS{n:07d}"


class Case(IdMixin, Base):
    __tablename__ = "cases"
    __table_args__ = (
        # The supervisor's queue view: open cases of a queue by due time.
        Index(
            "ix_cases_open_queue_due",
            "queue",
            "next_due_at",
            postgresql_where=ACTIVE_PREDICATE,
        ),
        # Routing: the waiting line, highest priority then oldest first.
        Index(
            "ix_cases_waiting",
            "priority",
            "created_at",
            postgresql_where=text("waiting_since IS NOT NULL"),
        ),
        # Agent load: open cases per assignee.
        Index(
            "ix_cases_open_by_agent",
            "assigned_agent_id",
            postgresql_where=ACTIVE_PREDICATE,
        ),
        Index("ix_cases_account_created", "account_id", "created_at"),
        Index("ix_cases_state_created", "state", "created_at"),
        # The queue list: open cases of a queue and state in keyset order (created_at, id).
        Index(
            "ix_cases_open_queue_state_created",
            "queue",
            "state",
            "created_at",
            "id",
            postgresql_where=ACTIVE_PREDICATE,
        ),
        # The console's at-risk list in its order: breached first (the rank 0 of
        # api.services.console.AT_RISK_RANK), then by due time, so it reads no more rows
        # than it shows instead of sorting every open case due soon.
        Index(
            "ix_cases_at_risk",
            text("(CAST(NOT breached AS INTEGER))"),
            "next_due_at",
            "id",
            postgresql_where=text(f"{ACTIVE_PREDICATE.text} AND next_due_at IS NOT NULL"),
        ),
        # The console's recent cases (newest first, of all states) and customer health's
        # window of cases by creation.
        Index("ix_cases_created", "created_at", "id"),
        # The console's queue counts read from the index alone (an index-only scan), not
        # from every open case's row.
        Index(
            "ix_cases_open_counts",
            "queue",
            postgresql_include=["state", "breached", "priority", "waiting_since"],
            postgresql_where=ACTIVE_PREDICATE,
        ),
    )

    number: Mapped[str] = mapped_column(String(16), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[int] = mapped_column(Integer, default=3)
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    requester_email: Mapped[str | None] = mapped_column(String(320))
    requester_name: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    consumer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consumers.id"), index=True)
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"))
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id"))
    category: Mapped[dict] = mapped_column(JSONB, default=dict)
    required_skills: Mapped[list[str]] = mapped_column(JSONB, default=list)
    priority_explicit: Mapped[bool] = mapped_column(default=False)
    assigned_agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"))
    queue: Mapped[str | None] = mapped_column(String(80))
    waiting_since: Mapped[datetime | None]
    entitlement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("entitlements.id"))
    parent_case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    sla: Mapped[list[dict]] = mapped_column(JSONB, default=list)
    next_due_at: Mapped[datetime | None]
    breached: Mapped[bool] = mapped_column(default=False)
    resolution: Mapped[str | None] = mapped_column(Text)
    reopen_window_ends_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # The workflow's change counter: a late write of an older projection never wins.
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    csat: Mapped[dict | None] = mapped_column(JSONB)  # the survey's answer, for the view
    # The partner account working the case (assign-partner): its partner users see it.
    partner_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id"), index=True
    )
    # Linked work orders and incidents with their live state: loaded only where a query asks
    # for them (`selectinload`), so the worker's many reads of a case cost one query each.
    work_order_rows: Mapped[list["WorkOrder"]] = relationship(  # noqa: F821
        lazy="raise_on_sql", viewonly=True, order_by="WorkOrder.created_at"
    )
    incident_rows: Mapped[list["Incident"]] = relationship(  # noqa: F821
        lazy="raise_on_sql", viewonly=True, order_by="Incident.created_at"
    )


class CaseEvent(Base):
    """One line of a case's timeline; `key` makes every write idempotent."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    public: Mapped[bool] = mapped_column(default=True)
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
    at: Mapped[datetime]


class Notification(IdMixin, Base):
    """The outbox: a row per message to send, unique by its idempotency key."""

    __tablename__ = "notifications"
    # What the outbox relay looks for: pending rows, oldest first.
    __table_args__ = (
        Index(
            "ix_notifications_pending",
            "created_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="email")
    template: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(300))
    message_id: Mapped[str] = mapped_column(String(255), index=True)  # inbound replies find it
    context: Mapped[dict] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    # When the outbox relay tries a transiently refused row again (None: at once).
    next_attempt_at: Mapped[datetime | None]


class Assignment(IdMixin, Base):
    """Each routing decision, keyed by the dispatch that made it (so a retry finds it again)."""

    __tablename__ = "assignments"
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id"))
    dispatch_key: Mapped[str] = mapped_column(String(200), index=True)
    signalled: Mapped[bool] = mapped_column(default=False)


class IntakeKey(Base):
    """An Idempotency-Key of POST /cases (namespaced by caller) and the case it opened: the
    same key within 24 hours answers that case instead of opening another."""

    __tablename__ = "intake_keys"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(index=True)  # a mail's case finds its message
    number: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class CsatResponse(IdMixin, Base):
    """A customer's answer to the satisfaction survey: one per closed case."""

    __tablename__ = "csat_responses"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="ck_csat_responses_score"),
        UniqueConstraint("case_id", name="uq_csat_responses_case_id"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    respondent_role: Mapped[str] = mapped_column(String(20))
    respondent_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
