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
"""

import dataclasses

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSED_THROUGH = ("zoneinfo", "workflows")


def workflow_runner() -> SandboxedWorkflowRunner:
    default = SandboxRestrictions.default
    members = default.invalid_module_members.with_child_unrestricted("zoneinfo", "ZoneInfo")
    restrictions = dataclasses.replace(default, invalid_module_members=members)
    return SandboxedWorkflowRunner(
        restrictions=restrictions.with_passthrough_modules(*PASSED_THROUGH)
    )
