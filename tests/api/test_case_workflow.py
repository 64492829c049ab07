"""GET /cases/{id}/workflow: what Temporal knows of a case's workflow, on the real app with a
worker on the time-skipping server."""

import uuid
from datetime import datetime

from temporalio.service import RPCError, RPCStatusCode

from api.schemas.case_workflow import CaseWorkflowRead
from api.services import intake
from casework.settings import Settings
from models.cases import Case
from tests import factories
from tests.api.test_cases import V1, acme, act, assert_problem, live, mint, open_case, settle
from tests.api.test_work_orders import dispatched, new_case, request, shop, wait_view
from tests.workflows import helpers
from tests.workflows.helpers import described, wait_row

__all__ = ["acme", "live", "shop"]  # fixtures used by name
UI_URL = Settings().temporal_ui_url  # what the test app links to


async def with_sla(api, account_id, seconds: int = 8 * 3600) -> str:
    """A 24x7 resolution SLA without warnings, so its next deadline is the breach."""
    body = {"name": "Fix", "kind": "resolution", "duration_seconds": seconds, "warn_at": []}
    r = await api.post(f"{V1}/sla-definitions", json=body)
    assert r.status_code == 201, r.text
    entitlement = {
        "name": "Gold",
        "account_id": str(account_id),
        "sla_definition_ids": [r.json()["id"]],
    }
    assert (await api.post(f"{V1}/entitlements", json=entitlement)).status_code == 201
    return r.json()["id"]


async def inspected(api, case_id, headers=None) -> dict:
    r = await api.get(f"{V1}/cases/{case_id}/workflow", headers=headers)
    assert r.status_code == 200, r.text
    CaseWorkflowRead.model_validate(r.json())
    return r.json()


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_a_running_case_shows_its_run_and_its_sla_breach_as_next_deadline(live, acme):
    await with_sla(live, acme["account"].id)
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    (clock,) = case["sla"]
    seen = await inspected(live, case["id"], await mint(live, "supervisor"))
    assert seen["workflow_id"] == case["workflow_id"]
    assert seen["status"] == "RUNNING" and seen["run_id"]
    assert seen["history_length"] > 3 and seen["continued_as_new"] == 0
    assert seen["next_deadline"]["what"] == "sla_breach"
    assert instant(seen["next_deadline"]["at"]) == instant(clock["due_at"])
    assert seen["ui_url"] == (
        f"{UI_URL}/namespaces/default/workflows/{case['workflow_id']}/{seen['run_id']}/history"
    )
    assert seen["children"] == [] and isinstance(seen["pending_activities"], list)


async def test_a_resolved_case_waits_for_its_reopen_window(live, acme):
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    as_ann = await mint(live, "agent", acme["ann"].id)
    r = await act(live, case["id"], "resolve", as_ann, resolution="Replaced the router")
    assert r.status_code == 200, r.text
    seen = await inspected(live, case["id"])
    assert seen["next_deadline"]["what"] == "reopen_window"
    assert instant(seen["next_deadline"]["at"]) == instant(r.json()["reopen_window_ends_at"])


async def test_a_closed_case_is_a_completed_workflow_with_no_deadline(live, acme):
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    as_ann = await mint(live, "agent", acme["ann"].id)
    assert (await act(live, case["id"], "resolve", as_ann, resolution="ok")).status_code == 200
    as_ada = await mint(live, "contact", acme["ada"].id)
    assert (await act(live, case["id"], "accept", as_ada)).status_code == 200
    for _ in range(100):  # the workflow completes just after the close is answered
        seen = await inspected(live, case["id"])
        if seen["status"] != "RUNNING":
            break
    assert seen["status"] == "COMPLETED" and seen["next_deadline"] is None


async def test_a_workflow_temporal_does_not_have_is_gone_not_an_error(api, sessions, acme):
    # A case row whose workflow Temporal never had: as one past the namespace's retention.
    case = Case(
        id=uuid.uuid4(),
        number="CS9999999",
        workflow_id=f"case-{uuid.uuid4()}",
        channel="email",
        subject="Long gone",
        state="closed",
        account_id=acme["account"].id,
    )
    await factories.add(sessions, case)
    seen = await inspected(api, case.id)
    assert seen["status"] == "GONE" and seen["run_id"] is None
    assert seen["next_deadline"] is None and seen["ui_url"].endswith(case.workflow_id)


