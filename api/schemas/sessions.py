"""Browser session schemas: SessionRead and a page of them."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class SessionRead(BaseModel):
    """A browser session (what a `casework_token` cookie carries); never its secret."""

    id: uuid.UUID
    role: str
    subject_id: uuid.UUID | None = Field(description="the person (or partner account) it acts as")
    via: str = Field(description="how it was signed in: email-link or token")
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime = Field(description="at most a minute behind the last request")
    revoked_at: datetime | None = Field(description="ended by log-out or DELETE")
    current: bool = Field(description="the session of this very request")


class SessionPage(BaseModel):
    """One page of sessions, oldest first."""

    items: list[SessionRead]
    next_cursor: str | None
