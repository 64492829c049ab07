"""Token API schemas: TokenCreate, TokenCreated and the caller's own Me."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from models.auth import ROLES

DAY = 24 * 3600


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal[ROLES]
    subject_id: uuid.UUID | None = None
    name: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")] | None = None
    expires_in_seconds: int = Field(30 * DAY, ge=1, le=365 * DAY)


class TokenCreated(BaseModel):
    token: str = Field(description="shown once; only its SHA-256 hash is stored")
    id: uuid.UUID
    role: str
    subject_id: uuid.UUID | None
    expires_at: datetime


class Me(BaseModel):
    role: str
    subject_id: uuid.UUID | None
