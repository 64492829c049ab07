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
