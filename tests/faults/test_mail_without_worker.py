"""Mail that arrives while no worker runs: its case is accepted but not yet opened, so the
message is not kept and the gateway is told to send it again (429 + Retry-After: the engine is
busy; never a 5xx for a case that will open). Sent again once a worker runs, the same
Message-ID opens that same case, once, on a real dev server."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api.services import intake
from models.cases import Case
from models.mail import InboundMessage
from tests.mail_fixtures import eml

pytestmark = pytest.mark.slow


async def test_mail_that_waits_for_a_worker_is_retried_then_opens_one_case(stack, monkeypatch):
    monkeypatch.setattr(intake, "OPEN_TIMEOUT", timedelta(seconds=1))
    stack.worker.stop()
    token = (await stack.http.post("/api/v1/tokens", json={"role": "integration"})).json()
    headers = {"Authorization": f"Bearer {token['token']}", "Content-Type": "message/rfc822"}

    async def post():
        return await stack.http.post(
            "/api/v1/inbound/email", content=eml("gmail_new"), headers=headers
        )

    async def count(model) -> int:
        async with stack.sessions() as db:
            return await db.scalar(select(func.count()).select_from(model))

    first = await post()
    assert first.status_code == 429, first.text
    assert int(first.headers["Retry-After"]) > 0
    assert await count(InboundMessage) == 0
    stack.worker.start()
    again = await stack.wait(lambda: _opened(post))
    assert again["action"] == "opened"
    assert await count(Case) == 1 and await count(InboundMessage) == 1


async def _opened(post) -> dict | None:
    r = await post()
    return r.json() if r.status_code == 200 else None
