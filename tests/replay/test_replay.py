"""Every committed history replays on today's workflow code; a changed workflow would not."""

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows import routing
from workflows.case import CaseInput, CaseWorkflow
from workflows.sandbox import workflow_runner
from workflows.types import DispatchInput

HISTORIES = Path(__file__).parent / "histories"
FILES = sorted(HISTORIES.glob("*.json"))
# `<path>.pre-<patch id>.json`: a path's history from before a patch, kept until the patch
# is removed (tests/replay/README.md); the recorder no longer makes it.
PRE = ".pre-"
RECORDED = [p for p in FILES if PRE not in p.name]

# Every path the issue names has a history: a new path needs one too (tests/replay/README.md).
PATHS = {
    "accept",
    "reject_reopen",
    "lapse",
    "cancel",
    "await_info",
    "waiting_then_assigned",
    "waiting_then_assigned_freer",
    "refused_action",
    "dispatch",
    "work_order_fixed",
    "work_order_visit",
    "itsm_incident",
    "cancel_with_work_order",
    "sla_pause_warn_breach",
    "breach_requeue",
    "priority_swap",
    "policy_retime",
    "policy_change",
    "continue_as_new",
    "continue_as_new_first_run",
    "customer_merge",
    "customer_merge_workflow",
    "assign_partner",
    "maintenance_run",
    "major_broadcast",
    "major_resolve",
    "major_system_resolve",
    "housekeeping",
}


def load(path: Path) -> WorkflowHistory:
    # to_json() leaves the workflow id out; the file name stands in for it.
    return WorkflowHistory.from_json(path.stem, path.read_text())


def replayer(*workflows) -> Replayer:
    """A replayer of `workflows`, by default of what every worker registers. (Imported here:
    the sandbox re-imports this module for the reordered workflow below, and the worker's
    module is no workflow code.)"""
    from casework.worker import WORKFLOWS

    return Replayer(workflows=list(workflows or WORKFLOWS), workflow_runner=workflow_runner())


def test_the_corpus_covers_every_path():
    assert {p.stem for p in RECORDED} == PATHS


def test_each_history_from_before_a_patch_names_a_registered_patch_and_its_path():
    from workflows.patches import PATCHES

    kept = [p.stem.split(PRE) for p in FILES if PRE in p.name]
    assert kept, "the corpus keeps the history from before major-resolve-fans-out"
    assert {patch for _, patch in kept} <= {p.id for p in PATCHES}
    assert {path for path, _ in kept} <= PATHS


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
async def test_history_replays_on_current_code(path):
    # Raises (NondeterminismError among others) if the code no longer makes the same commands.
    await replayer().replay_workflow(load(path))


@workflow.defn(name="CaseWorkflow")
class ReorderedCaseWorkflow(CaseWorkflow):
    """CaseWorkflow as an unpatched reordering would leave it: a breach that moves the case
    to the escalation queue dispatches before it records, instead of after."""

    @workflow.run
    async def run(self, arg: CaseInput) -> str:
        return await super().run(arg)

    async def record(self, kind: str, **kw) -> None:
        if kind == "sla_breached" and kw["data"].get("queue"):
            await routing.dispatch(DispatchInput(f"{self.case_id}:reordered"))
        await super().record(kind, **kw)


async def test_an_unpatched_reordering_fails_replay():
    history = load(HISTORIES / "breach_requeue.json")
    await replayer().replay_workflow(history)  # the real code replays it
    result = await replayer(ReorderedCaseWorkflow).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert isinstance(result.replay_failure, workflow.NondeterminismError)
