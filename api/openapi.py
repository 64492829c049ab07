"""The OpenAPI document, made accurate about errors: every operation may answer the RFC 9457
problem statuses the app really sends (401, 403, 404, 409, 413, 422, 429, 503), as
`application/problem+json`."""

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
ERRORS = {
    "400": "The body is not parseable JSON",
    "401": "Missing, unknown, revoked or expired token",
    "403": "The caller's role may not do this",
    "404": "No such object, or one the caller may not see",
    "409": "The object's state does not allow this",
    "413": "The body is too large",
    "422": "The request is not valid",
    "503": "The database or the workflow engine is not answering; retry after Retry-After",
}
# Only where a route declares it (those that run a workflow update): the workflow stayed busy.
BUSY = "The workflow stayed busy with other requests; retry after Retry-After"
PUBLIC = {"/healthz": ("503",)}  # answers without a token
# Every tag an operation carries, described (tests/api/test_openapi_docs.py checks): a new
# router's tag gets its line here.
TAGS = [
    {
        "name": "cases",
        "description": "Open, read, list and act on cases: each case is a running"
        " Temporal workflow; its actions are updates on it, answered with the case they left.",
    },
    {"name": "tokens", "description": "Bearer tokens: mint (admin), inspect your own, revoke."},
    {
        "name": "sla",
        "description": "SLA definitions (targets, schedules, thresholds), a preview"
        " of the due times a case would get, and the open cases nearest to breach.",
    },
    {
        "name": "accounts",
        "description": "Customer accounts and sites, their email domains and their account teams.",
    },
    {"name": "contacts", "description": "People at customer accounts, who open cases."},
    {"name": "consumers", "description": "Individual customers with no account."},
    {"name": "products", "description": "Products that assets and entitlements refer to."},
    {
        "name": "assets",
        "description": "Installed products of a customer: what cases and work orders are about.",
    },
    {"name": "schedules", "description": "Business hours and holidays that SLA clocks run in."},
    {
        "name": "entitlements",
        "description": "What a customer is entitled to: SLA definitions,"
        " channels and reopen window that replace the defaults on their cases.",
    },
    {"name": "skills", "description": "Skills that agents have and cases require."},
    {
        "name": "agents",
        "description": "Agents and supervisors: capacity, skills, groups and"
        " availability, which routing follows.",
    },
    {
        "name": "technicians",
        "description": "Field technicians: skills, parts, territory and"
        " availability, which dispatch follows.",
    },
    {
        "name": "knowledge",
        "description": "Knowledge articles that customers search in the"
        " portal, and the cases they saved (deflections).",
    },
    {"name": "queues", "description": "Queues that cases wait in, and where breaches escalate."},
    {
        "name": "work orders",
        "description": "Field-service work orders: child workflows of"
        " cases, dispatched to technicians, who accept, start, complete or cancel them.",
    },
    {
        "name": "field service rules",
        "description": "Rules that give a new case a work order at"
        " intake when its category matches.",
    },
    {
        "name": "itsm",
        "description": "Incidents escalated from cases to a service desk (the"
        " built-in one, or an outside one by signed webhook).",
    },
    {
        "name": "integrations",
        "description": "Callbacks from outside systems: an ITSM reporting"
        " an incident's state (HMAC-signed when a secret is set).",
    },
    {
        "name": "metrics",
        "description": "Service metrics over a time window: SLA attainment,"
        " first response, resolution, reopen rate, CSAT, backlog, first-time fix.",
    },
    {"name": "health", "description": "Liveness for load balancers and orchestrators."},
    {
        "name": "sessions",
        "description": "Browser sessions: list your own (an admin: anyone's) and end one.",
    },
    {
        "name": "reports",
        "description": "Reports for the customer success team: the customer"
        " record's data debt (unlinked and duplicate contacts).",
    },
    {
        "name": "maintenance plans",
        "description": "Preventive maintenance: plans that open a case, with its work order,"
        " for each asset as it falls due (Temporal Schedules).",
    },
    {
        "name": "events",
        "description": "Monitoring events (proactive service): one major case and a child"
        " case per affected customer, with progress; clear resolves them together.",
    },
]


def problem_response(description: str) -> dict:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def install(app: FastAPI) -> None:
    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=TAGS,
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        schema["components"]["schemas"].pop("HTTPValidationError", None)
        schema["components"]["schemas"].pop("ValidationError", None)
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        for path, operations in schema.get("paths", {}).items():
            codes = PUBLIC.get(path, tuple(ERRORS))
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code in codes:
                    responses[code] = problem_response(ERRORS[code])
                if "429" in responses:
                    responses["429"] = problem_response(BUSY)
                if path not in PUBLIC:
                    operation["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