async def test_only_supervisors_and_admins_inspect_workflows(live, acme):
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    path = f"{V1}/cases/{case['id']}/workflow"
    assert_problem(await live.get(path, headers=await mint(live, "agent", acme["ann"].id)), 403)
    assert_problem(await live.get(path, headers=await mint(live, "contact", acme["ada"].id)), 403)
    assert_problem(await live.get(path, headers=await mint(live, "integration")), 403)
    assert_problem(await live.get(path, headers={"Authorization": ""}), 401)
    as_sup = await mint(live, "supervisor")
    assert_problem(await live.get(f"{V1}/cases/{uuid.uuid4()}/workflow", headers=as_sup), 404)


async def test_temporal_away_is_a_503_problem(live, acme, monkeypatch):
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])

    async def away(*_, **__):
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")

    service = live.app.state.temporal.client.workflow_service
    monkeypatch.setattr(service, "describe_workflow_execution", away)
    problem = assert_problem(await live.get(f"{V1}/cases/{case['id']}/workflow"), 503)
    assert "not answering" in problem["detail"]


async def test_the_openapi_document_describes_the_workflow_endpoint(api):
    spec = (await api.get("/openapi.json")).json()
    get = spec["paths"]["/api/v1/cases/{case_id}/workflow"]["get"]
    assert "503" in get["responses"]
    schema = spec["components"]["schemas"]["CaseWorkflowRead"]["properties"]
    assert set(schema) == {
        "workflow_id",
        "run_id",
        "status",
        "history_length",
        "continued_as_new",
        "next_deadline",
        "pending_activities",
        "children",
        "ui_url",
    }
    assert schema["ui_url"]["description"]


async def test_continued_as_new_counts_the_runs_before_the_latest(live, sessions, ts_env, acme):
    """A case that continues as new every few events: after each new run the answer names
    that run and counts the runs before it."""
    client = ts_env.client
    opening = await intake.open_case(
        sessions=sessions,
        client=client,
        task_queue=live.task_queue,
        fields={"subject": "Chatty", "channel": "email", "contact_id": acme["ada"].id},
        history_limit=40,
    )
    case = await wait_row(sessions, opening.case_id, lambda c: c.assigned_agent_id)
    handle = client.get_workflow_handle(case.workflow_id)
    runs = [(await described(handle)).execution.run_id]
    for i in range(200):
        await helpers.act(client, case, "note", body=f"note {i}")
        run_id = (await described(handle)).execution.run_id
        if run_id == runs[-1]:
            continue
        runs.append(run_id)
        seen = await inspected(live, case.id)
        assert seen["run_id"] == run_id and seen["status"] == "RUNNING"
        assert seen["continued_as_new"] == len(runs) - 1
        if len(runs) == 3:
            break
    assert len(runs) == 3, "the case never continued as new twice"


async def test_a_work_order_shows_as_a_running_child_with_its_number(live, shop):
    case = await new_case(live, shop)
    r = await request(live, shop, case["id"], skills=["fiber"], parts=["ONT-2"])
    assert r.status_code == 200, r.text
    (work_order,) = (await wait_view(live, case["id"], dispatched))["work_orders"]
    (child,) = (await inspected(live, case["id"]))["children"]
    assert child["workflow_type"] == "WorkOrderWorkflow"
    assert child["work_order_number"] == work_order["number"]


async def test_without_a_worker_to_answer_the_deadline_comes_from_the_search_attribute(
    live, acme, monkeypatch
):
    await with_sla(live, acme["account"].id)
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    (clock,) = case["sla"]

    async def no_worker(*_, **__):
        raise RPCError("query timed out", RPCStatusCode.DEADLINE_EXCEEDED, b"")

    service = live.app.state.temporal.client.workflow_service
    monkeypatch.setattr(service, "query_workflow", no_worker)
    seen = await inspected(live, case["id"])
    assert seen["next_deadline"]["what"] is None
    assert instant(seen["next_deadline"]["at"]) == instant(clock["due_at"])
