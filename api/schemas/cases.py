"""Case API schemas: CaseCreate, ActionBody, CaseRead and the timeline/notification reads."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.csat import CsatRead
from api.schemas.email import Email
from api.schemas.strict import StrictInput
from workflows.vocabulary import CaseState, Channel

INT4_MAX = 2**31 - 1  # timeline event ids are PostgreSQL integers
Priority = Annotated[int, Field(ge=1, le=4)]
# Subjects end up in email headers: one line, no control characters.
Subject = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]*$"
    ),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Category(StrictInput):
    """What a case is about, as far as the customer or intake knows: product, issue type, symptom
    (field-service rules match on it)."""

    product: Name | None = None
    issue_type: Name | None = None
    symptom: Name | None = None


class CaseCreate(StrictInput):
    """A new case: a subject, the channel, and exactly one of contact_id, consumer_id or email (the
    customer); priority, category, asset and account are optional (intake fills in what it can)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": "Router down since this morning",
                    "description": "The WAN light is red; restarting it did not help.",
                    "channel": "email",
                    "email": "ada@example.net",
                    "name": "Ada Lovelace",
                    "priority": 2,
                    "category": {"product": "Router X200", "issue_type": "connectivity"},
                },
                {
                    "subject": "Invoice 1042 is wrong",
                    "channel": "api",
                    "contact_id": "6f1c2a4e-8b3d-4f5a-9c7e-2d1b0a9f8e7d",
                },
            ]
        }
    )

    subject: Subject
    description: Text | None = None
    channel: Channel
    contact_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    consumer_id: uuid.UUID | None = None
    email: Email | None = None
    name: Name | None = Field(None, description="The requester's name, when opened by email")
    product_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    category: Category | None = None
    priority: Priority | None = Field(None, description="1 critical … 4 low")
    required_skills: list[Name] = Field(default_factory=list, max_length=20)
    queue: Name | None = None
    parent_case_id: uuid.UUID | None = None


class ActionBody(StrictInput):
    """Fields of every action; which are required depends on the action (see API.md)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"body": "A replacement router leaves our warehouse today."},  # respond, note
                {"agent_id": "6f1c2a4e-8b3d-4f5a-9c7e-2d1b0a9f8e7d"},  # assign
                {"priority": 1},  # change-priority
                {"resolution": "Replaced the router; the line is up again."},  # resolve
                {"reason": "Opened twice by mistake"},  # cancel, reject
            ]
        }
    )

    body: Text | None = None
    agent_id: uuid.UUID | None = None
    priority: Priority | None = None
    resolution: Text | None = None
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None
    partner_account_id: uuid.UUID | None = Field(
        None, description="assign-partner: an account of type partner or both"
    )

    def fields(self) -> dict:
        """The fields given, ids as strings (as the workflow's action inputs carry them)."""
        given = self.model_dump(exclude_none=True)
        return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in given.items()}


class SlaRead(BaseModel):
    """One SLA clock of a case: its due time (null while it is not running: paused or
    stopped), what is left, and whether it breached."""

    definition_id: str
    name: str
    kind: str
    due_at: datetime | None
    remaining_seconds: int
    paused: bool
    warned: bool
    breached: bool
    stopped: bool


class CaseRead(BaseModel):
    """A case as its row has it (the workflow writes it at each step)."""

    id: uuid.UUID
    number: str
    workflow_id: str
    state: CaseState
    priority: int
    channel: str
    subject: str
    description: str | None = None
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    consumer_id: uuid.UUID | None
    product_id: uuid.UUID | None
    asset_id: uuid.UUID | None
    category: dict
    assigned_agent_id: uuid.UUID | None
    queue: str | None
    entitlement_id: uuid.UUID | None
    parent_case_id: uuid.UUID | None
    sla: list[SlaRead]
    breached: bool
    resolution: str | None
    reopen_window_ends_at: datetime | None
    reopen_count: int
    work_orders: list[dict]
    incidents: list[dict]
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    csat: CsatRead | None = Field(None, description="The customer's survey answer, once closed")
    partner_account_id: uuid.UUID | None = Field(
        None, description="The partner account working the case (assign-partner)"
    )


class CasePage(BaseModel):
    """A page of cases: pass `next_cursor` as `cursor` for the next one."""

    items: list[CaseRead]
    next_cursor: str | None


class EventRead(BaseModel):
    """One event of a case's timeline."""

    id: int
    kind: str
    at: datetime
    actor_role: str | None
    actor_id: str | None
    public: bool
    body: str | None
    data: dict


# A timeline cursor is the last event id seen; one PostgreSQL cannot hold is not an id (422).
EventCursorQ = Annotated[int | None, Query(ge=0, le=INT4_MAX)]


class EventPage(BaseModel):
    """A page of a case's timeline, oldest first."""

    items: list[EventRead]
    next_cursor: str | None


class NotificationRead(BaseModel):
    """One outbox row of a case: a message to one recipient and how sending it went."""

    id: uuid.UUID
    channel: str
    recipient: str
    template: str
    subject: str | None
    message_id: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class NotificationPage(BaseModel):
    """Every notification of a case, oldest first."""

    items: list[NotificationRead]
    next_cursor: str | None
