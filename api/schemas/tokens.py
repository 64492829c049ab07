"""Token API schemas: TokenCreate, TokenCreated and the caller's own Me."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from models.auth import ROLES

DAY = 24 * 3600


class TokenCreate(BaseModel):
    """A new token: its role, the subject it acts as (an agent, technician, contact, consumer or
    partner account id), a name, and how long it lives."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "role": "agent",
                    "subject_id": "6f1c2a4e-8b3d-4f5a-9c7e-2d1b0a9f8e7d",
                    "name": "Ann's laptop",
                },
                {"role": "integration", "name": "CRM sync", "expires_in_seconds": 7776000},
            ]
        },
    )

    role: Literal[ROLES]
    subject_id: uuid.UUID | None = None
    name: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")] | None = None
    expires_in_seconds: int = Field(30 * DAY, ge=1, le=365 * DAY)


class TokenCreated(BaseModel):
    """A minted token (the secret is shown here only)."""

    token: str = Field(description="shown once; only its SHA-256 hash is stored")
    id: uuid.UUID
    role: str
    subject_id: uuid.UUID | None
    expires_at: datetime


class Me(BaseModel):
    """The caller's role and subject."""

    role: str
    subject_id: uuid.UUID | None
