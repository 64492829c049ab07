"""Customers' verdicts on knowledge articles: a deflection (it solved it, no case opened) or
not helpful; one of each kind per customer, article and day."""

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class KnowledgeFeedback(Base):
    __tablename__ = "knowledge_feedback"
    __table_args__ = (
        CheckConstraint("verdict IN ('solved', 'not_helpful')", name="verdict"),
        Index(
            "uq_knowledge_feedback_once_a_day",
            "article_id",
            "customer_id",
            "verdict",
            "day",
            unique=True,
            postgresql_where=text("customer_id IS NOT NULL"),
        ),
        Index("ix_knowledge_feedback_verdict_at", "verdict", "at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("knowledge_articles.id", ondelete="CASCADE")
    )
    verdict: Mapped[str] = mapped_column(String(16))  # workflows.vocabulary.KnowledgeVerdict
    customer_role: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID | None]
    day: Mapped[date] = mapped_column(Date)  # UTC
    query: Mapped[str | None] = mapped_column(String(300))  # what the customer searched for
    article_version: Mapped[int]
    at: Mapped[datetime]
