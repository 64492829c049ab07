"""Pydantic Create/Read schemas for the customer and service-model catalog."""

import uuid
from datetime import date, datetime
from typing import Annotated, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from api.schemas.email import Email
from api.schemas.strict import StrictInput
from workflows.calendar import validate_schedule
from workflows.vocabulary import ACTIVE, CaseState, Channel, SlaKind

T = TypeVar("T")
MAX_DURATION = 31_536_000
CHANNELS = tuple(Channel)
AgentStatus = Literal["available", "away", "offline"]


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text and JSONB; refusing it here keeps it a 422, not a 503.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def text(max_length: int, min_length: int = 1):
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_no_nul),
    ]


Name = text(200)
Label = text(100)
Phone = text(40)
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Input(StrictInput):
    pass


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list, oldest first: pass `next_cursor` as `cursor` for the next page (null on
    the last one)."""

    # Page[AccountRead] and the others are classes of their own, which a docstring does not
    # reach: the config does.
    model_config = ConfigDict(json_schema_extra={"description": " ".join(__doc__.split())})

    items: list[T]
    next_cursor: str | None = None


# --------------------------------------------------------------------------- customers


class AccountCreate(Input):
    """A new customer (or partner) account; a site names its company as parent_id. Mail from its
    domains is matched to it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Acme Corp", "type": "customer", "domains": ["acme.example"]},
                {
                    "name": "Acme Corp, Leeds site",
                    "parent_id": "6f1c2a4e-8b3d-4f5a-9c7e-2d1b0a9f8e7d",
                },
            ]
        }
    )

    name: Name
    type: Literal["customer", "partner", "both"] = "customer"
    parent_id: uuid.UUID | None = None
    domains: list[Annotated[text(253), AfterValidator(str.lower)]] = Field([], max_length=100)


class AccountRead(Output):
    """A customer or partner account."""

    id: uuid.UUID
    name: str
    type: str
    parent_id: uuid.UUID | None
    domains: list[str]
    created_at: datetime
    merged_into_id: uuid.UUID | None = None  # set once merged: it left the lists


class ContactCreate(Input):
    """A new person at one or more accounts (the first is primary)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Ada Lovelace",
                    "email": "ada@acme.example",
                    "phone": "+44 20 7946 0000",
                    "account_ids": ["6f1c2a4e-8b3d-4f5a-9c7e-2d1b0a9f8e7d"],
                },
            ]
        }
    )

    name: Name
    email: Email
    phone: Phone | None = None
    account_ids: list[uuid.UUID] = Field([], max_length=50, description="the first is primary")

    @field_validator("account_ids")
    @classmethod
    def _unique(cls, ids: list[uuid.UUID]) -> list[uuid.UUID]:
        return list(dict.fromkeys(ids))


class ContactRead(Output):
    """A person at customer accounts."""

    id: uuid.UUID
    name: str
    email: str
    phone: str | None
    account_ids: list[uuid.UUID]
    primary_account_id: uuid.UUID | None
    created_at: datetime
    merged_into_id: uuid.UUID | None = None  # set once merged: it left the lists
    email_bouncing: str | None = Field(
        None,
        description="Why mail to the address bounces (a delivery status report said so): no "
        "mail is sent to it until the address changes. Null when it does not bounce.",
    )


class Address(Input):
    """A postal address of a consumer (one of them primary)."""

    line1: text(300)
    city: text(120) | None = None
    country: text(80) | None = None
    primary: bool = False


class ConsumerCreate(Input):
    """A new individual customer, with no account."""

    name: Name
    email: Email
    phone: Phone | None = None
    addresses: list[Address] = Field([], max_length=20)

    @field_validator("addresses")
    @classmethod
    def _one_primary(cls, addresses: list[Address]) -> list[Address]:
        if sum(a.primary for a in addresses) > 1:
            raise ValueError("at most one address may be primary")
        return addresses


class ConsumerRead(Output):
    """An individual customer."""

    id: uuid.UUID
    name: str
    email: str
    phone: str | None
    addresses: list[dict]
    created_at: datetime


class ProductCreate(Input):
    """A new product (a name and an optional SKU)."""

    name: Name
    sku: text(80) | None = None


class ProductRead(Output):
    """A product."""

    id: uuid.UUID
    name: str
    sku: str | None
    created_at: datetime


class AssetCreate(Input):
    """A new installed product, owned by an account or a consumer (not both)."""

    product_id: uuid.UUID
    serial: text(120) | None = None
    account_id: uuid.UUID | None = None
    consumer_id: uuid.UUID | None = None
    location: text(300) | None = None

    @model_validator(mode="after")
    def _one_owner(self) -> "AssetCreate":
        if self.account_id and self.consumer_id:
            raise ValueError("an asset belongs to an account or a consumer, not both")
        return self


class AssetRead(Output):
    """An installed product of a customer."""

    id: uuid.UUID
    product_id: uuid.UUID
    serial: str | None
    account_id: uuid.UUID | None
    consumer_id: uuid.UUID | None
    location: str | None
    created_at: datetime


# --------------------------------------------------------------------------- service model


def _checked(field: str, value):
    """Run the calendar's own checks on one field, so the 422 names that field."""
    if problems := validate_schedule({field: value}):
        raise ValueError("; ".join(problems))
    return value


