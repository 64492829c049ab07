"""Every committed history replays on today's workflow code; a changed workflow would not."""

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.case import CaseInput, CaseWorkflow
from workflows.policy import PolicyChangeWorkflow
from workflows.routing import DispatchWorkflow
from workflows.sandbox import workflow_runner

HISTORIES = Path(__file__).parent / "histories"
FILES = sorted(HISTORIES.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    # to_json() leaves the workflow id out; the file name stands in for it.
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_the_corpus_is_committed():
    assert len(FILES) >= 5, f"expected recorded histories in {HISTORIES}; see README.md"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
async def test_history_replays_on_current_code(path):
    # Raises (NondeterminismError among others) if the code no longer makes the same commands.
    await Replayer(
        workflows=[CaseWorkflow, DispatchWorkflow, PolicyChangeWorkflow],
        workflow_runner=workflow_runner(),
    ).replay_workflow(load(path))


@workflow.defn(name="CaseWorkflow")
class ChangedCaseWorkflow:
    """CaseWorkflow as an unpatched change would leave it: a new first step."""

    @workflow.run
    async def run(self, arg: CaseInput) -> str:
        await workflow.sleep(1)
        return "closed"


async def test_an_unpatched_change_fails_replay():
    result = await Replayer(workflows=[ChangedCaseWorkflow]).replay_workflow(
        load(HISTORIES / "accept.json"), raise_on_replay_failure=False
    )
    assert result.replay_failure is not None
    assert isinstance(result.replay_failure, workflow.NondeterminismError)
