"""The recorder still drives every lifecycle path, and what it records replays."""

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.replay.record import record_all
from tests.replay.test_replay import FILES
from workflows.case import CaseWorkflow
from workflows.policy import PolicyChangeWorkflow
from workflows.routing import DispatchWorkflow
from workflows.sandbox import workflow_runner


async def test_recorder_writes_histories_that_replay(sessions, ts_env, tmp_path):
    written = await record_all(sessions, ts_env, tmp_path)
    # A path added to the recorder needs its history committed too.
    assert {p.name for p in written} <= {p.name for p in FILES}
    replayer = Replayer(
        workflows=[CaseWorkflow, DispatchWorkflow, PolicyChangeWorkflow],
        workflow_runner=workflow_runner(),
    )
    for path in written:
        await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, path.read_text()))
