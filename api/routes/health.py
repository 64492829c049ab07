"""GET /healthz: 200 only when both the database and Temporal answer."""

import asyncio

from fastapi import APIRouter, Request
from sqlalchemy import text

from api.errors import problem_response

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness of the database and Temporal")
async def healthz(request: Request):
    """200 when a statement on the database and a health check of Temporal both answer within 3
    seconds, else 503 saying which did not. No token needed: for load balancers and
    orchestrators."""
    try:
        async with request.app.state.sessions() as db:
            await asyncio.wait_for(db.execute(text("SELECT 1")), timeout=3)
        client = await request.app.state.temporal.get()
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
    except Exception as err:
        return problem_response(503, f"not healthy: {err}", headers={"Retry-After": "5"})
    return {"status": "ok"}
