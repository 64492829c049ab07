"""The audit record of every customer merge: who went into whom, what moved, which cases."""

import uuid

from sqlalchemy import Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin


class CustomerMerge(IdMixin, Base):
    """One merge of an account or a contact into its survivor; the id is the merge's key (a
    retried merge step finds its own row and answers as it did)."""

    __tablename__ = "merges"
    __table_args__ = (Index("ix_merges_kind_from", "kind", "from_id"),)
    kind: Mapped[str] = mapped_column(String(16))  # MergeKind
    from_id: Mapped[uuid.UUID]
    into_id: Mapped[uuid.UUID]
    actor_id: Mapped[uuid.UUID | None]
    # {"cases": n, "assets": n, ...}: what now points at the survivor
    moved: Mapped[dict] = mapped_column(JSONB, default=dict)
    # The running cases told of it (their workflow ids)
    workflow_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)