class ScheduleSpec(Input):
    """Business hours in a time zone; no `hours` means round the clock."""

    timezone: text(64) = "UTC"
    hours: dict[Day, list[tuple[str, str]]] | None = Field(
        None, max_length=7, examples=[{"mon": [["09:00", "17:00"]]}]
    )
    holidays: list[str] = Field([], max_length=1000, examples=[["2026-12-25"]])

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, hours):
        # The overlap check is quadratic; a real week has a handful of intervals a day.
        if hours and any(len(ivs) > 24 for ivs in hours.values()):
            raise ValueError("at most 24 intervals a day")
        return _checked("hours", hours)

    @field_validator("holidays")
    @classmethod
    def _valid_holidays(cls, holidays: list[str]) -> list[str]:
        return _checked("holidays", holidays)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown IANA time zone {name!r}") from None
        return name

    def as_dict(self) -> dict:
        hours = None
        if self.hours is not None:
            hours = {day: [list(iv) for iv in ivs] for day, ivs in self.hours.items()}
        return {"timezone": self.timezone, "hours": hours, "holidays": list(self.holidays)}


class ScheduleCreate(ScheduleSpec):
    """New business hours: per weekday, [start, end] local times in the time zone, and holidays
    (ISO dates)."""

    name: Name
    timezone: text(64)
    hours: dict[Day, list[tuple[str, str]]] = Field(
        max_length=7, examples=[{"mon": [["09:00", "17:00"]]}]
    )


class ScheduleRead(Output):
    """Business hours and holidays that SLA clocks run in."""

    id: uuid.UUID
    name: str
    timezone: str
    hours: dict
    holidays: list[str]
    created_at: datetime


class SlaDefinitionCreate(Input):
    """A new SLA target: a response or resolution within duration_seconds of business time (on
    schedule_id's hours, else round the clock), warnings at fractions of it, paused in the
    pause_on states; the default for a priority when default_for_priority is set."""

    name: Name
    kind: SlaKind
    duration_seconds: int = Field(ge=1, le=MAX_DURATION)
    schedule_id: uuid.UUID | None = None
    warn_at: list[Annotated[float, Field(gt=0, lt=1)]] = Field([0.5, 0.75], max_length=10)
    pause_on: list[Literal[ACTIVE]] = Field([CaseState.AWAITING_INFO], max_length=len(ACTIVE))
    default_for_priority: int | None = Field(None, ge=1, le=4)

    @field_validator("warn_at", "pause_on")
    @classmethod
    def _sorted_unique(cls, values: list) -> list:
        return sorted(set(values))


