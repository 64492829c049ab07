"""MajorCaseFanOutWorkflow on the time-skipping server: batches that cross continue-as-new
resolve every active child exactly once, and leave ended children alone."""

import uuid

from sqlalchemy import func, select, update

from api.services.case_workflow import runs_before
from models.cases import Case, CaseEvent
from tests import factories as f
from tests.conftest import make_deps, running_worker
from tests.workflows.helpers import act, described, open_for, wait_row
from workflows.fan_out import MajorCaseFanOutWorkflow
from workflows.fan_out_types import FanOutInput, FanOutResult
from workflows.vocabulary import FanOutKind


async def resolves_of(sessions, ids) -> list:
    """(case id, how many `resolve` events) of each of the cases that has any."""
    async with sessions() as db:
        found = await db.execute(
            select(CaseEvent.case_id, func.count())
            .where(CaseEvent.kind == "resolve", CaseEvent.case_id.in_(ids))
            .group_by(CaseEvent.case_id)
        )
        return list(found.all())


async def test_a_resolve_fan_out_across_runs_resolves_each_active_child_once(sessions, fresh_env):
    client = fresh_env.client
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    await f.agent(sessions, "Ann", capacity=20)
    async with running_worker(client, make_deps(sessions)) as tq:
        major = await open_for(sessions, client, tq, ada)
        children = [await open_for(sessions, client, tq, ada) for _ in range(5)]
        await act(client, children[0], "cancel", reason="duplicate")  # ended: left alone
        async with sessions() as db, db.begin():
            ids = [c.id for c in children]
            await db.execute(update(Case).where(Case.id.in_(ids)).values(parent_case_id=major.id))
        fan_out_id = f"major-{major.id}-{uuid.uuid4().hex[:6]}"
        arg = FanOutInput(
            kind=FanOutKind.RESOLVE,
            major_case_id=str(major.id),
            major_number=major.number,
            fan_out_id=fan_out_id,
            text="Fixed upstream",
            batch=2,  # three batches of children ...
            batches_per_run=1,  # ... each in a run of its own
        )
        handle = await client.start_workflow(
            MajorCaseFanOutWorkflow.run, arg, id=fan_out_id, task_queue=tq
        )
        for case in (major, *children[1:]):
            await wait_row(sessions, case.id, lambda c: c.state == "resolved")
        result: FanOutResult = await client.get_workflow_handle(
            fan_out_id, result_type=FanOutResult
        ).result()
        assert result.step.ok and result.done == 5
        last_run = (await described(handle)).execution.run_id
        assert await runs_before(client, fan_out_id, last_run) >= 2  # it continued as new
        resolves = await resolves_of(sessions, ids)
        async with sessions() as db:
            cancelled = await db.get(Case, children[0].id)
        assert sorted(n for _, n in resolves) == [1, 1, 1, 1]
        assert children[0].id not in {c for c, _ in resolves}
        assert cancelled.state == "cancelled"


async def test_a_major_case_resolved_by_its_work_order_resolves_its_children(sessions, fresh_env):
    """The system's resolve (a work order completed as fixed), not an agent's: the major
    case's own workflow starts the fan-out (patch major-resolve-fans-out), every active child
    is resolved once with the major case's resolution, an ended child is left alone."""
    from tests.workflows.field_helpers import technician, wait_work_order, wo_act
    from workflows.types import FieldServiceRequest

    client = fresh_env.client
    acct = await f.account(sessions)
    ada = await f.contact(sessions, acct.id)
    await f.agent(sessions, "Ann", capacity=20)
    await technician(sessions, "Tess", skills=["fiber"], parts=[], territory=None)
    async with running_worker(client, make_deps(sessions)) as tq:
        major = await open_for(sessions, client, tq, ada)
        children = [await open_for(sessions, client, tq, ada) for _ in range(3)]
        await act(client, children[0], "cancel", reason="duplicate")  # ended: left alone
        ids = [c.id for c in children]
        async with sessions() as db, db.begin():
            await db.execute(update(Case).where(Case.id.in_(ids)).values(parent_case_id=major.id))
        request = FieldServiceRequest(skills=["fiber"], auto_resolve=True)
        await act(client, major, "request-field-service", request=request)
        wo = await wait_work_order(sessions, major.id, lambda x: x.state == "dispatched")
        await wo_act(client, wo, "accept")
        await wo_act(client, wo, "start")
        await wo_act(client, wo, "complete", fixed=True, notes="Replaced the line card.")
        resolved = await wait_row(sessions, major.id, lambda c: c.state == "resolved")
        for child in children[1:]:
            row = await wait_row(sessions, child.id, lambda c: c.state == "resolved")
            assert row.resolution == resolved.resolution
            assert "Replaced the line card." in row.resolution
        resolves = await resolves_of(sessions, ids)
        async with sessions() as db:
            cancelled = await db.get(Case, children[0].id)
        assert sorted(n for _, n in resolves) == [1, 1]
        assert cancelled.state == "cancelled"
