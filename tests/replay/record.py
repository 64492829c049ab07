"""Record one complete CaseWorkflow history per lifecycle path, for the replay tests.

Run `.venv/bin/python -m tests.replay.record` (see README.md): it starts its own embedded
PostgreSQL and time-skipping Temporal server, drives every path below with a real worker and
writes each finished workflow's history to `tests/replay/histories/<name>.json`.
"""

import argparse
import asyncio
import shutil
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from models import metadata
from models.cases import Case
from models.customers import Contact
from models.people import Agent
from tests import factories as f
from tests.conftest import make_deps, running_worker, terminate_cases
from tests.workflows.field_helpers import technician, wait_work_order, wo_act
from tests.workflows.helpers import act, open_for, wait_row
from workflows.case import ACTION_NOT_ALLOWED, INVALID_ACTION, CaseWorkflow
from workflows.routing import DispatchWorkflow
from workflows.types import DispatchInput, FieldServiceRequest, IncidentUpdate, ItsmEscalation

HISTORIES = Path(__file__).parent / "histories"
TEST_SERVER = Path(sys.prefix) / "bin" / "temporal-test-server"


@dataclass
class World:
    """One path's fresh data and worker: a customer, agents, and the queue to start cases on."""

    sessions: async_sessionmaker[AsyncSession]
    env: WorkflowEnvironment
    tq: str
    customer: Contact
    agent: Agent

    @property
    def client(self) -> Client:
        return self.env.client

    async def open_case(self, *, assigned: bool = True) -> Case:
        case = await open_for(self.sessions, self.client, self.tq, self.customer)
        if assigned:
            await wait_row(self.sessions, case.id, lambda c: c.assigned_agent_id)
            await self.told(case)
        return case

    async def told(self, case: Case) -> None:
        """Wait until the workflow itself knows its agent (the signal may trail the row)."""
        handle = self.client.get_workflow_handle(case.workflow_id)
        for _ in range(300):
            if (await handle.query(CaseWorkflow.state)).assigned_agent_id:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{case.workflow_id} was never told of its agent")

    async def finished(self, case_or_id: Case | str, expected: str) -> str:
        wf_id = case_or_id if isinstance(case_or_id, str) else case_or_id.workflow_id
        result = await self.client.get_workflow_handle(wf_id).result()
        if result != expected:
            raise AssertionError(f"{wf_id} ended {result!r}, expected {expected!r}")
        return wf_id


# Each path returns {history name: workflow id} for workflows it brought to completion.
Scenario = Callable[[World], Awaitable[dict[str, str]]]


async def accept(w: World) -> dict[str, str]:
    case = await w.open_case()
    await act(w.client, case, "respond", body="Please restart the router.")
    await act(w.client, case, "resolve", body="Restarted; working again.")
    await act(w.client, case, "accept", role="contact")
    return {"accept": await w.finished(case, "closed")}


async def reject_reopen(w: World) -> dict[str, str]:
    case = await w.open_case()
    await act(w.client, case, "resolve", body="Firmware updated.")
    await act(w.client, case, "reject", role="contact", reason="Still drops every hour.")
    await act(w.client, case, "resolve", body="Replaced the unit.")
    await act(w.client, case, "accept", role="contact")
    return {"reject_reopen": await w.finished(case, "closed")}


async def lapse(w: World) -> dict[str, str]:
    case = await w.open_case()
    await act(w.client, case, "resolve", body="Fixed.")
    await w.env.sleep(timedelta(days=7, seconds=1))  # the reopen window lapses unanswered
    return {"lapse": await w.finished(case, "closed")}


async def cancel(w: World) -> dict[str, str]:
    case = await w.open_case()
    await act(w.client, case, "cancel", reason="Duplicate of another case.")
    return {"cancel": await w.finished(case, "cancelled")}


async def await_info(w: World) -> dict[str, str]:
    case = await w.open_case()
    await act(w.client, case, "await-info", body="Which firmware version?")
    await act(w.client, case, "customer-reply", role="contact", body="2.0.1")
    await act(w.client, case, "resolve", body="Upgrade to 2.1 fixes it.")
    await act(w.client, case, "accept", role="contact")
    return {"await_info": await w.finished(case, "closed")}


