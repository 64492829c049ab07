"""Monitoring events and major cases: MonitoringEventCreate/Read, the clear, children, broadcast."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.cases import Subject
from api.schemas.catalog import text
from api.schemas.strict import StrictInput

Key = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
ExternalId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
Location = text(300)
QueueName = text(80)
LongText = text(20_000)  # no NUL: PostgreSQL refuses it, so it stays a 422
MAX_ASSETS = 10_000


class MonitoringEventCreate(StrictInput):
    """A monitoring event: who is affected is the owners of `asset_ids`, or of every asset of
    `product_id` (narrowed to assets whose location contains `location`, if given)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "source": "nagios",
                    "event_id": "outage-2026-11-30-eu-west",
                    "summary": "Router X firmware crash in EU-West",
                    "severity": 1,
                    "product_id": "7f1c8a4e-7d1b-4c7e-9f7e-2a1f0c9b3d11",
                    "location": "Berlin",
                }
            ]
        }
    )

    source: Key = Field(description="The monitoring system; with event_id, the event's identity")
    event_id: ExternalId = Field(description="The event's id in its source")
    summary: Subject = Field(description="What happened: the subject of every case it opens")
    severity: int = Field(3, ge=1, le=4, description="1 critical … 4 low: the cases' priority")
    product_id: uuid.UUID | None = Field(None, description="Every asset of this product")
    asset_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=MAX_ASSETS, description="Or exactly these assets"
    )
    location: Location | None = Field(None, description="Only assets whose location contains it")
    queue: QueueName | None = Field(
        None, description="The major case's queue (its children follow it); default: intake's"
    )


class MonitoringEventRead(BaseModel):
    """An event and its progress: customers affected, child cases opened, customers notified
    (their acknowledgement sent), children resolved (or closed)."""

    id: uuid.UUID
    source: str
    event_id: str
    summary: str
    severity: int
    product_id: uuid.UUID | None
    asset_ids: list[uuid.UUID]
    location: str | None
    major_case_id: uuid.UUID
    major_case_number: str
    affected: int
    opened: int
    notified: int
    resolved: int
    cleared_at: datetime | None
    created_at: datetime


class MonitoringEventPage(BaseModel):
    """A page of events, newest first."""

    items: list[MonitoringEventRead]
    next_cursor: str | None = None


class EventClear(StrictInput):
    """How the event ended: the resolution every still-active child case gets."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"resolution": "Firmware 2.1.4 rolled back; service is up."}]
        }
    )

    resolution: LongText | None = Field(None, description='Default: "Cleared: <summary>"')


class ChildrenLink(StrictInput):
    """Cases to link under a major case (the case in the path becomes major)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"case_ids": ["0b7c7f7e-52a4-4a0e-8a51-2d6f7f0c1a22"]}]}
    )

    case_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)


class ChildrenRead(BaseModel):
    """The major case and every case now linked under it."""

    major_case_id: uuid.UUID
    case_ids: list[uuid.UUID]


class BroadcastBody(StrictInput):
    """A message to every child's customer (once each, as a notification and a timeline event)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"body": "Engineers are on site; next update at 14:00."}]}
    )

    body: LongText
