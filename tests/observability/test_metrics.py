"""GET /metrics on the API: request histograms by route template, and the outbox and cases as
the database has them when Prometheus scrapes."""

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from api.observability import CASES_SQL, OUTBOX_SQL
from models.cases import Case, Notification
from tests import factories
from tests.api.test_cases import V1, acme, act, live, open_case, settle  # noqa: F401 (fixtures)
from tests.conftest import mint
from tests.observability.scrape import scrape, scrape_until, value
from workflows.vocabulary import LIVE, CaseState

DURATION = "casework_http_request_duration_seconds"
ACTIONS = f"{V1}/cases/{{case_id}}/actions/{{action}}"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")


def open_cases(samples, state: CaseState) -> float:
    return value(samples, "casework_cases_open", state=state)


async def test_a_case_life_moves_the_http_series_and_the_cases_by_state(live, acme):  # noqa: F811
    before = await scrape(live)
    assert all(open_cases(before, s) == 0 for s in LIVE)
    actions_before = value(before, f"{DURATION}_count", method="POST", route=ACTIONS, status="200")

    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    await scrape_until(live, lambda m: open_cases(m, CaseState.OPEN) == 1)
    as_ann = await mint(live, "agent", acme["ann"].id)
    as_ada = await mint(live, "contact", acme["ada"].id)
    r = await act(live, case["id"], "resolve", as_ann, resolution="Replaced the router")
    assert r.status_code == 200, r.text
    during = await scrape_until(live, lambda m: open_cases(m, CaseState.RESOLVED) == 1)
    assert open_cases(during, CaseState.OPEN) == 0
    assert (await act(live, case["id"], "accept", as_ada)).status_code == 200
    assert (await act(live, case["id"], "accept", as_ada)).status_code == 409

    after = await scrape_until(live, lambda m: open_cases(m, CaseState.RESOLVED) == 0)
    assert all(open_cases(after, s) == 0 for s in LIVE)  # closed: no longer open
    actions = value(after, f"{DURATION}_count", method="POST", route=ACTIONS, status="200")
    assert actions == actions_before + 2
    assert value(after, f"{DURATION}_count", method="POST", route=ACTIONS, status="409") == 1
    assert value(after, f"{DURATION}_count", method="POST", route=f"{V1}/cases", status="201") == 1
    # Buckets are cumulative: the +Inf one holds every request.
    assert (
        value(after, f"{DURATION}_bucket", method="POST", route=ACTIONS, status="200", le="+Inf")
        == actions
    )
    routes = {dict(labels)["route"] for name, labels in after if name == f"{DURATION}_count"}
    assert f"{V1}/cases/{{case_id}}" in routes
    assert not [r for r in routes if UUID.search(r) or case["number"] in r]  # no ids


async def test_an_unknown_path_is_one_series_not_one_per_path(api):
    for n in range(3):
        assert (await api.get(f"/no/such/{uuid.uuid4()}/{n}")).status_code == 404
    samples = await scrape(api)
    assert value(samples, f"{DURATION}_count", method="GET", route="unmatched", status="404") == 3


async def test_outbox_backlog_and_breaches_are_counted_at_scrape_time(api, sessions):
    before = await scrape(api)
    assert value(before, "casework_outbox_pending") == 0
    assert value(before, "casework_outbox_oldest_pending_seconds") == 0
    assert value(before, "casework_metrics_database_up") == 1
    now = datetime.now(UTC)

    def case(n: int, state: CaseState, breached: bool) -> Case:
        number = f"CS{n:07d}"
        return Case(
            number=number,
            workflow_id=f"case-{number}",
            state=state,
            channel="email",
            subject="Router down",
            breached=breached,
        )

    def mail(key: str, status: str, age: timedelta) -> Notification:
        return Notification(
            key=key,
            template="acknowledgement",
            recipient="ada@acme.example",
            message_id=f"<{key}@casework.test>",
            status=status,
            created_at=now - age,
        )

    await factories.add(
        sessions,
        case(1, CaseState.OPEN, True),
        case(2, CaseState.OPEN, False),
        case(3, CaseState.AWAITING_INFO, False),
        case(4, CaseState.RESOLVED, True),
        case(5, CaseState.CLOSED, True),
        case(6, CaseState.CANCELLED, False),
        mail("a", "pending", timedelta(minutes=2)),
        mail("b", "pending", timedelta(seconds=5)),
        mail("c", "sent", timedelta(hours=1)),
        mail("d", "failed", timedelta(hours=2)),
    )
    after = await scrape_until(api, lambda m: value(m, "casework_outbox_pending") == 2)
    assert 120 <= value(after, "casework_outbox_oldest_pending_seconds") < 180
    opened = {s: open_cases(after, s) for s in LIVE}
    assert opened == {
        CaseState.NEW: 0,
        CaseState.OPEN: 2,
        CaseState.AWAITING_INFO: 1,
        CaseState.RESOLVED: 1,
    }
    breached = {s: value(after, "casework_cases_breached", state=s) for s in LIVE}
    assert breached == {
        CaseState.NEW: 0,
        CaseState.OPEN: 1,
        CaseState.AWAITING_INFO: 0,
        CaseState.RESOLVED: 1,
    }
    assert ("casework_cases_open", (("state", "closed"),)) not in after


async def test_the_scrape_time_counts_are_answered_from_indexes(api, sessions):
    """However many cases and mails there are, the counts read only the index entries of
    pending mail and live cases (the planner, told to avoid full scans, can)."""
    async with sessions() as db, db.begin():
        await db.execute(text("SET LOCAL enable_seqscan = off"))
        outbox = "\n".join((await db.execute(text(f"EXPLAIN {OUTBOX_SQL.text}"))).scalars())
        literal = CASES_SQL.compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
        )
        cases = "\n".join((await db.execute(text(f"EXPLAIN {literal}"))).scalars())
    assert "ix_notifications_pending" in outbox, outbox
    assert "ix_cases_state_created" in cases, cases
