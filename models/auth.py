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


class WebSession(IdMixin, Base):
    """A signed-in browser: the cookie carries a random id of its own (never an API token),
    stored here only as its SHA-256 hash, with whom it acts as, its expiry and revocation."""

    __tablename__ = "sessions"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    via: Mapped[str] = mapped_column(String(16))  # email-link | token
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SignInLink(IdMixin, Base):
    """A mailed one-time sign-in link: only its secret's hash is kept; `used_at` makes it
    single use (set by the one UPDATE that may take it)."""

    __tablename__ = "sign_in_links"
    secret_hash: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
