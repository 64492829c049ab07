"""Field-service and ITSM API schemas, and the small dicts a case view lists them as."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.schemas.catalog import Input, Label, Output, text
from models.field_service import WorkOrder
from models.itsm import Incident
from workflows.actions import FieldServiceRequest, ItsmEscalation
from workflows.vocabulary import INCIDENT_REPORTABLE, IncidentState, WorkOrderState

ReportedState = Literal[INCIDENT_REPORTABLE]

Notes = text(20_000)
# A summary becomes part of an outside ticket's title: one line, no control characters.
Summary = text(300)


def _window_ok(start: datetime | None, end: datetime | None) -> None:
    if start and end and end <= start:
        raise ValueError("window_end must be after window_start")


class FieldServiceBody(Input):
    """request-field-service: empty fields are pre-filled from the case (asset, site, rule)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "skills": ["fiber"],
                    "parts": ["ONT-200"],
                    "window_start": "2026-12-01T09:00:00Z",
                    "window_end": "2026-12-01T13:00:00Z",
                    "notes": "Ring the bell at the back door.",
                }
            ]
        }
    )

    skills: list[Label] = Field([], max_length=50)
    parts: list[Label] = Field([], max_length=100)
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None
    notes: Notes | None = None
    location: text(300) | None = None
    territory: text(120) | None = None
    auto_resolve: bool = Field(
        False, description="resolve the case when the work order is completed as fixed"
    )

    @model_validator(mode="after")
    def _window(self):
        _window_ok(self.window_start, self.window_end)
        return self

    def to_request(self) -> FieldServiceRequest:
        """The action's input, as the workflow carries it (times as ISO text)."""
        return FieldServiceRequest(
            skills=list(self.skills),
            parts=list(self.parts),
            window_start=self.window_start.isoformat() if self.window_start else None,
            window_end=self.window_end.isoformat() if self.window_end else None,
            notes=self.notes,
            location=self.location,
            territory=self.territory,
            auto_resolve=self.auto_resolve,
        )


class ItsmBody(Input):
    """escalate-itsm: opens one linked incident (the case subject when no summary)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"summary": "WAN outage at the Leeds site", "urgency": 1, "impact": 2}]
        }
    )

    summary: Summary | None = None
    urgency: int = Field(3, ge=1, le=3, description="1 high … 3 low")
    impact: int = Field(3, ge=1, le=3, description="1 high … 3 low")
    auto_resolve: bool = Field(False, description="resolve the case with the incident's resolution")

    def to_escalation(self) -> ItsmEscalation:
        """The action's input, as the workflow carries it."""
        return ItsmEscalation(self.summary, self.urgency, self.impact, self.auto_resolve)


class WorkOrderActionBody(Input):
    """What a work-order action carries: notes, parts used and fixed (required) to complete, a
    reason to cancel."""

    notes: Notes | None = None
    parts_used: list[Label] = Field([], max_length=100)
    fixed: bool | None = Field(None, description="required to complete")
    reason: text(2000) | None = None


class WorkOrderRead(Output):
    """A field-service work order: a child workflow of its case."""

    id: uuid.UUID
    number: str
    workflow_id: str
    case_id: uuid.UUID
    state: WorkOrderState
    technician_id: uuid.UUID | None
    asset_id: uuid.UUID | None
    location: str | None
    territory: str | None
    required_skills: list[str]
    parts: list[str]
    window_start: datetime | None
    window_end: datetime | None
    notes: str | None
    auto_resolve: bool
    waiting_reason: str | None
    resolution_notes: str | None
    parts_used: list[str]
    fixed: bool | None
    cancel_reason: str | None
    dispatched_at: datetime | None
    accepted_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TechnicianAvailability(Input):
    """A technician's availability: available (dispatch may book them), away or offline."""

    status: Literal["available", "away", "offline"]


class CategoryMatch(Input):
    """The category keys a rule matches; a case matches when it has every key given, equal up to
    case."""

    product: text(100) | None = None
    issue_type: text(100) | None = None
    symptom: text(100) | None = None


class FieldServiceRuleCreate(Input):
    """A new rule: a case whose category matches gets, at intake, a work order with these skills,
    parts and notes (and, with auto_resolve, is resolved when it completes fixed)."""

    name: text(200)
    category: CategoryMatch
    skills: list[Label] = Field([], max_length=50)
    parts: list[Label] = Field([], max_length=100)
    auto_resolve: bool = False
    notes: Notes | None = None
    active: bool = True

    @model_validator(mode="after")
    def _some_category(self):
        if not self.category.model_dump(exclude_none=True):
            raise ValueError("category needs at least one of product, issue_type, symptom")
        return self


class FieldServiceRuleRead(Output):
    """A field-service rule."""

    id: uuid.UUID
    name: str
    category: dict
    skills: list[str]
    parts: list[str]
    auto_resolve: bool
    notes: str | None
    active: bool
    created_at: datetime


class IncidentStatusBody(Input):
    """A state change: from the built-in desk's API or an ITSM's webhook. `state` is the name
    the case view shows; `status`, its old name, is still accepted."""

    state: ReportedState | None = Field(None, description="the incident's new state")
    status: ReportedState | None = Field(
        None, description="the old name of `state` (still accepted; must agree with it)"
    )
    comment: Notes | None = None
    resolution: Notes | None = None

    @model_validator(mode="after")
    def _one_state(self):
        if self.state is None and self.status is None:
            raise ValueError("state is required")
        if self.state is not None and self.status is not None and self.state != self.status:
            raise ValueError("state and status (its old name) disagree")
        self.state = self.state or self.status
        return self


class IncidentRead(Output):
    """An incident escalated from a case to a service desk."""

    id: uuid.UUID
    number: str
    case_id: uuid.UUID
    adapter: str
    external_id: str | None
    state: IncidentState
    summary: str
    urgency: int
    impact: int
    last_comment: str | None
    resolution: str | None
    delivered_at: datetime | None
    delivery_error: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


class ItemsPage(BaseModel):
    items: list
    next_cursor: str | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _str(value) -> str | None:
    return str(value) if value is not None else None


def work_order_summary(wo: WorkOrder) -> dict:
    """A case view's line for one work order, with its live state."""
    return {
        "id": str(wo.id),
        "number": wo.number,
        "state": wo.state,
        "technician_id": _str(wo.technician_id),
        "asset_id": _str(wo.asset_id),
        "location": wo.location,
        "territory": wo.territory,
        "window_start": _iso(wo.window_start),
        "window_end": _iso(wo.window_end),
        "waiting_reason": wo.waiting_reason,
        "fixed": wo.fixed,
        "created_at": _iso(wo.created_at),
        "completed_at": _iso(wo.completed_at),
    }


def incident_summary(inc: Incident) -> dict:
    """A case view's line for one incident, with its live state."""
    return {
        "id": str(inc.id),
        "number": inc.number,
        "state": inc.state,
        "adapter": inc.adapter,
        "external_id": inc.external_id,
        "summary": inc.summary,
        "urgency": inc.urgency,
        "impact": inc.impact,
        "resolution": inc.resolution,
        "created_at": _iso(inc.created_at),
        "updated_at": _iso(inc.updated_at),
    }