async def waiting_then_assigned(w: World) -> dict[str, str]:
    """Capacity 1: the second case waits, and is assigned by the first one's resolution."""
    first = await w.open_case()
    second = await w.open_case(assigned=False)
    await wait_row(w.sessions, second.id, lambda c: c.waiting_since is not None)
    await act(w.client, first, "resolve", body="Done.")
    await wait_row(w.sessions, second.id, lambda c: c.assigned_agent_id)
    await w.told(second)  # the `assigned` signal is in its history
    await act(w.client, first, "accept", role="contact")
    await act(w.client, second, "resolve", body="Done too.")
    await act(w.client, second, "accept", role="contact")
    return {
        "waiting_then_assigned": await w.finished(second, "closed"),
        # The freeing case's history holds the signal it sent to the waiting one.
        "waiting_then_assigned_freer": await w.finished(first, "closed"),
    }


async def refused_action(w: World) -> dict[str, str]:
    case = await w.open_case()
    for action, kw, refusal in (
        ("accept", {"role": "contact"}, ACTION_NOT_ALLOWED),  # not resolved yet
        ("respond", {}, INVALID_ACTION),  # no body
    ):
        try:
            await act(w.client, case, action, **kw)
        except WorkflowUpdateFailedError as err:
            if err.cause.type != refusal:
                raise
        else:
            raise AssertionError(f"{action} was not refused")
    await act(w.client, case, "respond", body="Looking into it.")
    await act(w.client, case, "resolve", body="Fixed.")
    await act(w.client, case, "accept", role="contact")
    return {"refused_action": await w.finished(case, "closed")}


