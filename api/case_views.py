"""The case view (API.md's `GET /cases/{id}`) built from plain table rows: only the columns
it shows, linked work orders and incidents fetched only for cases that have some, and each
SLA clock's remaining business time brought up to now."""

import uuid
from collections.abc import Mapping
from datetime import datetime

from fastapi import Response
from pydantic_core import to_json
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.business_time import BusinessTime
from api.schemas.cases import CaseRead, SlaRead
from api.schemas.field_service import incident_summary, work_order_summary
from models.cases import Case
from models.field_service import WorkOrder
from models.itsm import Incident

FIELDS = tuple(CaseRead.model_fields)  # the view's keys, in the schema's order
SLA_KEYS = tuple(SlaRead.model_fields)
cases = Case.__table__
COLUMNS = [cases.c[name] for name in FIELDS if name in cases.c]
# The view's columns, and whether the case has work orders or incidents.
VIEW_SELECT = select(
    *COLUMNS,
    exists().where(WorkOrder.__table__.c.case_id == cases.c.id).label("has_work_orders"),
    exists().where(Incident.__table__.c.case_id == cases.c.id).label("has_incidents"),
)
business_time = BusinessTime()  # one per process: what it keeps serves every later request


def sla_views(entries: list[dict], now: datetime) -> list[dict]:
    """Each clock as the workflow last wrote it, a running one's remaining time less the
    business time since then."""
    out = []
    for entry in entries:
        remaining = entry.get("remaining_seconds", 0)
        if entry.get("running") and entry.get("as_of"):
            remaining -= business_time.since(entry, now)
        view = {k: entry.get(k) for k in SLA_KEYS}
        view["due_at"] = datetime.fromisoformat(view["due_at"]) if view["due_at"] else None
        view["remaining_seconds"] = round(remaining)
        out.append(view)
    return out


def case_view(values: Mapping, now: datetime, work_orders: list, incidents: list) -> dict:
    """The view of a case from its column values (a row's `_asdict()`, say)."""
    view = {}
    for name in FIELDS:
        if name == "sla":
            view[name] = sla_views(values["sla"] or [], now)
        elif name == "work_orders":
            view[name] = [work_order_summary(w) for w in work_orders]
        elif name == "incidents":
            view[name] = [incident_summary(i) for i in incidents]
        else:
            view[name] = values[name]
    return view


async def linked(db: AsyncSession, model, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list]:
    """Rows of `model` (work orders or incidents) per case, oldest first."""
    if not case_ids:
        return {}
    rows = await db.execute(
        select(model).where(model.case_id.in_(case_ids)).order_by(model.created_at)
    )
    out: dict[uuid.UUID, list] = {}
    for row in rows.scalars():
        out.setdefault(row.case_id, []).append(row)
    return out


async def views(db: AsyncSession, rows: list, now: datetime) -> list[dict]:
    """The views of rows selected with VIEW_SELECT."""
    work_orders = await linked(db, WorkOrder, [r.id for r in rows if r.has_work_orders])
    incidents = await linked(db, Incident, [r.id for r in rows if r.has_incidents])
    return [
        case_view(r._asdict(), now, work_orders.get(r.id, []), incidents.get(r.id, []))
        for r in rows
    ]


def answer(content: dict, status_code: int = 200) -> Response:
    """Views (or a page of them) as JSON, serialized once: they are built to the route's
    response model, which documents them in the OpenAPI, so they are not validated again."""
    return Response(to_json(content), status_code=status_code, media_type="application/json")
