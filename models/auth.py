"""API tokens: stored only as SHA-256 hashes, with a role, a subject, expiry and revocation."""

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin
from workflows.vocabulary import TOKEN_ROLES

ROLES = TOKEN_ROLES  # what a token may be minted for


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(IdMixin, Base):
    __tablename__ = "api_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID | None]
    name: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
