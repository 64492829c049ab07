"""CSAT schemas: the survey's answer (CsatCreate) and how the case view shows it (CsatRead)."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from api.schemas.strict import StrictInput


class CsatCreate(StrictInput):
    """The customer's answer to the satisfaction survey."""

    score: int = Field(ge=1, le=5, description="1 (very unsatisfied) … 5 (very satisfied)")
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="What the customer wants to say about it"
    )


class CsatRead(BaseModel):
    """A satisfaction survey's answer."""

    score: int = Field(description="1 … 5")
    comment: str | None = None
    at: datetime = Field(description="When the customer answered")