class SlaDefinitionRead(Output):
    """An SLA target."""

    id: uuid.UUID
    name: str
    kind: str
    duration_seconds: int
    schedule_id: uuid.UUID | None
    warn_at: list[float]
    pause_on: list[str]
    default_for_priority: int | None
    created_at: datetime


class Units(Input):
    """An allowance of an entitlement: so many cases, or hours."""

    kind: Literal["cases", "hours"]
    total: float = Field(gt=0, le=1_000_000)


GRAIN = ("account_id", "contact_id", "consumer_id", "product_id", "asset_id")


class EntitlementCreate(Input):
    """A new entitlement: who (account, contact or consumer) is entitled, for what (product or
    asset), on which channels, with which SLA definitions and reopen window."""

    name: Name
    account_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    consumer_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    tier: text(40) = "standard"
    channels: list[Literal[CHANNELS]] = Field([], max_length=len(CHANNELS))
    sla_definition_ids: list[uuid.UUID] = Field([], max_length=20)
    reopen_window_seconds: int | None = Field(None, ge=0, le=MAX_DURATION)
    units: Units | None = None
    active: bool = True
    starts_on: date | None = None
    ends_on: date | None = None

    @model_validator(mode="after")
    def _grain_and_dates(self) -> "EntitlementCreate":
        if not any(getattr(self, f) for f in GRAIN):
            raise ValueError(f"an entitlement needs one of {', '.join(GRAIN)}")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        self.channels = list(dict.fromkeys(self.channels))
        self.sla_definition_ids = list(dict.fromkeys(self.sla_definition_ids))
        return self


class EntitlementRead(Output):
    """What a customer is entitled to."""

    id: uuid.UUID
    name: str
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    consumer_id: uuid.UUID | None
    product_id: uuid.UUID | None
    asset_id: uuid.UUID | None
    tier: str
    channels: list[str]
    sla_definition_ids: list[uuid.UUID]
    reopen_window_seconds: int | None
    units: dict | None
    units_used: float
    active: bool
    starts_on: date | None
    ends_on: date | None
    created_at: datetime


# --------------------------------------------------------------------------- people


class SkillCreate(Input):
    """A new skill's name."""

    name: Label


class SkillRead(Output):
    """A skill that agents have and cases require."""

    id: uuid.UUID
    name: str
    created_at: datetime


class AgentSkill(Input):
    """A skill of an agent and their level in it (1 to 5)."""

    name: Label
    level: int = Field(3, ge=1, le=5)


def _distinct_skills(skills: list[AgentSkill] | None) -> list[AgentSkill] | None:
    if skills is not None and len({s.name for s in skills}) != len(skills):
        raise ValueError("a skill is listed twice")
    return skills


AgentSkills = Annotated[list[AgentSkill], Field(max_length=100), AfterValidator(_distinct_skills)]
Groups = Annotated[list[Label], Field(max_length=50)]
Capacity = Annotated[int, Field(ge=0, le=1000)]


class AgentCreate(Input):
    """A new agent or supervisor: skills, the cases they may hold at once (capacity), groups
    (queues) and availability."""

    name: Name
    email: Email
    skills: AgentSkills = []
    capacity: Capacity = 5
    groups: Groups = []
    status: AgentStatus = "available"
    role: Literal["agent", "supervisor"] = "agent"


class AgentUpdate(Input):
    """Changes to an agent: only the fields given change."""

    name: Name | None = None
    skills: AgentSkills | None = None
    capacity: Capacity | None = None
    groups: Groups | None = None
    role: Literal["agent", "supervisor"] | None = None


class AgentAvailability(Input):
    """An agent's availability: available (routing may assign them cases), away or offline."""

    status: AgentStatus


