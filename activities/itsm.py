"""ITSM escalation: open a linked incident (built-in table, or mirrored for a webhook),
deliver it to the configured webhook exactly once, and record its status as it moves on."""

import json
import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import Deps
from models.cases import Case
from models.itsm import INCIDENT_OPEN, Incident, format_incident_number, incident_number_seq
from workflows.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign
from workflows.types import (
    DeliverIncidentInput,
    IncidentDelivered,
    IncidentOpened,
    IncidentUpdate,
    IncidentUpdateResult,
    OpenIncidentInput,
)

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


class ItsmActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="open_incident")
    async def open_incident(self, arg: OpenIncidentInput) -> IncidentOpened:
        adapter = self.deps.itsm_adapter
        if adapter not in ADAPTERS:
            raise ApplicationError(
                f"unknown ITSM adapter {adapter!r}", type="ItsmNotConfigured", non_retryable=True
            )
        if adapter == "webhook" and not self.deps.itsm_webhook_url:
            raise ApplicationError(
                "the ITSM webhook URL is not configured (CASEWORK_ITSM_WEBHOOK_URL)",
                type="ItsmNotConfigured",
                non_retryable=True,
            )
        async with self.deps.sessions() as db, db.begin():
            done = (
                await db.execute(select(Incident).where(Incident.request_key == arg.key))
            ).scalar()
            if done is not None:  # a retry after the commit: the same incident
                return opened_of(done)
            case = await db.get(Case, uuid.UUID(arg.case_id))
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
            esc = arg.escalation
            n = (await db.execute(select(incident_number_seq.next_value()))).scalar()
            inc = Incident(
                id=uuid.uuid4(),
                number=format_incident_number(n),
                request_key=arg.key,
                case_id=case.id,
                adapter=adapter,
                state="new",
                summary=(esc.summary or case.subject)[:300],
                urgency=esc.urgency,
                impact=esc.impact,
                auto_resolve=esc.auto_resolve,
                created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
            db.add(inc)
        return opened_of(inc)

    @activity.defn(name="deliver_incident")
    async def deliver_incident(self, arg: DeliverIncidentInput) -> IncidentDelivered:
        """POST the incident to the webhook; the Idempotency-Key header makes our retries
        (after a 500, a timeout or a lost answer) one incident on the receiver's side."""
        async with self.deps.sessions() as db:
            inc = await db.get(Incident, uuid.UUID(arg.incident_id))
            case = await db.get(Case, inc.case_id) if inc else None
        if inc is None or case is None:
            raise ApplicationError("no such incident", type="ItsmRejected", non_retryable=True)
        if inc.delivered_at is not None:
            return IncidentDelivered(inc.external_id)
        url = self.deps.itsm_webhook_url
        if not url:
            raise ApplicationError(
                "the ITSM webhook URL is not configured",
                type="ItsmNotConfigured",
                non_retryable=True,
            )
        body = json.dumps(
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
                    f"{self.deps.public_url.rstrip('/')}/api/v1/integrations/itsm/incidents/{inc.id}"
                ),
            },
            separators=(",", ":"),
        ).encode()
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: str(inc.id)}
        if self.deps.webhook_secret:
            headers[SIGNATURE_HEADER] = sign(self.deps.webhook_secret, body)
        try:
            async with httpx.AsyncClient(timeout=self.deps.webhook_timeout_seconds) as http:
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
        external_id = receiver_id(response)
        async with self.deps.sessions() as db, db.begin():
            live = await db.get(Incident, inc.id, with_for_update=True)
            live.external_id = live.external_id or external_id
            live.delivered_at = datetime.now(UTC)
            live.delivery_error = None
            external_id = live.external_id
        return IncidentDelivered(external_id)

    @activity.defn(name="update_incident")
    async def update_incident(self, arg: IncidentUpdate) -> IncidentUpdateResult:
        async with self.deps.sessions() as db, db.begin():
            inc = await db.get(Incident, uuid.UUID(arg.incident_id), with_for_update=True)
            if inc is None:
                raise ApplicationError(
                    "no such incident", type="IncidentNotFound", non_retryable=True
                )
            inc.state = arg.status
            if arg.comment:
                inc.last_comment = arg.comment
            if arg.resolution:
                inc.resolution = arg.resolution
            if arg.status == "resolved" and inc.resolved_at is None:
                inc.resolved_at = datetime.now(UTC)
            if arg.status == "failed":
                inc.delivery_error = arg.comment
            if arg.external_id and not inc.external_id:
                inc.external_id = arg.external_id[:200]
            return IncidentUpdateResult(inc.state, "")
