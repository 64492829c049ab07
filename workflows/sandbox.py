"""The workflow sandbox every worker and replayer uses.

Time zones are data, not I/O: the default sandbox wraps `zoneinfo.ZoneInfo` in a proxy that
`datetime.astimezone` refuses, so the business calendar could not run inside a workflow.

The pure rule modules (no I/O, no clock, no module state) are passed through, so the
sandbox does not import them afresh for every case it starts.
"""

import dataclasses

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PURE_MODULES = (
    "workflows.agent_choice",
    "workflows.calendar",
    "workflows.lifecycle",
    "workflows.signing",
    "workflows.sla",
    "workflows.technician_choice",
    "workflows.types",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    default = SandboxRestrictions.default
    members = default.invalid_module_members.with_child_unrestricted("zoneinfo", "ZoneInfo")
    restrictions = dataclasses.replace(default, invalid_module_members=members)
    return SandboxedWorkflowRunner(
        restrictions=restrictions.with_passthrough_modules("zoneinfo", *PURE_MODULES)
    )