class AgentRead(Output):
    """An agent or supervisor."""

    id: uuid.UUID
    name: str
    email: str
    skills: list[dict]
    capacity: int
    status: str
    groups: list[str]
    role: str
    last_assigned_at: datetime | None
    created_at: datetime

    @field_validator("skills", mode="before")
    @classmethod
    def _as_list(cls, skills):
        if isinstance(skills, dict):
            return [{"name": k, "level": v} for k, v in sorted(skills.items())]
        return skills


class TeamMemberCreate(Input):
    """An agent on an account's team, as a member or as its account manager."""

    agent_id: uuid.UUID
    role: Literal["member", "account_manager"] = "member"


class TeamMemberRead(Output):
    """An agent on an account's team, and their role there."""

    account_id: uuid.UUID
    agent_id: uuid.UUID
    role: str


class TechnicianCreate(Input):
    """A new field technician: skills, parts carried, territory and availability."""

    name: Name
    email: Email
    skills: list[Label] = Field([], max_length=100)
    territory: text(120) | None = None
    parts: list[Label] = Field([], max_length=500)
    status: AgentStatus = "available"


class TechnicianRead(Output):
    """A field technician."""

    id: uuid.UUID
    name: str
    email: str
    skills: list[str]
    territory: str | None
    parts: list[str]
    status: str
    created_at: datetime


class KnowledgeCreate(Input):
    """A new knowledge article; a draft (published false) is seen by staff only."""

    title: text(300)
    body: text(100_000)
    product_id: uuid.UUID | None = None
    tags: list[Label] = Field([], max_length=50)
    published: bool = True


class KnowledgeUpdate(Input):
    """An edit of an article: the fields given replace theirs, and the version goes up by one."""

    title: text(300) | None = None
    body: text(100_000) | None = None
    product_id: uuid.UUID | None = None
    tags: list[Label] | None = Field(None, max_length=50)
    published: bool | None = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"body": "Hold the reset button for 10 seconds."}]}
    )


class KnowledgeRead(Output):
    """A knowledge article."""

    id: uuid.UUID
    title: str
    body: str
    product_id: uuid.UUID | None
    tags: list[str]
    published: bool
    deflections: int
    created_at: datetime
    version: int = 1
    updated_at: datetime | None = None


class KnowledgeHit(KnowledgeRead):
    """A search result: the article, how well it matched, and where (HTML: the article's text
    escaped, the matched words in <mark>, fragments joined by " … ")."""

    rank: float
    snippet: str
    for_your_products: bool = False  # the article is about a product of the caller's assets


class Deflections(BaseModel):
    """The article's deflections: customers who said it solved their problem (once a day each)."""

    id: uuid.UUID
    deflections: int


class NotHelpful(BaseModel):
    """The article's "not helpful" answers (once a day per customer)."""

    id: uuid.UUID
    not_helpful: int


# --------------------------------------------------------------------------- SLA preview


class SlaPreview(Input):
    """A due-time question: from start, duration_seconds of business time on a stored schedule
    (schedule_id) or one given inline (schedule); neither: round the clock."""

    start: AwareDatetime
    duration_seconds: int = Field(ge=0, le=MAX_DURATION)
    schedule_id: uuid.UUID | None = None
    schedule: ScheduleSpec | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> "SlaPreview":
        if self.schedule_id and self.schedule:
            raise ValueError("give schedule_id or schedule, not both")
        return self


class SlaPreviewRead(BaseModel):
    """When a clock started at `start` would fall due."""

    due_at: datetime


# --------------------------------------------------------------------------- queues


class QueueCreate(BaseModel):
    """A new queue, and the queue its breached, unassigned cases escalate to."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80, pattern=r"^[\w.-]+$")
    description: str | None = Field(None, max_length=300)
    escalation_queue: str | None = Field(None, min_length=1, max_length=80, pattern=r"^[\w.-]+$")


class QueueRead(BaseModel):
    """A queue."""

    model_config = ConfigDict(from_attributes=True)
    name: str
    description: str | None
    escalation_queue: str | None