async def dispatch(w: World) -> dict[str, str]:
    """An agent gains capacity: a DispatchWorkflow assigns the waiting case and tells it."""
    first = await w.open_case()
    second = await w.open_case(assigned=False)
    await wait_row(w.sessions, second.id, lambda c: c.waiting_since is not None)
    async with w.sessions() as db, db.begin():
        await db.execute(update(Agent).where(Agent.id == w.agent.id).values(capacity=2))
    handle = await w.client.start_workflow(
        DispatchWorkflow.run,
        DispatchInput(key=f"agent-available:{w.agent.id}:{uuid.uuid4()}"),
        id=f"dispatch-{uuid.uuid4()}",
        task_queue=w.tq,
    )
    # Not handle.result(): on the time-skipping server that lets time run on, and the open
    # cases' clocks with it, for as long as the dispatch waits on its signal's delivery.
    await w.told(second)
    for _ in range(300):
        if (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED:
            break
        await asyncio.sleep(0.05)
    for case in (first, second):
        await act(w.client, case, "cancel", reason="Recorded.")
        await w.finished(case, "cancelled")
    return {"dispatch": handle.id}


async def work_order_fixed(w: World) -> dict[str, str]:
    """A work order (child workflow) is dispatched, completed as fixed, and its completion
    signal resolves the case; the customer accepts."""
    await technician(w.sessions, "Tess", skills=["fiber"], parts=["ONT-2"], territory=None)
    case = await w.open_case()
    request = FieldServiceRequest(skills=["fiber"], parts=["ONT-2"], auto_resolve=True)
    await act(w.client, case, "request-field-service", field_service=request)
    wo = await wait_work_order(w.sessions, case.id, lambda x: x.state == "dispatched")
    await wo_act(w.client, wo, "accept")
    await wo_act(w.client, wo, "start")
    await wo_act(w.client, wo, "complete", fixed=True, notes="Spliced.", parts_used=["ONT-2"])
    await wait_row(w.sessions, case.id, lambda c: c.state == "resolved")
    await act(w.client, case, "accept", role="contact")
    return {"work_order_fixed": await w.finished(case, "closed")}


async def cancel_with_work_order(w: World) -> dict[str, str]:
    """The patched branch: cancelling the case cancels its open (waiting) work order."""
    case = await w.open_case()
    request = FieldServiceRequest(skills=["welding"])  # no technician has it: it waits
    await act(w.client, case, "request-field-service", field_service=request)
    wo = await wait_work_order(w.sessions, case.id, lambda x: x.state == "waiting")
    handle = w.client.get_workflow_handle(case.workflow_id)
    for _ in range(300):  # the case has heard that its work order waits
        if (await handle.query(CaseWorkflow.state)).work_orders[0].state == "waiting":
            break
        await asyncio.sleep(0.05)
    await act(w.client, case, "cancel", reason="Not needed any more.")
    await w.finished(wo.workflow_id, "cancelled")
    return {"cancel_with_work_order": await w.finished(case, "cancelled")}


async def itsm_incident(w: World) -> dict[str, str]:
    """A built-in incident is opened, moves on, and its resolution resolves the case."""
    case = await w.open_case()
    await act(w.client, case, "escalate-itsm", itsm=ItsmEscalation(urgency=1, auto_resolve=True))
    handle = w.client.get_workflow_handle(case.workflow_id)
    (incident,) = (await handle.query(CaseWorkflow.state)).incidents
    for status, kw in (
        ("in_progress", {"comment": "On it."}),
        ("resolved", {"resolution": "Patched."}),
    ):
        await handle.execute_update(
            CaseWorkflow.incident_update,
            IncidentUpdate(incident.incident_id, status, actor_role="integration", **kw),
            id=f"itsm-{status}",
        )
    await wait_row(w.sessions, case.id, lambda c: c.state == "resolved")
    await act(w.client, case, "accept", role="contact")
    return {"itsm_incident": await w.finished(case, "closed")}


# name of the path -> (how it runs, capacity of its one agent)
PATHS: dict[str, tuple[Scenario, int]] = {
    "accept": (accept, 5),
    "reject_reopen": (reject_reopen, 5),
    "lapse": (lapse, 5),
    "cancel": (cancel, 5),
    "await_info": (await_info, 5),
    "waiting_then_assigned": (waiting_then_assigned, 1),
    "refused_action": (refused_action, 5),
    "dispatch": (dispatch, 1),
    "work_order_fixed": (work_order_fixed, 5),
    "itsm_incident": (itsm_incident, 5),
    "cancel_with_work_order": (cancel_with_work_order, 5),
}


async def _empty(sessions) -> None:
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    async with sessions() as db, db.begin():
        await db.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


async def record_all(
    sessions: async_sessionmaker[AsyncSession],
    env: WorkflowEnvironment,
    out_dir: Path,
    only: list[str] | None = None,
) -> list[Path]:
    """Drive each path (or just `only`) to completion and write its histories to out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in only or list(PATHS):
        run, capacity = PATHS[name]
        # A workflow left running would hold the time-skipping clock (see terminate_cases).
        await terminate_cases(env.client, sessions)
        await _empty(sessions)
        acct = await f.account(sessions)
        ada = await f.contact(sessions, acct.id, email="ada@acme.example")
        agent = await f.agent(sessions, "Solo", capacity=capacity)
        async with running_worker(env.client, make_deps(sessions)) as tq:
            ids = await run(World(sessions, env, tq, ada, agent))
            for history_name, wf_id in ids.items():
                handle = env.client.get_workflow_handle(wf_id)
                status = (await handle.describe()).status
                if status != WorkflowExecutionStatus.COMPLETED:
                    raise AssertionError(f"{history_name}: {wf_id} is {status}, not completed")
                history = await handle.fetch_history()
                path = out_dir / f"{history_name}.json"
                path.write_text(history.to_json() + "\n")
                written.append(path)
    return written


async def _record(database_url: str, out_dir: Path, only: list[str] | None) -> list[Path]:
    from models.db import make_engine, make_session_factory

    engine = make_engine(database_url, pool_size=5)
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))
    try:
        return await record_all(make_session_factory(engine), env, out_dir, only)
    finally:
        await env.shutdown()
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    from casework.devstack import create_database, start_postgres
    from models.migrate import upgrade

    parser = argparse.ArgumentParser(
        prog="python -m tests.replay.record", description=__doc__.splitlines()[0]
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help=f"default: all of {list(PATHS)}")
    parser.add_argument("--out", type=Path, default=HISTORIES)
    args = parser.parse_args(argv)
    if unknown := set(args.paths) - set(PATHS):
        parser.error(f"unknown paths {sorted(unknown)}; choose from {list(PATHS)}")
    # Not a 0700 temp dir: initdb runs as an unprivileged user that must reach the data dir.
    root = Path(tempfile.mkdtemp(prefix="casework-record-pg-"))
    root.chmod(0o755)
    pg = start_postgres(root / "data")
    try:
        url = create_database(pg.uri, "casework_record")
        upgrade(url)
        written = asyncio.run(_record(url, args.out, args.paths or None))
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    for path in written:
        print(f"{path.stat().st_size:>8}  {path}")


if __name__ == "__main__":
    main()
