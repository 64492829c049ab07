"""ITSM escalation: open a linked incident (built-in table, or mirrored for a webhook),
deliver it to the configured webhook exactly once, and record its status as it moves on."""

import json
import uuid
from datetime import UTC, datetime
from typing import cast

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.db import transaction
from activities.deps import Deps
from models.cases import Case
from models.itsm import Incident, format_incident_number, incident_number_seq
from workflows.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign
from workflows.types import (
    DeliverIncidentInput,
    IncidentDelivered,
    IncidentOpened,
    IncidentUpdate,
    IncidentUpdateResult,
    ItsmEscalation,
    OpenIncidentInput,
)
from workflows.vocabulary import INCIDENT_OPEN, IncidentState

ADAPTERS = ("builtin", "webhook")
# Worth another try later: the receiver is down, overloaded or asks us to slow down.
RETRY_STATUSES = {408, 425, 429}


def opened_of(inc: Incident) -> IncidentOpened:
    return IncidentOpened(str(inc.id), inc.number, inc.adapter, inc.summary)


def receiver_id(response: httpx.Response) -> str | None:
    """The receiver's own id for the incident, from a JSON answer ({"id": ...} and kin)."""
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in ("id", "external_id", "sys_id", "number"):
        if data.get(key) not in (None, ""):
            return str(data[key])[:200]
    return None


def checked_adapter(deps: Deps) -> str:
    """The configured adapter; a configuration no retry can fix refuses the step for good."""
    adapter = deps.itsm_adapter
    if adapter not in ADAPTERS:
        raise ApplicationError(
            f"unknown ITSM adapter {adapter!r}", type="ItsmNotConfigured", non_retryable=True
        )
    if adapter == "webhook" and not deps.itsm_webhook_url:
        raise ApplicationError(
            "the ITSM webhook URL is not configured (CASEWORK_ITSM_WEBHOOK_URL)",
            type="ItsmNotConfigured",
            non_retryable=True,
        )
    return adapter


async def open_incident(
    db: AsyncSession, *, key: str, case_id: str, escalation: ItsmEscalation, adapter: str
) -> IncidentOpened:
    """A new incident for the case (at most one open per case); a retry with the same `key`
    finds the same one."""
    done = (await db.execute(select(Incident).where(Incident.request_key == key))).scalar()
    if done is not None:  # a retry after the commit: the same incident
        return opened_of(done)
    case = await db.get(Case, uuid.UUID(case_id))
    if case is None:
        raise ApplicationError("no such case", type="CaseNotFound", non_retryable=True)
    open_ = (
        await db.execute(
            select(Incident.number).where(
                Incident.case_id == case.id, Incident.state.in_(INCIDENT_OPEN)
            )
        )
    ).scalar()
    if open_ is not None:
        raise ApplicationError(
            f"the case already has an open incident ({open_})",
            type="IncidentAlreadyOpen",
            non_retryable=True,
        )
    n = (await db.execute(select(incident_number_seq.next_value()))).scalar()
    inc = Incident(
        id=uuid.uuid4(),
        number=format_incident_number(cast(int, n)),  # nextval() is never null
        request_key=key,
        case_id=case.id,
        adapter=adapter,
        state=IncidentState.NEW,
        summary=(escalation.summary or case.subject)[:300],
        urgency=escalation.urgency,
        impact=escalation.impact,
        auto_resolve=escalation.auto_resolve,
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )
    db.add(inc)
    await db.flush()  # a refused write fails here, inside the caller's transaction
    return opened_of(inc)


async def incident_to_deliver(db: AsyncSession, incident_id: str) -> tuple[Incident, Case]:
    inc = await db.get(Incident, uuid.UUID(incident_id))
    case = await db.get(Case, inc.case_id) if inc else None
    if inc is None or case is None:
        raise ApplicationError("no such incident", type="ItsmRejected", non_retryable=True)
    return inc, case


def incident_payload(inc: Incident, case: Case, public_url: str) -> bytes:
    """The webhook's JSON body: the incident, its case, and where to call back."""
    return json.dumps(
        {
            "event": "incident.opened",
            "incident_id": str(inc.id),
            "number": inc.number,
            "case_id": str(case.id),
            "case_number": case.number,
            "summary": inc.summary,
            "urgency": inc.urgency,
            "impact": inc.impact,
            "opened_at": inc.created_at.isoformat(),
            "callback_url": (
                f"{public_url.rstrip('/')}/api/v1/integrations/itsm/incidents/{inc.id}"
            ),
        },
        separators=(",", ":"),
    ).encode()


