"""The workflow sandbox every worker and replayer uses.

Time zones are data, not I/O: the default sandbox wraps `zoneinfo.ZoneInfo` in a proxy that
`datetime.astimezone` refuses, so the business calendar could not run inside a workflow.

Our own `workflows` package is passed through: the sandbox would otherwise import every
workflow module afresh for each case it starts (half the worker's CPU at intake, and a copy
of the modules per cached workflow). That is safe because no module in the package keeps
state: module-level names are constants, functions and classes, and the package does no
I/O (activities live in `activities/`). A passed-through module is not checked by the
sandbox at run time, so tests/unit/test_sandbox.py reads every module of the package and
fails on a clock, randomness or I/O call; the other modules a workflow imports are still
checked by the sandbox.

The sandbox enters a workflow by `exec` of a short code string: once per activation, and
once per payload sequence for its serialization context (the SDK walks each activation and
completion six times). `exec` of a string compiles it every time, and that compile was the
worker's biggest single item under py-spy (6-9 % of its CPU on actions). The runner here
compiles each of those few strings once and runs the same code object: what runs, in which
globals, is unchanged.

The serialization and storage contexts the SDK asks for per payload are read from the
instance in the sandbox directly, without `exec` and the sandbox's import hooks: each is a
pure read of the run's info and its pending commands (no import, no user code), and the
stock path spent 3-6 % of the worker's CPU on actions entering the sandbox to make them.
"""

import dataclasses
import functools
from types import CodeType
from typing import Any, cast

from temporalio.converter import SerializationContext
from temporalio.converter._extstore import StorageDriverStoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox._runner import _Instance

PASSED_THROUGH = ("zoneinfo", "workflows")


@functools.lru_cache(maxsize=256)  # a handful of strings per workflow type
def compiled(code: str) -> CodeType:
    return compile(code, "<string>", "exec")


IN_SANDBOX = "__temporal_in_sandbox"  # where the SDK keeps the instance inside the sandbox


class CompiledOnceInstance(_Instance):
    """The SDK's sandboxed workflow instance, running its code strings compiled once and
    reading the payload contexts from the instance in the sandbox directly."""

    def _run_code(self, code: str, **extra_globals: Any) -> None:
        super()._run_code(compiled(code), **extra_globals)  # type: ignore[arg-type]

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> SerializationContext | None:
        inside: Any = self.globals_and_locals.get(IN_SANDBOX)
        if inside is None:  # not created yet (or another SDK layout): the stock path
            return super().get_serialization_context(command_info)
        return cast(SerializationContext | None, inside.get_serialization_context(command_info))

    def get_external_store_context(
        self, command_info: CommandInfo | None
    ) -> StorageDriverStoreContext:
        inside: Any = self.globals_and_locals.get(IN_SANDBOX)
        if inside is None:
            return super().get_external_store_context(command_info)
        return cast(StorageDriverStoreContext, inside.get_external_store_context(command_info))


@dataclasses.dataclass(frozen=True)
class CompiledOnceRunner(SandboxedWorkflowRunner):
    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return CompiledOnceInstance(det, self.runner_class, self.restrictions)


def workflow_runner() -> SandboxedWorkflowRunner:
    default = SandboxRestrictions.default
    members = default.invalid_module_members.with_child_unrestricted("zoneinfo", "ZoneInfo")
    restrictions = dataclasses.replace(default, invalid_module_members=members)
    return CompiledOnceRunner(restrictions=restrictions.with_passthrough_modules(*PASSED_THROUGH))
