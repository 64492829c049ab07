"""RFC 9457 problem details for every error the API answers."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    503: "Service unavailable",
}


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type: str = "about:blank",
        errors: list | None = None,
        headers: dict | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.title = status, detail, title or TITLES.get(status, "")
        self.type, self.errors, self.headers = type, errors, headers


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type: str = "about:blank",
    errors: list | None = None,
    headers: dict | None = None,
) -> JSONResponse:
    body = {"type": type, "title": title or TITLES.get(status, "Error"), "status": status}
    body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def not_found(what: str = "case") -> Problem:
    return Problem(404, f"no such {what}")


def unavailable(detail: str) -> Problem:
    return Problem(503, detail, headers={"Retry-After": "5"})


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method any route serves at `path` (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in app.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path) and getattr(route, "methods", None):
            methods |= route.methods
    return sorted(methods - {"HEAD"})


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem):
        return problem_response(
            exc.status,
            exc.detail,
            title=exc.title,
            type=exc.type,
            errors=exc.errors,
            headers=exc.headers,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {"Allow": ", ".join(allowed_methods(app, request.url.path))}
        return problem_response(exc.status_code, detail, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError):
        if any(
            tuple(e.get("loc", ()))[:2] == ("path", "action") and e.get("type") == "enum"
            for e in exc.errors()
        ):
            # An action path parameter is an enum in the OpenAPI; one it lacks is no such
            # endpoint, as before it was one.
            return problem_response(404, "no such action")
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        return problem_response(422, "the request is not valid", errors=errors)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError):
        # A constraint the request broke (a reference to nothing, a duplicate): its fault.
        duplicate = getattr(exc.orig, "sqlstate", None) == "23505"
        if duplicate:
            return problem_response(409, "that conflicts with an existing object")
        return problem_response(422, "a referenced object does not exist")

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def _database_down(_: Request, exc: Exception):
        return problem_response(
            503, "the database is not answering; try again", headers={"Retry-After": "5"}
        )

    @app.exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError)
    async def _update_timeout(_: Request, exc: Exception):
        return problem_response(
            503, "the case did not answer in time; try again", headers={"Retry-After": "5"}
        )

    @app.exception_handler(RPCError)
    async def _temporal(_: Request, exc: RPCError):
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return problem_response(
                503, "the workflow engine is not answering; try again", headers={"Retry-After": "5"}
            )
        return problem_response(
            503, f"workflow engine error: {exc.message}", headers={"Retry-After": "5"}
        )