async def post_incident(deps: Deps, inc: Incident, body: bytes) -> str | None:
    """POST the body; the receiver's id for the incident. The Idempotency-Key header makes
    our retries (after a 500, a timeout or a lost answer) one incident on its side."""
    url = deps.itsm_webhook_url
    if not url:
        raise ApplicationError(
            "the ITSM webhook URL is not configured",
            type="ItsmNotConfigured",
            non_retryable=True,
        )
    headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: str(inc.id)}
    if deps.webhook_secret:
        headers[SIGNATURE_HEADER] = sign(deps.webhook_secret, body)
    try:
        async with httpx.AsyncClient(timeout=deps.webhook_timeout_seconds) as http:
            response = await http.post(url, content=body, headers=headers)
    except httpx.HTTPError as err:
        raise ApplicationError(
            f"the ITSM webhook did not answer: {type(err).__name__}: {err}",
            type="ItsmUnavailable",
        ) from err
    status = response.status_code
    if status >= 500 or status in RETRY_STATUSES:
        raise ApplicationError(f"the ITSM webhook answered {status}", type="ItsmUnavailable")
    if status >= 400:
        raise ApplicationError(
            f"the ITSM webhook refused the incident: {status} {response.text[:300]}",
            type="ItsmRejected",
            non_retryable=True,
        )
    return receiver_id(response)


async def mark_delivered(
    db: AsyncSession, incident_id: uuid.UUID, external_id: str | None
) -> str | None:
    """Mark the incident delivered; the receiver's id it keeps (a first one is never replaced)."""
    live = cast(Incident, await db.get(Incident, incident_id, with_for_update=True))  # opened
    live.external_id = live.external_id or external_id
    live.delivered_at = datetime.now(UTC)
    live.delivery_error = None
    return live.external_id


async def record_status(db: AsyncSession, update: IncidentUpdate) -> IncidentUpdateResult:
    """Write the incident's new state as its desk reported it."""
    inc = await db.get(Incident, uuid.UUID(update.incident_id), with_for_update=True)
    if inc is None:
        raise ApplicationError("no such incident", type="IncidentNotFound", non_retryable=True)
    inc.state = update.status
    if update.comment:
        inc.last_comment = update.comment
    if update.resolution:
        inc.resolution = update.resolution
    if update.status == IncidentState.RESOLVED and inc.resolved_at is None:
        inc.resolved_at = datetime.now(UTC)
    if update.status == IncidentState.FAILED:
        inc.delivery_error = update.comment
    if update.external_id and not inc.external_id:
        inc.external_id = update.external_id[:200]
    # A second open incident on the case fails here, on uq_incidents_open_per_case.
    await db.flush()
    return IncidentUpdateResult(inc.state, "")


class ItsmActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="open_incident")
    async def open_incident(self, arg: OpenIncidentInput) -> IncidentOpened:
        adapter = checked_adapter(self.deps)
        async with transaction(self.deps.sessions) as db:
            return await open_incident(
                db, key=arg.key, case_id=arg.case_id, escalation=arg.escalation, adapter=adapter
            )

    @activity.defn(name="deliver_incident")
    async def deliver_incident(self, arg: DeliverIncidentInput) -> IncidentDelivered:
        """POST the incident to the webhook once; no database work while it waits on it."""
        async with transaction(self.deps.sessions) as db:
            inc, case = await incident_to_deliver(db, arg.incident_id)
        if inc.delivered_at is not None:
            return IncidentDelivered(inc.external_id)
        body = incident_payload(inc, case, self.deps.public_url)
        external_id = await post_incident(self.deps, inc, body)
        async with transaction(self.deps.sessions) as db:
            return IncidentDelivered(await mark_delivered(db, inc.id, external_id))

    @activity.defn(name="update_incident")
    async def update_incident(self, arg: IncidentUpdate) -> IncidentUpdateResult:
        async with transaction(self.deps.sessions) as db:
            return await record_status(db, arg)
