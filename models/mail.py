"""Inbound email: every message taken (raw), the cases' participants and attachments,
addresses that bounce, and follow-up cases opened by a reply to a closed one."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, utcnow


class InboundMessage(IdMixin, Base):
    """One inbound message, whole, and what was done with it (opened, appended, ignored).

    `message_id` is unique: the same message delivered twice (an SMTP retry, a webhook
    redelivery) finds its row and gets the same answer.
    """

    __tablename__ = "inbound_messages"
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    sender: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    recipients: Mapped[list[str]] = mapped_column(JSONB, default=list)  # To and Cc
    references: Mapped[list[str]] = mapped_column(JSONB, default=list)  # the thread, oldest first
    text: Mapped[str] = mapped_column(Text)  # the new words (what the timeline shows)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    action: Mapped[str] = mapped_column(String(16))  # opened | appended | ignored
    reason: Mapped[str] = mapped_column(Text)
    reopened: Mapped[bool] = mapped_column(default=False)  # it reopened a resolved case
    # A stranger quoting a case number: the case it quoted (the new case is flagged so).
    quoted_case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"))


class CaseParticipant(Base):
    """Someone on a case's mail thread: the requester and the To/Cc of their mail."""

    __tablename__ = "case_participants"
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseAttachment(IdMixin, Base):
    """A file that came with a case's mail; downloadable by whoever may see the case."""

    __tablename__ = "case_attachments"
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class BouncingAddress(Base):
    """An address a delivery status report said failed: no mail goes to it while it is here
    (a contact whose address changes is mailed again at once: the new one is not here)."""

    __tablename__ = "bouncing_addresses"
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(default=utcnow)


class CaseFollowUp(Base):
    """A case opened by mail answering a closed case: the new case follows the old one."""

    __tablename__ = "case_follow_ups"
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    follows_case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
