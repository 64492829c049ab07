"""Who does the work: skills, agents, account teams, technicians, knowledge authors."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin


class Skill(IdMixin, Base):
    __tablename__ = "skills"
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Agent(IdMixin, Base):
    __tablename__ = "agents"
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # {"networking": 3, "billing": 1}: skill name -> level
    skills: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    status: Mapped[str] = mapped_column(String(16), default="available")
    groups: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # A supervisor of a group hears of its breaches; routing gives cases to agents only.
    role: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")
    # Round-robin and tie-breaking order: the agent who waited longest goes first.
    last_assigned_at: Mapped[datetime | None]


class AccountTeamMember(Base):
    __tablename__ = "account_team"
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), default="member")  # member | account_manager


class Technician(IdMixin, Base):
    __tablename__ = "technicians"
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    skills: Mapped[list[str]] = mapped_column(JSONB, default=list)
    territory: Mapped[str | None] = mapped_column(String(120))
    parts: Mapped[list[str]] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(String(16), default="available")


class KnowledgeArticle(IdMixin, Base):
    __tablename__ = "knowledge_articles"
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"))
    tags: Mapped[list[str]] = mapped_column(JSONB, default=list)
    published: Mapped[bool] = mapped_column(default=True)
    deflections: Mapped[int] = mapped_column(Integer, default=0)


class Queue(Base):
    """A named queue (an agent group): where its breached, unassigned cases escalate to."""

    __tablename__ = "queues"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(300))
    escalation_queue: Mapped[str | None] = mapped_column(String(80))
